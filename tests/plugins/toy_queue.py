"""A tiny M/M/1 system registered as a plugin, used by the foundation's tests."""

from __future__ import annotations

import simpy
from pydantic import Field

from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import PositiveDuration, PositiveRate


@register_system("toy_queue")
class ToyQueue(System):
    """Single-server FIFO queue with Poisson arrivals and exponential service (test plugin)."""

    metrics_spec = (
        Metric("completed", "customers served"),
        Metric("sojourn_mean_s", "mean time from arrival to departure"),
        Metric("sojourn_p50_s", "median sojourn"),
        Metric("sojourn_p99_s", "99th percentile sojourn"),
        Metric("utilization", "time-average number of busy servers"),
    )

    class Params(Params):
        arrival_rate: PositiveRate = 50.0
        mean_service: PositiveDuration = 0.01
        servers: int = Field(1, ge=1)
        fail_after: int = Field(0, ge=0, description="raise after this many arrivals (0: never)")

    def __init__(self, sim, params, workload=None):
        super().__init__(sim, params, workload)
        self.server = simpy.Resource(self.env, capacity=params.servers)
        self.sojourn = sim.recorder.tally("sojourn")
        self.busy = sim.recorder.gauge("busy")
        self.done = sim.recorder.counter("done")
        self.arrivals = 0
        sim.add_probe("queue_length", lambda: len(self.server.queue))

    def start(self):
        self.env.process(self.source())

    def source(self):
        rng = self.sim.rng("toy.arrivals")
        while True:
            yield self.env.timeout(rng.exponential(1 / self.params.arrival_rate))
            self.arrivals += 1
            if self.params.fail_after and self.arrivals >= self.params.fail_after:
                raise RuntimeError("toy failure")
            self.env.process(self.customer())

    def customer(self):
        t0 = self.env.now
        rng = self.sim.rng("toy.service")
        with self.server.request() as req:
            yield req
            self.busy.add(1)
            yield self.env.timeout(rng.exponential(self.params.mean_service))
            self.busy.add(-1)
        self.sojourn.record(self.env.now - t0)
        self.done.inc()

    def metrics(self):
        return {"completed": self.done.value, **self.sojourn.summary("sojourn", "s"),
                "utilization": self.busy.mean()}

    def check_at_end(self):
        if self.done.value > self.arrivals:
            self.violation_log.add("conservation", "more done than arrived")
