"""A system that only records the faults it receives (test plugin for the fault scheduler)."""

from __future__ import annotations

from pydantic import Field

from sim.core.registry import register_system
from sim.core.system import Params, System, Violation
from sim.core.units import Duration


class Target:
    """A fault target; `fault_kinds` None means it takes any kind."""

    def __init__(self, name: str, kinds: tuple[str, ...] | None = None) -> None:
        self.name = name
        if kinds is not None:
            self.fault_kinds = kinds


@register_system("toy_fault_log")
class ToyFaultLog(System):
    """Records every inject/heal call with its time, kind, target and params (test plugin)."""

    class Params(Params):
        nodes: int = Field(3, ge=1)
        violate_at: Duration | None = Field(None, description="check_invariants fails from this time on")

    def __init__(self, sim, params, workload=None):
        super().__init__(sim, params, workload)
        self.log: list[tuple] = []
        self.down: set[str] = set()
        self.targets = {f"node[{i}]": Target(f"node[{i}]") for i in range(params.nodes)}
        self.targets |= {"link": Target("link"), "store": Target("store"), "cloud": Target("cloud"),
                         "sensor": Target("sensor", ("clock_skew",))}

    def start(self):
        self.env.process(self.ticker())

    def ticker(self):
        while True:
            yield self.env.timeout(0.01)

    def fault_targets(self):
        return self.targets

    def inject(self, fault):
        self.log.append((self.env.now, "inject", fault.kind, fault.target, dict(fault.params), fault.index))
        self.down.add(fault.target)

    def heal(self, fault):
        self.log.append((self.env.now, "heal", fault.kind, fault.target, dict(fault.params), fault.index))
        self.down.discard(fault.target)

    def check_invariants(self):
        va = self.params.violate_at
        if va is not None and self.env.now >= va:
            return [Violation("always_fine", "the invariant broke on purpose")]
        return []

    def converged(self):
        return f"still down: {', '.join(sorted(self.down))}" if self.down else None

    def metrics(self):
        return {"faults_seen": float(sum(1 for e in self.log if e[1] == "inject"))}
