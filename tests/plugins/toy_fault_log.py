"""A system that only records the faults it receives (test plugin for the fault scheduler)."""

from __future__ import annotations

from pydantic import Field

from sim.core.fault_target import FaultTarget
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System, Violation
from sim.core.units import Duration
from sim.faults.spec import KINDS


class Target(FaultTarget):
    """A fault target that takes `kinds` (default: every kind) and reports each inject and heal
    to `record(op, fault)`; its `_inject_<kind>` / `_heal_<kind>` exist for every kind it takes."""

    def __init__(self, name: str, record, kinds: tuple[str, ...] = KINDS) -> None:
        self.name = name
        self.fault_kinds = tuple(kinds)
        self._record = record

    def __getattr__(self, attr: str):
        for op in ("inject", "heal"):
            prefix = f"_{op}_"
            if attr.startswith(prefix) and attr[len(prefix):] in self.fault_kinds:
                return lambda fault, op=op: self._record(op, fault)
        raise AttributeError(attr)


@register_system("toy_fault_log")
class ToyFaultLog(System):
    """Records every inject/heal call with its time, kind, target and params (test plugin)."""

    metrics_spec = (Metric("faults_seen", "faults injected on any target"),)

    class Params(Params):
        nodes: int = Field(3, ge=1)
        violate_at: Duration | None = Field(None, description="check_invariants fails from this time on")

    def __init__(self, sim, params, workload=None):
        super().__init__(sim, params, workload)
        self.log: list[tuple] = []
        self.down: set[str] = set()
        rec = self.record
        self.targets = {f"node[{i}]": Target(f"node[{i}]", rec) for i in range(params.nodes)}
        self.targets |= {"link": Target("link", rec), "store": Target("store", rec), "cloud": Target("cloud", rec),
                         "sensor": Target("sensor", rec, ("clock_skew",))}

    def start(self):
        self.env.process(self.ticker())

    def ticker(self):
        while True:
            yield self.env.timeout(0.01)

    def fault_targets(self):
        return self.targets

    def record(self, op: str, fault) -> None:
        """A target took (`op` "inject") or shed ("heal") `fault`."""
        self.log.append((self.env.now, op, fault.kind, fault.target, dict(fault.params), fault.index))
        if op == "inject":
            self.down.add(fault.target)
        else:
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
