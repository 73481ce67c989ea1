"""Fault kinds, fault targets and schedules (the scenario's `faults:` list); see docs/faults.md.

`sim.scenario.faults.validate_faults` checks the entries against the system's fault targets at load
time and returns them resolved (SI units, patterns expanded); `schedule` starts the processes that
inject and heal them in a replication. The objects a system receives are `Fault`s (`.kind`,
`.target`, `.params`, `.start`, `.duration`, `.index`, `.occurrence`).
"""

from __future__ import annotations

from typing import Any

from sim.faults.scheduler import Fault, FaultScheduler
from sim.faults.spec import KINDS, FaultSpec, draw
from sim.faults.targets import expand_target, is_pattern, supported_kinds

__all__ = ["Fault", "FaultScheduler", "KINDS", "FaultSpec", "draw", "schedule", "expand_target", "is_pattern",
           "supported_kinds"]


def schedule(sim, system, faults: list[dict[str, Any]]) -> FaultScheduler:
    """Start the processes that inject and heal the resolved faults (and mark the heal phase).

    Also adds the `faults_active` probe to the time series.
    """
    sched = FaultScheduler(sim, system, list(faults or []))
    sim.faults = sched
    if sched.specs:
        sim.add_probe("faults_active", lambda: float(len(sched.active)))
    if sched.specs or sched.heal_start is not None or sim.checks.get("fault_point_coverage"):
        sched.start()  # also to count the points' hits in a run without faults
    return sched
