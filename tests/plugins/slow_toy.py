"""A test system that burns wall-clock time (sleeps) every simulated tick: a sweep of it is slow
enough to interrupt with Ctrl-C while runs are in flight."""

from __future__ import annotations

import time

from pydantic import Field

from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import Duration, PositiveDuration


@register_system("slow_toy")
class SlowToy(System):
    """Counts ticks of `tick` simulated seconds, sleeping `sleep` wall seconds at each."""

    class Params(Params):
        tick: PositiveDuration = Field(0.01, description="simulated seconds between ticks")
        sleep: Duration = Field(0.01, description="wall-clock seconds slept at each tick")

    metrics_spec = (Metric("ticks", "ticks counted"),)

    def start(self) -> None:
        self.n = 0
        self.env.process(self.ticker())

    def ticker(self):
        while True:
            yield self.env.timeout(self.params.tick)
            time.sleep(self.params.sleep)
            self.n += 1

    def metrics(self):
        return {"ticks": self.n}

    def violations(self):
        return []
