"""Micro-benchmark: bandwidth shared by concurrent transfers (`SharedBandwidth`), alone.

The same sharing that links, memory channels and devices use: `capacity` bytes/s divided
equally among the transfers in progress, each optionally capped at `per_flow_cap`.
- `arrivals: poisson`: transfers arrive as a Poisson stream with exponential or fixed sizes; the
  link is an M/G/1 processor-sharing queue whose mean transfer time is (size/capacity)/(1 - rho)
  for any size distribution.
- `arrivals: staggered`: `flows` transfers of `mean_size` bytes start `gap` apart (deterministic);
  their completion times follow from a fluid calculation (see `sim.runner.theory.fluid_finish_times`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.base import SharedBandwidth
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import ByteRate, Duration, PositiveRate, PositiveSize
from sim.workloads import batched


@register_system("bandwidth_share")
class BandwidthShareMicro(System):
    """A link's bandwidth shared equally by concurrent transfers (processor sharing), alone."""

    metrics_spec = (
        Metric("transfers", "transfers completed after the warm-up"),
        Metric("mean_transfer_time_s", "mean time from a transfer's start to its last byte"),
        Metric("p99_transfer_time_s", "99th percentile of the transfer time"),
        Metric("mean_active_transfers", "time-average number of transfers in progress"),
        Metric("makespan_s", "staggered: time the last transfer finished"),
        Metric("throughput_bytes_s", "poisson: bytes transferred per s of measured time"),
    )

    class Params(Params):
        capacity: ByteRate = Field(1.25e9, description="bytes/s shared by the transfers in progress")
        per_flow_cap: ByteRate | None = Field(None, description="bytes/s one transfer can use at most")
        arrivals: Literal["poisson", "staggered"] = Field(
            "poisson", description="poisson: a Poisson stream of transfers; staggered: `flows` transfers `gap` apart")
        arrival_rate: PositiveRate | None = Field(None, description="poisson: transfers per s")
        size_distribution: Literal["exponential", "deterministic"] = Field(
            "exponential", description="poisson: distribution of transfer sizes (mean `mean_size`)")
        mean_size: PositiveSize = Field(1e6, description="bytes per transfer")
        flows: int = Field(4, ge=1, description="staggered: number of transfers")
        gap: Duration = Field(0.0, description="staggered: time between starts, s")

        @model_validator(mode="after")
        def _rate_for_poisson(self):
            if self.arrivals == "poisson" and self.arrival_rate is None:
                raise ValueError("arrivals: poisson needs arrival_rate")
            return self

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        self.link = SharedBandwidth(self.env, params.capacity, params.per_flow_cap)
        rec = sim.recorder
        self.active = rec.gauge("active_transfers")
        self.sojourn = rec.tally("transfer_time")
        self.done = rec.counter("transfers")
        self.bytes_done = rec.counter("bytes")
        self.finish_times: list[float] = []  # staggered mode only (a handful of flows)
        self.started = 0
        self.finished = 0

    def start(self) -> None:
        if self.params.arrivals == "poisson":
            self.env.process(self.transfer_source())
        else:
            for k in range(self.params.flows):
                self.env.process(self.transfer(k * self.params.gap, record_finish=True))

    def transfer_source(self):
        p = self.params
        arr_rng = self.sim.rng("bandwidth.arrivals")
        gap = 1.0 / p.arrival_rate
        interarrival = batched(lambda n: arr_rng.exponential(gap, n))
        if p.size_distribution == "exponential":
            size_rng = self.sim.rng("bandwidth.sizes")
            size = batched(lambda n: size_rng.exponential(p.mean_size, n))
        else:
            size = lambda: p.mean_size  # noqa: E731
        env = self.env
        while True:
            yield env.timeout(interarrival())
            self._begin(size())

    def _begin(self, nbytes: float) -> None:
        t0 = self.env.now
        self.started += 1
        self.active.add(1)
        self.link.transfer(nbytes).callbacks.append(lambda _e: self._end(t0, nbytes))

    def _end(self, t0: float, nbytes: float) -> None:
        self.active.add(-1)
        self.sojourn.record(self.env.now - t0)
        self.done.value += 1
        self.finished += 1
        self.bytes_done.value += nbytes

    def transfer(self, start: float, record_finish: bool):
        """One transfer of `mean_size` bytes starting at `start` (staggered mode)."""
        yield self.env.timeout(start)
        self.started += 1
        self.active.add(1)
        yield self.link.transfer(self.params.mean_size)
        self.active.add(-1)
        self.finished += 1
        self.sojourn.record(self.env.now - start)
        self.done.value += 1
        self.finish_times.append(self.env.now)
        if self.finished == self.params.flows:
            self.sim.stop("all transfers done")

    def metrics(self) -> dict[str, float]:
        t = self.sim.recorder.measured_time()
        out = {
            "transfers": float(self.done.value),
            "mean_transfer_time_s": self.sojourn.mean if self.sojourn.n else float("nan"),
            "p99_transfer_time_s": self.sojourn.percentile(99),
            "mean_active_transfers": self.active.mean(),
        }
        if self.params.arrivals == "staggered":
            out["makespan_s"] = max(self.finish_times) if self.finish_times else float("nan")
        else:
            out["throughput_bytes_s"] = self.bytes_done.value / t if t > 0 else float("nan")
        return out

    def check_at_end(self) -> None:
        if self.finished > self.started:
            self.violation_log.add("conservation", "more transfers finished than started", self.env.now)
