"""One replication: a pure function of (resolved scenario, seed).

Builds the Simulation and the system, schedules the faults, runs with the deadlock detector and
watchdogs, and returns one flat metrics row plus violations, notable events and an optional time
series. An exception inside the model is recorded in the result, not raised, so a sweep goes on.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.check.invariants import install_checks
from sim.core import registry
from sim.core.simulation import Simulation
from sim.core.system import ViolationLog
from sim.faults import schedule

MAX_VIOLATIONS_KEPT = 10


@dataclass
class ReplicationResult:
    replication: int
    seed: int
    metrics: dict[str, float]
    violations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    timeseries: Any = None  # pandas DataFrame or None
    error: str | None = None
    wall_time_s: float = 0.0
    trace: list[tuple] | None = None  # per-event trace records (t, kind, *fields) when asked for
    fault_point_hits: dict[str, int] = field(default_factory=dict)  # when points are armed or counted
    violations_by_invariant: dict[str, int] = field(default_factory=dict)  # true counts, not only those kept


def build(resolved: dict[str, Any], seed: int):
    """Construct (Simulation, system) for a resolved scenario without running it."""
    registry.load_plugins(resolved.get("plugins") or [])
    cls = registry.get("systems", resolved["system"]).obj
    params = cls.Params.model_validate(resolved["params"])
    workload = cls.Workload.model_validate(resolved["workload"] or {}) if cls.Workload is not None else None
    checks = resolved.get("checks") or {}
    ts = resolved.get("timeseries") or None
    sim = Simulation(
        seed=seed,
        duration=resolved["duration"],
        warmup=resolved.get("warmup", 0.0),
        check_interval=checks.get("interval"),
        wall_timeout=checks.get("wall_timeout"),
        timeseries_interval=ts["interval"] if ts else None,
        trace=checks.get("trace", False),
        checks=checks,
    )
    system = cls(sim, params, workload)
    return sim, system


def start(sim: Simulation, system, faults: list[dict[str, Any]]) -> None:
    """Wire a built system into its run: faults, checks, the framework's instants, then its processes."""
    schedule(sim, system, faults)
    install_checks(sim, system, sim.checks)
    sim.watch_progress(system.progress)
    sim.at_warmup(system.on_warmup)
    sim.at_heal_phase(system.on_heal_phase)
    system.start()


def run_replication(resolved: dict[str, Any], seed: int, replication: int = 0,
                    on_progress: Callable[[float], None] | None = None) -> ReplicationResult:
    """Run one replication and return its metrics row (never raises for model errors).

    `on_progress(sim_time)` is called at every check interval (for progress bars).
    """
    sim = None
    try:
        sim, system = build(resolved, seed)
        if on_progress is not None:
            env = sim.env
            sim.add_check(lambda: on_progress(env.now))
        start(sim, system, resolved.get("faults") or [])
        outcome = sim.run()
        metrics = dict(system.metrics())
        log: ViolationLog = system.violations()
        log.extend(sim.final_violations())  # liveness, continuous checks
        violations = [v.to_dict() for v in log.details]
    except Exception as exc:  # noqa: BLE001 - a failing run is a result, not a crash of the sweep
        tb = traceback.format_exc(limit=8)
        return ReplicationResult(replication, seed, {}, error=f"{type(exc).__name__}: {exc}\n{tb}",
                                 events=sim.events if sim else [])
    dl = outcome.deadlock
    metrics["deadlocked"] = 1 if dl is not None else 0
    metrics["time_to_deadlock_s"] = dl.formed_at if dl is not None else math.nan
    metrics["invariant_violations"] = log.count
    metrics["stalled"] = 1 if outcome.stall is not None else 0
    metrics["time_to_stall_s"] = outcome.stall.since if outcome.stall is not None else math.nan
    metrics["watchdog_timeout"] = 1 if outcome.wall_timeout else 0
    metrics["sim_time_s"] = outcome.end_time
    selected = resolved.get("metrics")
    if selected:
        keep = set(selected) | {"deadlocked", "invariant_violations", "stalled"}
        metrics = {k: v for k, v in metrics.items() if k in keep}
    events = list(sim.events)
    if dl is not None:
        events.append({"time_s": dl.formed_at, "event": "deadlock_formed", "cycle": dl.describe()})
    if outcome.stall is not None:
        events.append({"time_s": outcome.stall.since, "event": "stalled", "detail": outcome.stall.describe()})
    return ReplicationResult(
        replication=replication,
        seed=seed,
        metrics={k: float(v) for k, v in metrics.items()},
        violations=violations[:MAX_VIOLATIONS_KEPT],
        events=events,
        timeseries=sim.timeseries(),
        wall_time_s=outcome.wall_time_s,
        trace=sim.trace.records if sim.trace is not None else None,
        fault_point_hits=dict(sim.faults.point_hits) if sim.faults is not None else {},
        violations_by_invariant=dict(log.by_invariant),
    )
