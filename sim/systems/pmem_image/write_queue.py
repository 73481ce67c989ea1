"""The application's bounded write queue and the per-write latency it produces.

Writes arrive (Poisson) into a FIFO queue of at most `write_queue_depth` requests; an arrival
finding it full is refused (back-pressure: the client gets "busy" and the write never happens).
One writer serves the queue in order; each write costs `service_s`, the persist of its log
record on the write path (`log_service_time`). The writer cannot serve while the application is
paused (a capture, a stop-the-world copy) or stalled by copy-on-write faults, so queued writes
wait behind them: a write's latency is its completion (synchronous log) or its group commit
(`log_flush_interval` > 0) minus its arrival.

`WriteQueue.serve` is the exact FIFO single-server recursion c_i = max(c_{i-1}, a_i) + s,
vectorised as c_i = (i+1)s + max(f, max_{j<=i}(a_j - j s)) (f: the instant the writer is free).

Abstracted away: service is decided once per `write_tick` (admission uses the queue length at the
tick's start; a pause shorter than a tick shifts the completions after its start by its length).
Latencies are kept in a log-spaced histogram (`LatencyHistogram`, 100 bins per decade from
10 ns: percentiles to within 2.3 %); the maximum is exact.
"""

from __future__ import annotations

import math

import numpy as np


def log_service_time(m) -> float:
    """Write-path cost of one write's log record, s.

    - synchronous log on PMEM: store + clwb + sfence of the record (write latency + record over the
      write bandwidth + flush latency);
    - synchronous log on the SSD: one write command per record, at most `write_iops` of them per
      second (a command also takes its latency + transfer; the larger of the two bounds the rate);
    - group commit: the record is stored into a DRAM buffer; the `log_flusher` persists it later.
    """
    p, size = m.params, m.w.log_record_size
    if p.log_flush_interval > 0:
        d = p.dram
        return d.write_latency + size / d.write_bandwidth
    if p.log_device == "pmem":
        q = p.pmem
        return q.write_latency + size / q.write_bandwidth + q.flush_latency
    s = p.ssd
    return max(1.0 / s.write_iops, s.write_latency + size / s.write_bandwidth)


class LatencyHistogram:
    """Write latencies in log-spaced bins (exact count, sum and maximum), reset with the warm-up."""

    LO = 1e-8  # 10 ns: below any write's service time
    PER_DECADE = 100
    DECADES = 12  # up to 10^4 s

    def __init__(self, recorder) -> None:
        self._rec = recorder
        self._since = recorder.warmup_end
        self.counts = np.zeros(self.PER_DECADE * self.DECADES + 1, dtype=np.int64)
        self.n = 0
        self.total = 0.0
        self.max = -math.inf

    def _check_reset(self) -> None:
        if self._rec.warmup_end != self._since:  # the warm-up ended: start counting afresh
            self._since = self._rec.warmup_end
            self.counts[:] = 0
            self.n, self.total, self.max = 0, 0.0, -math.inf

    def record(self, lat: np.ndarray) -> None:
        k = len(lat)
        if k == 0:
            return
        self._check_reset()
        idx = np.log10(np.maximum(lat, self.LO) / self.LO) * self.PER_DECADE
        idx = np.minimum(idx.astype(np.int64), len(self.counts) - 1)
        self.counts += np.bincount(idx, minlength=len(self.counts))
        self.n += k
        self.total += float(lat.sum())
        top = float(lat.max())
        if top > self.max:
            self.max = top

    def percentile(self, q: float) -> float:
        """The q-th percentile (geometric middle of its bin); NaN when nothing was recorded."""
        self._check_reset()
        if self.n == 0:
            return math.nan
        cum = np.cumsum(self.counts)
        b = int(np.searchsorted(cum, q / 100.0 * self.n))
        b = min(b, len(self.counts) - 1)
        mid = self.LO * 10 ** ((b + 0.5) / self.PER_DECADE)
        return min(mid, self.max)

    def mean(self) -> float:
        self._check_reset()
        return self.total / self.n if self.n else math.nan

    def top(self) -> float:
        self._check_reset()
        return self.max if self.n else math.nan


class WriteQueue:
    """Arrival times of the writes waiting for the writer (FIFO, at most `depth`)."""

    __slots__ = ("depth", "arrivals", "free_at")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.arrivals = np.empty(0, dtype=float)
        self.free_at = 0.0  # when the writer finishes what it has started

    def __len__(self) -> int:
        return len(self.arrivals)

    def admit(self, times: np.ndarray) -> int:
        """Queue the arrivals `times` (sorted) that fit; returns how many were refused."""
        room = self.depth - len(self.arrivals)
        take = times[: max(room, 0)]
        if len(take):
            self.arrivals = np.concatenate([self.arrivals, take]) if len(self.arrivals) else take
        return len(times) - len(take)

    def completions(self, start: float, service: float) -> np.ndarray:
        """Completion instants of every queued write if the writer runs from `start` without a break."""
        a = self.arrivals
        i = np.arange(len(a))
        lead = np.maximum.accumulate(a - service * i)
        return service * (i + 1) + np.maximum(lead, start)

    def pop(self, k: int) -> np.ndarray:
        """Remove and return the first `k` arrivals (served)."""
        out, self.arrivals = self.arrivals[:k], self.arrivals[k:]
        return out

    def clear(self) -> int:
        """The application failed: queued writes are dropped (never acknowledged); returns how many."""
        k = len(self.arrivals)
        self.arrivals = np.empty(0, dtype=float)
        return k
