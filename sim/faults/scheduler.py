"""Injecting resolved faults into a running system at their times, and healing them.

One SimPy process per (fault entry, target): `fault_at` for a one-off fault, `failure_repair_cycle`
for recurring failures (exponential times between failures with mean `mtbf`, repairs with mean
`mttr`). Draws come from the named stream `faults[i]` (`faults[i]:<target>` when the entry's
target is a pattern), so adding a fault never shifts the draws of the system or of another fault.

When the scenario declares a heal phase (`checks: {heal_phase: 2s}`), no fault starts during the
last `heal_phase` seconds and every fault still active when it begins is healed then (crashed
nodes restart, links come back): the system must converge with faults off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simpy.core import URGENT

from sim.faults.spec import KINDS, draw


@dataclass(eq=False)
class Fault:
    """One fault occurrence, as delivered to `system.inject(fault)` and `system.heal(fault)`."""

    kind: str
    target: str
    params: dict[str, Any]
    index: int  # position of its entry in the scenario's `faults:` list
    occurrence: int = 0  # 0, 1, 2... for recurring faults
    start: float = math.nan  # simulated time it struck
    end: float | None = None  # simulated time it was healed (None: not healed)
    spec: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def heal_key(self) -> str | None:
        return KINDS[self.kind].heal_key

    @property
    def duration(self) -> float | None:
        """Planned time from start to heal (None: permanent or instantaneous)."""
        key = self.heal_key
        return self.params.get(key) if key else None

    @property
    def active(self) -> bool:
        return not math.isnan(self.start) and self.end is None and self.heal_key is not None

    def describe(self) -> str:
        return f"{self.kind} on {self.target} at {self.start:.6g} s"


class FaultScheduler:
    """Owns the fault processes of one replication and the record of what struck when."""

    def __init__(self, sim: Any, system: Any, specs: list[dict[str, Any]]):
        self.sim = sim
        self.env = sim.env
        self.system = system
        self.specs = specs
        self.heal_start = sim.heal_start
        self.history: list[Fault] = []
        self.active: list[Fault] = []
        #: fault-point name -> hits so far (counted while points are armed or coverage is asked for)
        self.point_hits: dict[str, int] = {}
        self._armed: dict[str, list[_ArmedPoint]] = {}

    # --- start / end -----------------------------------------------------------------------------
    def strike(self, fault: Fault) -> None:
        fault.start = self.env.now
        self.history.append(fault)
        if fault.heal_key is not None:
            self.active.append(fault)
        self._note("fault_start", fault, **_scalars(fault.params))
        self.system.inject(fault)

    def repair(self, fault: Fault) -> None:
        if fault.end is not None or fault not in self.active:
            return
        fault.end = self.env.now
        self.active.remove(fault)
        self.system.heal(fault)
        self._note("fault_end", fault)

    def _note(self, event: str, fault: Fault, **extra: Any) -> None:
        self.sim.note(event, kind=fault.kind, target=fault.target, index=fault.index,
                      occurrence=fault.occurrence, **extra)

    def in_heal_phase(self) -> bool:
        return self.heal_start is not None and self.env.now >= self.heal_start

    # --- processes -------------------------------------------------------------------------------
    def start(self) -> None:
        for i, spec in enumerate(self.specs):
            targets = spec.get("targets") or [spec["target"]]
            for target in targets:
                stream = f"faults[{i}]" if len(targets) == 1 and target == spec["target"] else f"faults[{i}]:{target}"
                rng = self.sim.rng(stream)
                if spec.get("point") is not None:
                    self._armed.setdefault(spec["point"], []).append(_ArmedPoint(i, spec, target, rng))
                elif spec.get("mtbf") is not None:
                    self.env.process(self.failure_repair_cycle(i, spec, target, rng))
                else:
                    self.env.process(self.fault_at(i, spec, target, rng))
        if self._armed or self.sim.checks.get("fault_point_coverage"):
            self.sim._point_hook = self.fault_point_hit
        if self.heal_start is not None:
            self.env.process(self.heal_phase())

    def _params(self, spec: dict[str, Any], rng) -> dict[str, Any]:
        cls = KINDS[spec["kind"]]
        params = {}
        for k, v in spec.items():
            if k in _COMMON:
                continue
            params[k] = draw(v, rng) if k in cls.drawn_keys else v
        return params

    def _wait_heal(self, fault: Fault):
        delay = fault.duration
        end = self.env.now + delay if delay is not None else math.inf
        if self.heal_start is not None:
            end = min(end, self.heal_start)
        if fault.heal_key is None or math.isinf(end):
            return
        yield self.env.timeout(max(0.0, end - self.env.now))
        self.repair(fault)

    def fault_point_hit(self, name: str) -> None:
        """A model passed fault point `name`: count it, and strike the faults armed there."""
        n = self.point_hits.get(name, 0) + 1
        self.point_hits[name] = n
        armed = self._armed.get(name)
        if not armed or self.in_heal_phase():
            return
        for a in armed:
            if a.left <= 0:
                continue
            hit = a.spec.get("hit")
            if (n == hit) if hit is not None else (a.rng.random() < a.spec["probability"]):
                a.left -= 1
                fault = Fault(a.spec["kind"], a.target, self._params(a.spec, a.rng), a.index,
                              occurrence=a.strikes, spec=a.spec)
                a.strikes += 1
                # strike before any other event at this instant, once the calling process yields
                ev = self.env.event()
                ev._ok = True
                ev._value = None
                ev.callbacks.append(lambda _e, f=fault: self.env.process(self._strike_at_point(f, name, n)))
                self.env.schedule(ev, URGENT)

    def _strike_at_point(self, fault: Fault, name: str, n: int):
        if self.in_heal_phase():
            return
        self.sim.note("fault_point", point=name, hit=n, kind=fault.kind, target=fault.target)
        self.strike(fault)
        yield from self._wait_heal(fault)

    def fault_at(self, i: int, spec: dict[str, Any], target: str, rng):
        """A one-off fault: strikes at `at` (drawn if a distribution), heals after its duration."""
        at = draw(spec["at"], rng)
        params = self._params(spec, rng)
        if at > self.env.now:
            yield self.env.timeout(at - self.env.now)
        if self.in_heal_phase():
            return
        fault = Fault(spec["kind"], target, params, i, spec=spec)
        self.strike(fault)
        yield from self._wait_heal(fault)

    def failure_repair_cycle(self, i: int, spec: dict[str, Any], target: str, rng):
        """Recurring failures of one target: up for Exp(mtbf), down for Exp(mttr), repeat."""
        cls = KINDS[spec["kind"]]
        after = spec.get("after") or 0.0
        until = spec.get("until")
        if self.heal_start is not None:
            until = self.heal_start if until is None else min(until, self.heal_start)
        if after > 0:
            yield self.env.timeout(after)
        n = 0
        while True:
            yield self.env.timeout(float(rng.exponential(spec["mtbf"])))
            if until is not None and self.env.now >= until:
                return
            params = self._params(spec, rng)
            if spec.get("mttr") is not None and cls.heal_key is not None:
                params[cls.heal_key] = float(rng.exponential(spec["mttr"]))
            fault = Fault(spec["kind"], target, params, i, occurrence=n, spec=spec)
            n += 1
            self.strike(fault)
            if fault.heal_key is not None:
                if fault.duration is None and self.heal_start is None:
                    return  # permanent failure: nothing more can happen to this target
                yield from self._wait_heal(fault)
                if fault.end is None:
                    return

    def heal_phase(self):
        """At the heal-phase start, heal every fault still active: faults are off from here on."""
        yield self.env.timeout(self.heal_start)
        self.sim.note("heal_phase_start")
        for fault in list(self.active):
            self.repair(fault)
        self.sim.heal_phase_began()


_RESERVED = frozenset({"time_s", "event", "kind", "target", "index", "occurrence"})
_COMMON = frozenset({"kind", "target", "targets", "at", "mtbf", "mttr", "after", "until", "point", "hit",
                     "probability", "times"})


class _ArmedPoint:
    """A fault entry waiting at a fault point for its hit (or its chance)."""

    __slots__ = ("index", "spec", "target", "rng", "left", "strikes")

    def __init__(self, index: int, spec: dict[str, Any], target: str, rng: Any) -> None:
        self.index = index
        self.spec = spec
        self.target = target
        self.rng = rng
        self.left = 1 if spec.get("hit") is not None else int(spec.get("times") or 1)
        self.strikes = 0


def _scalars(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, int | float | str | bool) and k not in _RESERVED}
