"""Fault kinds and schedules (the scenario's `faults:` list). Placeholder until the faults issue lands."""

from __future__ import annotations

from typing import Any

from sim.scenario.errors import ScenarioError


def validate_faults(raw: list[Any], located, system_cls, params, workload) -> list[dict[str, Any]]:
    """Validate the `faults:` list against the system's fault targets; returns resolved fault specs."""
    if raw:
        raise ScenarioError([located.error(("faults",), "fault injection is not supported yet")])
    return []


def schedule(sim, system, faults: list[dict[str, Any]]) -> None:
    """Start the processes that inject and heal the resolved faults."""
    return None
