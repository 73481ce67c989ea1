"""A tiny system with fault points (test plugin): a writer that persists each write, then acknowledges it.

`ack_first: true` is the broken order (acknowledge, then persist): a crash between the two steps
loses an acknowledged write. The window is one zero-length instant, so only a fault point finds it.
`one_step: true` is a variant that persists and acknowledges at once: it never passes
`toy.between_steps`, and narrows its instance's `fault_points` to say so.
"""

from __future__ import annotations

from pydantic import Field

from sim.components.host import Host
from sim.core.registry import register_system
from sim.core.system import FaultPoint, Metric, Params, System


@register_system("toy_points")
class ToyPoints(System):
    """Writes every `interval`: persist then acknowledge (or the broken reverse)."""

    class Params(Params):
        interval: float = Field(1e-3, gt=0, description="time between writes, s")
        ack_first: bool = Field(False, description="BROKEN on purpose: acknowledge before persisting")
        one_step: bool = Field(False, description="a variant that persists and acknowledges in one step")

    metrics_spec = (Metric("writes_acknowledged", "writes acknowledged"),
                    Metric("writes_persisted", "writes in the durable log"))
    fault_points = (FaultPoint("toy.between_steps", "after the first step of a write, before the second",
                               targets=("node",)),
                    FaultPoint("toy.write_start", "a write begins", targets=("node",)))

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        if self.params.one_step:  # the points this variant's writer passes (the class lists every variant's)
            self.fault_points = tuple(fp for fp in type(self).fault_points if fp.name != "toy.between_steps")
        self.node = Host(sim, None, "node", restart_time=1e-3)
        self.node.on_restart.append(lambda: self.node.process(self.writer()))
        self.durable: set[int] = set()
        self.acked: set[int] = set()
        self.seq = 0

    def start(self) -> None:
        self.node.process(self.writer())

    def fault_targets(self):
        return {"node": self.node}

    def writer(self):
        """One write at a time: persist and acknowledge in the configured order."""
        env, fp = self.env, self.sim.fault_point
        while True:
            yield env.timeout(self.params.interval)
            self.seq += 1
            s = self.seq
            fp("toy.write_start")
            if self.params.one_step:
                self.durable.add(s)
                self.acked.add(s)
                continue
            first, second = (self.acked, self.durable) if self.params.ack_first else (self.durable, self.acked)
            first.add(s)
            fp("toy.between_steps")
            yield env.timeout(0)  # the step boundary a crash can fall on
            second.add(s)

    def check_at_end(self) -> None:
        lost = self.acked - self.durable
        if lost:
            self.violation_log.add("acked_write_durable", f"{len(lost)} acknowledged write(s) not persisted",
                                   self.env.now, first=min(lost))

    def metrics(self):
        return {"writes_acknowledged": len(self.acked), "writes_persisted": len(self.durable)}
