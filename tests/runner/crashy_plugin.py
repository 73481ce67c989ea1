"""A test system whose worker process dies (os._exit) at a chosen arrival: a broken process pool."""

from __future__ import annotations

import multiprocessing
import os

from pydantic import Field

from sim.core.registry import register_system
from sim.core.system import Metric, Params, System


@register_system("crashy")
class Crashy(System):
    """Counts ticks; with `die_in_worker` the worker process exits abruptly (never in the main process)."""

    metrics_spec = (Metric("ticks", "seconds ticked"),)

    class Params(Params):
        die_in_worker: bool = False
        ticks: int = Field(10, ge=1)

    def start(self):
        self.n = 0
        self.env.process(self.ticker())

    def ticker(self):
        while True:
            yield self.env.timeout(1.0)
            self.n += 1
            if self.params.die_in_worker and multiprocessing.parent_process() is not None:
                os._exit(3)

    def metrics(self):
        return {"ticks": self.n}
