"""Validating a scenario's `faults:` list against the system's fault targets (file and line added here).

The fault layer knows kinds, targets and schedules; this module, in the scenario layer, turns
what it rejects into located errors (`FILE:LINE: faults[i].key: message`).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from sim.core.simulation import Simulation
from sim.core.units import UnitError, to_seconds
from sim.faults import KINDS, expand_target, is_pattern, supported_kinds
from sim.scenario.errors import ScenarioError
from sim.scenario.pydantic_errors import pydantic_errors


def probe_targets(system_cls, params, workload, duration: float = 1.0):
    """A throwaway instance of the system (never run), to ask it for its fault targets."""
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
        extra = {k: v for k, v in entry.items() if k not in ("kind", "target", "at", "mtbf", "mttr", "after", "until",
                                                         "point", "hit", "probability", "times")}
        for t in targets:
            try:
                system.fault_targets()[t].check_fault_params(kind, extra)
            except ValueError as e:  # "key: message" points at that key of the fault
                key, sep, msg = str(e).partition(": ")
                at_key = (key,) if sep and key in extra else ()
                errors.append(located.error(path + at_key, msg if at_key else str(e)))
                bad = True
                break
        if bad:
            continue
        if spec.point is not None:
            declared = [fp.name for fp in getattr(system_cls, "fault_points", ())]
            if spec.point not in declared:
                guess = difflib.get_close_matches(spec.point, declared, n=1)
                hint = (f"; did you mean {guess[0]!r}?" if guess else
                        f" (it declares: {', '.join(declared) if declared else 'none'})")
                errors.append(located.error(path + ("point",), f"system {system_cls.name!r} has no fault point "
                                                               f"{spec.point!r}{hint}"))
                continue
        at = spec.at
        if isinstance(at, float) and window_end is not None and at >= window_end:
            where = "in the heal phase" if heal_phase is not None else "after the end of the run"
            errors.append(located.error(path + ("at",), f"at {at:g} s falls {where} "
                                                        f"(faults must start before {window_end:g} s)"))
            continue
        low = at.get("low") if isinstance(at, dict) and at.get("dist") in ("uniform", "triangular") else None
        if low is not None and window_end is not None and low >= window_end:
            where = "in the heal phase" if heal_phase is not None else "after the end of the run"
            errors.append(located.error(path + ("at",), f"at draws from {at['dist']} {low:g}..{at['high']:g} s: every "
                                                        f"time falls {where}, so the fault never strikes "
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
