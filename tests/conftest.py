"""Shared fixtures: the repository root and a loader for the toy plugin used by foundation tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def toy_yaml() -> Path:
    return ROOT / "tests" / "data" / "toy.yaml"
