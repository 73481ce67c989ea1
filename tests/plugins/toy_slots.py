"""Writers sharing a fixed pool of slots (test plugin); `leak_every: n` forgets to return one slot in n.

With a leak the pool drains and every writer waits for a slot forever: no cycle, so no deadlock,
but a stall the framework's progress check must find.
"""

from __future__ import annotations

import simpy
from pydantic import Field

from sim.core.registry import register_system
from sim.core.system import Metric, Params, System


@register_system("toy_slots")
class ToySlots(System):
    """`writers` processes each take a slot, hold it for 1 ms, and give it back (or leak it)."""

    class Params(Params):
        slots: int = Field(4, ge=1, description="slots in the pool")
        writers: int = Field(3, ge=1, description="concurrent writers")
        leak_every: int = Field(0, ge=0, description="BROKEN on purpose: forget one slot in this many (0: never)")

    metrics_spec = (Metric("writes_completed", "writes that got a slot and finished"),)

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        self.pool = simpy.Container(self.env, capacity=params.slots, init=params.slots)
        self.done = 0
        self.waiting: dict[int, float] = {}
        sim.deadlock.watch(self._edges)

    def start(self) -> None:
        for i in range(self.params.writers):
            self.env.process(self.writer(i))

    def writer(self, i: int):
        """Take a slot, write for 1 ms, return the slot (unless this one leaks)."""
        env = self.env
        while True:
            self.waiting[i] = env.now
            yield self.pool.get(1)
            del self.waiting[i]
            yield env.timeout(1e-3)
            self.done += 1
            if not (self.params.leak_every and self.done % self.params.leak_every == 0):
                yield self.pool.put(1)

    def _edges(self):
        return [(f"writer#{i}", "slot_pool", t) for i, t in sorted(self.waiting.items())]

    def progress(self):
        return self.done, self.params.writers

    def metrics(self):
        return {"writes_completed": self.done}
