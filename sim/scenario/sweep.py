"""Sweep definitions (the scenario's `sweep:` block). Placeholder until the sweep issue lands."""

from __future__ import annotations

from typing import Any

from sim.scenario.errors import ScenarioError
from sim.scenario.loader import Located


def validate_sweep(raw: dict[str, Any], located: Located, resolved: dict[str, Any]) -> dict[str, Any]:
    raise ScenarioError([located.error(("sweep",), "sweeps are not supported yet")])
