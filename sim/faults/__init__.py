"""Fault kinds and schedules (the scenario's `faults:` list); see docs/faults.md.

`validate_faults` checks the entries against the system's fault targets at load time and returns
them resolved (SI units, patterns expanded); `schedule` starts the processes that inject and heal
them in a replication. The objects a system receives are `Fault`s (`.kind`, `.target`,
`.params`, `.start`, `.duration`, `.index`, `.occurrence`).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from sim.core.units import UnitError, to_seconds
from sim.faults.scheduler import Fault, FaultScheduler
from sim.faults.spec import KINDS, FaultSpec, draw
from sim.faults.targets import expand_target, is_pattern, supported_kinds
from sim.scenario.errors import ScenarioError

__all__ = ["Fault", "FaultScheduler", "KINDS", "FaultSpec", "draw", "schedule", "validate_faults",
           "probe_targets", "heal_phase_of"]


def probe_targets(system_cls, params, workload, duration: float = 1.0):
    """A throwaway instance of the system (never run), to ask it for its fault targets."""
    from sim.core.simulation import Simulation

    sim = Simulation(seed=0, duration=duration)
    return system_cls(sim, params, workload)


def _seconds_or_none(value: Any) -> float | None:
    try:
        return to_seconds(value) if value is not None else None
    except (UnitError, ValueError):
        return None


def heal_phase_of(data: dict[str, Any]) -> float | None:
    checks = data.get("checks") or {}
    return _seconds_or_none(checks.get("heal_phase")) if isinstance(checks, dict) else None


def validate_faults(raw: list[Any], located, system_cls, params, workload) -> list[dict[str, Any]]:
    """Validate the `faults:` list against the system's fault targets; returns resolved fault specs."""
    from sim.scenario.schema import pydantic_errors

    duration = _seconds_or_none(located.data.get("duration"))
    heal_phase = heal_phase_of(located.data)
    errors = []
    if heal_phase is not None and duration is not None and heal_phase >= duration:
        errors.append(located.error(("checks", "heal_phase"), "heal_phase must be shorter than duration"))
    if not raw:
        if errors:
            raise ScenarioError(errors)
        return []
    try:
        system = probe_targets(system_cls, params, workload, duration or 1.0)
        names = list(system.fault_targets())
    except Exception as e:  # noqa: BLE001 - a system that cannot even be built is reported here
        raise ScenarioError([located.error(("faults",), f"cannot build system {system_cls.name!r} to "
                                           f"find its fault targets: {type(e).__name__}: {e}")]) from None
    window_end = duration - heal_phase if (duration is not None and heal_phase is not None) else duration
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(raw):
        path = ("faults", i)
        if not isinstance(entry, dict):
            errors.append(located.error(path, "a fault is a mapping with kind, target and at (or mtbf)"))
            continue
        kind = entry.get("kind")
        if kind not in KINDS:
            if kind is None:
                errors.append(located.error(path, f"required key 'kind' is missing (one of {', '.join(KINDS)})"))
            else:
                guess = difflib.get_close_matches(str(kind), list(KINDS), n=1)
                hint = f"; did you mean {guess[0]!r}?" if guess else f" (known: {', '.join(KINDS)})"
                errors.append(located.error(path + ("kind",), f"unknown fault kind {kind!r}{hint}"))
            continue
        cls = KINDS[kind]
        try:
            spec = cls.model_validate(entry)
        except ValidationError as e:
            errors += pydantic_errors(e, located, path, cls)
            continue
        targets = expand_target(spec.target, names)
        if not targets:
            errors.append(located.error(path + ("target",), _unknown_target(spec.target, names)))
            continue
        bad = False
        for t in targets:
            kinds = supported_kinds(system, t)
            if kinds is not None and kind not in kinds:
                took = ", ".join(kinds) if kinds else "none"
                errors.append(located.error(path + ("kind",), f"target {t!r} cannot take fault {kind!r} "
                                                              f"(it takes: {took})"))
                bad = True
                break
        if bad:
            continue
        extra = {k: v for k, v in entry.items() if k not in ("kind", "target", "at", "mtbf", "mttr", "after", "until")}
        for t in targets:
            try:
                system.check_fault_params(kind, t, extra)
            except ValueError as e:  # "key: message" points at that key of the fault
                key, sep, msg = str(e).partition(": ")
                at_key = (key,) if sep and key in extra else ()
                errors.append(located.error(path + at_key, msg if at_key else str(e)))
                bad = True
                break
        if bad:
            continue
        at = spec.at
        if isinstance(at, float) and window_end is not None and at >= window_end:
            where = "in the heal phase" if heal_phase is not None else "after the end of the run"
            errors.append(located.error(path + ("at",), f"at {at:g} s falls {where} "
                                                        f"(faults must start before {window_end:g} s)"))
            continue
        resolved = spec.model_dump(mode="json")
        resolved["targets"] = targets
        out.append(resolved)
    if errors:
        raise ScenarioError(errors)
    return out


def _unknown_target(target: str, names: list[str]) -> str:
    known = ", ".join(sorted(names)) if names else "none: this system takes no faults"
    if is_pattern(target):
        return f"target pattern {target!r} matches no fault target (known: {known})"
    guess = difflib.get_close_matches(target, sorted(names), n=1)
    hint = f" (known: {known})"
    if guess:
        group = re.sub(r"\[[^\]]*\]$", "[*]", guess[0])
        hint = f"; did you mean {guess[0]!r}" + (f" (or {group!r} for all of them)" if group != guess[0] else "") + "?"
    return f"unknown target {target!r}{hint}"


def schedule(sim, system, faults: list[dict[str, Any]]) -> FaultScheduler:
    """Start the processes that inject and heal the resolved faults; install the run's checks.

    Also adds the `faults_active` probe to the time series and, as the scenario's `checks:` ask,
    continuous invariant checks and the end-of-run liveness check (see `sim.check.invariants`).
    """
    from sim.check.invariants import install_checks

    options = getattr(sim, "checks", None) or {}
    hp = options.get("heal_phase")
    heal_start = sim.duration - hp if hp else None
    sched = FaultScheduler(sim, system, list(faults or []), heal_start=heal_start)
    sim.faults = sched
    if sched.specs:
        sim.add_probe("faults_active", lambda: float(len(sched.active)))
        sched.start()
    install_checks(sim, system, sched, options)
    return sched
