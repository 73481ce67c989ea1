"""Bounded-memory metric recorders: counters, time-weighted gauges, distributions.

Distributions keep streaming moments (folded in chunks: Chan et al.'s pairwise update) plus a
fixed-size reservoir sample (Li's Algorithm L, so random draws are rare once the reservoir is full)
for percentiles. Nothing grows with the number of events. All recorders are reset at the end of the warm-up period.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

RESERVOIR_SIZE = 8192


class Tally:
    """Distribution of a sampled quantity (latency, lag): count, mean, variance, min, max, percentiles.

    `record` only appends to a buffer of `CHUNK` values; a full buffer (or any read) is folded in:
    moments with numpy and Chan et al.'s pairwise update (as exact as Welford's per-sample one, to
    rounding), min and max, and the reservoir with the same Algorithm L draws, in the same order,
    as a per-sample update would make (so the reservoir, hence every percentile, is identical).
    Memory stays bounded: the buffer plus the reservoir. `tests/core/test_metrics_random.py`
    checks it against the per-sample reference."""

    __slots__ = ("name", "_n", "_mean", "_m2", "_min", "_max", "_res", "_cap", "_rng", "_next", "_w", "_buf")

    CHUNK = 1024

    def __init__(self, name: str, rng: np.random.Generator, capacity: int = RESERVOIR_SIZE) -> None:
        self.name = name
        self._cap = capacity
        self._rng = rng
        self._buf: list[float] = []
        self.reset()

    def reset(self) -> None:
        self._buf.clear()
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._res: list[float] = []
        self._w = 1.0
        self._next = self._cap - 1  # 0-based index of the next sample to enter the reservoir once full

    def record(self, x: float) -> None:
        buf = self._buf
        buf.append(x)
        if len(buf) >= self.CHUNK:
            self._fold()

    def _fold(self) -> None:
        """Fold the buffered values into the moments, the extremes and the reservoir."""
        buf = self._buf
        m = len(buf)
        if not m:
            return
        a = np.fromiter(buf, dtype=float, count=m)
        start = self._n
        n = start + m
        mean_b = float(a.mean())
        m2_b = float(((a - mean_b) ** 2).sum())
        delta = mean_b - self._mean
        self._mean += delta * m / n
        self._m2 += m2_b + delta * delta * start * m / n
        self._n = n
        lo, hi = float(a.min()), float(a.max())
        if lo < self._min:
            self._min = lo
        if hi > self._max:
            self._max = hi
        res, cap = self._res, self._cap
        if len(res) < cap:  # filling: the first `cap` samples
            take = cap - len(res)
            res.extend(buf[:take])
            if len(res) == cap:
                self._advance()
        while self._next < n:  # Algorithm L: the samples at the drawn indexes replace a random slot
            res[int(self._rng.integers(cap))] = buf[self._next - start]
            self._advance()
        buf.clear()

    def _advance(self) -> None:
        # Algorithm L (Li 1994): geometric skip to the next sample that replaces a reservoir slot.
        r = self._rng.random(2)
        self._w *= math.exp(math.log(r[0] or 1e-300) / self._cap)
        self._next += int(math.log(r[1] or 1e-300) / math.log1p(-self._w)) + 1 if self._w < 1 else 1

    @property
    def n(self) -> int:
        return self._n + len(self._buf)

    @property
    def mean(self) -> float:
        self._fold()
        return self._mean

    @property
    def m2(self) -> float:
        self._fold()
        return self._m2

    @property
    def min(self) -> float:
        self._fold()
        return self._min

    @property
    def max(self) -> float:
        self._fold()
        return self._max

    @property
    def variance(self) -> float:
        self._fold()
        return self._m2 / (self._n - 1) if self._n > 1 else 0.0

    def percentile(self, q: float) -> float:
        self._fold()
        if not self._res:
            return math.nan
        return float(np.percentile(self._res, q))

    def sample(self) -> np.ndarray:
        """The reservoir (all samples while fewer than its capacity were recorded)."""
        self._fold()
        return np.asarray(self._res, dtype=float)

    def summary(self, base: str, unit: str = "s", percentiles: tuple[float, ...] = (50, 99)) -> dict[str, float]:
        """Flat metrics `<base>_mean_<unit>`, `<base>_p50_<unit>`, ... (NaN when nothing was recorded)."""
        sfx = f"_{unit}" if unit else ""
        out = {f"{base}_mean{sfx}": self.mean if self.n else math.nan}
        for q in percentiles:
            out[f"{base}_p{q:g}{sfx}"] = self.percentile(q)
        return out


class TimeWeighted:
    """A level over time (queue occupancy, bytes held); its time average is exact."""

    __slots__ = ("name", "_env", "level", "_t", "_area", "_t0", "max")

    def __init__(self, name: str, env, level: float = 0.0) -> None:
        self.name = name
        self._env = env
        self.level = level
        self._t = env.now
        self._t0 = env.now
        self._area = 0.0
        self.max = level

    def set(self, level: float) -> None:
        now = self._env.now
        self._area += self.level * (now - self._t)
        self._t = now
        self.level = level
        if level > self.max:
            self.max = level

    def add(self, delta: float) -> None:
        self.set(self.level + delta)

    def reset(self) -> None:
        self._area = 0.0
        self._t = self._t0 = self._env.now
        self.max = self.level

    def mean(self) -> float:
        now = self._env.now
        span = now - self._t0
        if span <= 0:
            return self.level
        return (self._area + self.level * (now - self._t)) / span


class Counter:
    """A count of events (reset at warm-up end)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0

    def inc(self, k: int = 1) -> None:
        self.value += k

    def reset(self) -> None:
        self.value = 0


class Recorder:
    """Creates and owns a run's recorders, so warm-up can reset them all at once."""

    def __init__(self, env, streams) -> None:
        self._env = env
        self._streams = streams
        self._all: list = []
        self.warmup_end = 0.0

    def tally(self, name: str, capacity: int = RESERVOIR_SIZE) -> Tally:
        t = Tally(name, self._streams.get(f"metrics.{name}"), capacity)
        self._all.append(t)
        return t

    def gauge(self, name: str, level: float = 0.0) -> TimeWeighted:
        g = TimeWeighted(name, self._env, level)
        self._all.append(g)
        return g

    def counter(self, name: str) -> Counter:
        c = Counter(name)
        self._all.append(c)
        return c

    def reset_all(self) -> None:
        self.warmup_end = self._env.now
        for r in self._all:
            r.reset()

    def measured_time(self) -> float:
        """Simulated seconds since the end of warm-up."""
        return self._env.now - self.warmup_end


Probe = Callable[[], float]
