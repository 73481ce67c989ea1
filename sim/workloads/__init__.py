"""Workload building blocks: arrival processes, size and key distributions (scenario `workload:`).

Each spec is a pydantic model usable inside a system's `Workload` model; `.sampler(rng)` returns
a fast callable drawing from it (numpy draws are batched, so the per-event cost stays small).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import PositiveRate, PositiveSize, Size

BATCH = 4096


def batched(draw: Callable[[int], np.ndarray]) -> Callable[[], float]:
    """Turn a vector draw `draw(n)` into a scalar sampler that refills in batches."""
    buf: list[float] = []

    def sample() -> float:
        if not buf:
            buf.extend(draw(BATCH).tolist()[::-1])
        return buf.pop()

    return sample


@register("workloads", "poisson")
class PoissonArrivals(Params):
    """Open-loop Poisson arrivals at `rate` per second (exponential inter-arrival times)."""

    kind: Literal["poisson"] = "poisson"
    rate: PositiveRate = Field(description="mean arrivals per second")

    def interarrival(self, rng: np.random.Generator) -> Callable[[], float]:
        mean = 1.0 / self.rate
        return batched(lambda n: rng.exponential(mean, n))


@register("workloads", "periodic")
class PeriodicArrivals(Params):
    """Arrivals at a fixed interval 1/rate (deterministic)."""

    kind: Literal["periodic"] = "periodic"
    rate: PositiveRate

    def interarrival(self, rng: np.random.Generator) -> Callable[[], float]:
        gap = 1.0 / self.rate
        return lambda: gap


Arrivals = PoissonArrivals | PeriodicArrivals


@register("workloads", "size")
class SizeDist(Params):
    """Request size: `fixed` (value), `uniform` (low..high), `exponential` (mean), `lognormal` (mean, sigma)."""

    dist: Literal["fixed", "uniform", "exponential", "lognormal"] = "fixed"
    value: PositiveSize | None = None
    mean: PositiveSize | None = None
    low: Size | None = None
    high: PositiveSize | None = None
    sigma: float = Field(0.5, gt=0)

    @model_validator(mode="after")
    def _needed(self):
        need = {"fixed": ("value",), "uniform": ("low", "high"), "exponential": ("mean",), "lognormal": ("mean",)}
        missing = [k for k in need[self.dist] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"size dist {self.dist!r} needs {', '.join(missing)}")
        if self.dist == "uniform" and self.low >= self.high:
            raise ValueError("size low must be < high")
        return self

    def expected(self) -> float:
        if self.dist == "fixed":
            return self.value
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        return self.mean

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        if self.dist == "fixed":
            v = float(self.value)
            return lambda: v
        if self.dist == "uniform":
            return batched(lambda n: rng.uniform(self.low, self.high, n))
        if self.dist == "exponential":
            return batched(lambda n: rng.exponential(self.mean, n))
        mu = np.log(self.mean) - self.sigma**2 / 2
        return batched(lambda n: rng.lognormal(mu, self.sigma, n))


@register("workloads", "keys")
class KeyDist(Params):
    """Key/page/block choice over `n` items: `uniform`, `zipf` (exponent s) or `hotset` (fraction of keys taking a fraction of accesses)."""

    dist: Literal["uniform", "zipf", "hotset"] = "uniform"
    zipf_s: float = Field(0.99, gt=0)
    hot_fraction: float = Field(0.1, gt=0, lt=1)
    hot_access: float = Field(0.9, gt=0, lt=1)

    def sampler(self, rng: np.random.Generator, n: int) -> Callable[[], int]:
        """One key in [0, n) per call (drawn in batches of `vector_sampler`)."""
        return batched(self.vector_sampler(rng, n))

    def vector_sampler(self, rng: np.random.Generator, n: int, dtype=None) -> Callable[[int], np.ndarray]:
        """`draw(k)`: an array of `k` keys in [0, n). The set-up (zipf's permutation of the key space)
        draws from `rng` once, here, not per call. `dtype` casts the keys after they are drawn (the
        random numbers do not depend on it)."""
        if n < 1:
            raise ValueError("key space must be >= 1")
        if self.dist == "uniform":
            if dtype is None:
                return lambda k: rng.integers(0, n, k)
            return lambda k: rng.integers(0, n, k).astype(dtype)
        if self.dist == "zipf":
            ranks = np.arange(1, n + 1, dtype=float)
            cdf = np.cumsum(ranks ** -self.zipf_s)
            cdf /= cdf[-1]
            perm = rng.permutation(n)  # popular keys scattered over the key space
            if dtype is not None:
                perm = perm.astype(dtype)
            last = n - 1  # cdf[-1] is 1 and draws are < 1: the clip only guards against rounding
            return lambda k: perm[np.minimum(np.searchsorted(cdf, rng.random(k)), last)]
        hot = max(1, int(n * self.hot_fraction))

        def draw(k: int) -> np.ndarray:
            is_hot = rng.random(k) < self.hot_access
            keys = np.where(is_hot, rng.integers(0, hot, k), rng.integers(hot, max(hot + 1, n), k) % n)
            return keys if dtype is None else keys.astype(dtype)

        return draw
