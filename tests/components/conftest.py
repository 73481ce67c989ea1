"""Helpers for component tests: a bare Simulation and fault objects."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sim.core.simulation import Simulation


@pytest.fixture
def sim() -> Simulation:
    return Simulation(seed=1, duration=1e9)


def fault(kind: str, target: str = "x", **params):
    return SimpleNamespace(kind=kind, target=target, params=params)


def run(sim: Simulation, gen, until: float | None = None):
    """Run generator `gen` as a process to completion; return its value."""
    proc = sim.env.process(gen)
    sim.env.run(until=until if until is not None else proc)
    return proc.value
