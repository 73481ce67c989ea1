"""Discrete-event simulation of data-protection and recovery mechanisms of storage systems.

Public API: `load_scenario`, `run`, `sweep`, `Result`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.core.version import __version__ as __version__


def load_scenario(path: str | Path, **overrides: Any):
    """Load and validate a scenario file; `overrides` use key paths with `__` or `.` (e.g. params__workers=4)."""
    from sim.scenario import load_scenario as _load

    return _load(path, {k.replace("__", "."): v for k, v in overrides.items()} or None)


def run(path_or_scenario, *, out: str | Path | None = None, seed: int | None = None,
        replications: int | None = None, write: bool = False, **overrides: Any):
    """Run a scenario (path or loaded Scenario) and return a `Result` (`.metrics`, `.timeseries`).

    Keyword overrides address scenario keys: `run("x.yaml", params__workers=4, duration="1s")`.
    Results are written to disk only when `write=True` or `out` is given.
    """
    from sim.runner import run_scenario
    from sim.scenario import Scenario

    if isinstance(path_or_scenario, Scenario) and not overrides:
        scenario = path_or_scenario
    else:
        path = path_or_scenario.path if isinstance(path_or_scenario, Scenario) else path_or_scenario
        scenario = load_scenario(path, **overrides)
    return run_scenario(scenario, out, seed=seed, replications=replications, write=write or out is not None)


def sweep(path_or_scenario, **kwargs: Any):
    """Run a scenario's `sweep:` block; returns the tidy runs DataFrame (see sim.runner.sweep)."""
    from sim.runner.sweep import sweep as _sweep

    return _sweep(path_or_scenario, **kwargs)


def __getattr__(name: str):
    if name == "Result":
        from sim.runner.run import Result

        return Result
    raise AttributeError(name)
