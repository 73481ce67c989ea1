"""Every registered component takes faults the protocol way and has its defaults documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.core import registry
from sim.core.fault_target import FaultTarget

ROOT = Path(__file__).resolve().parents[2]
CALIBRATION = (ROOT / "docs" / "calibration.md").read_text()
COMPONENTS = [e for e in registry.entries("components")]


@pytest.mark.parametrize("entry", COMPONENTS, ids=[e.name for e in COMPONENTS])
def test_component_declares_fault_kinds_and_rejects_others(entry):
    cls = entry.obj
    kinds = cls.fault_kinds
    assert kinds, f"{entry.name} declares no fault kinds"
    with pytest.raises(ValueError, match="cannot take fault"):
        FaultTarget.check_fault(cls, "no_such_fault")
    for kind in kinds:
        FaultTarget.check_fault(cls, kind)


@pytest.mark.parametrize("entry", [e for e in COMPONENTS if hasattr(e.obj, "Params")],
                         ids=[e.name for e in COMPONENTS if hasattr(e.obj, "Params")])
def test_every_default_parameter_is_in_calibration_doc(entry):
    params = entry.obj.Params
    missing = [f for f in params.model_fields if f != "kind" and f"`{f}`" not in CALIBRATION]
    assert not missing, f"{entry.name}: parameters not documented in docs/calibration.md: {missing}"
