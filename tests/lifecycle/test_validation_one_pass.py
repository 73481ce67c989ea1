"""Item 16 of issue 18: validation reports every independent error of a file in one pass, points
replications: 0 and warmup > duration at their keys, refuses a drawn fault time that can only fall
after the run, and the unit hint for `rate: 600k` says 600k/s."""

from __future__ import annotations

import pytest

from sim.core.units import UnitError, to_rate
from sim.scenario import ScenarioError, load_scenario
from tests.runner.conftest import TOY

NVLOG = """\
name: three_errors
system: nvlog_mirror
seed: 1
duration: 20ms
params:
  workers: 8
workload:
  size: {dist: fixed, value: 4KiB}
faults:
  - {kind: link_down, target: interconect, at: 5ms, duration: 1ms}
sweep:
  grid:
    params.send_queue_slot: [8, 16]
"""


def _errors(tmp_path, text: str):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    return e.value.items


def test_missing_rate_does_not_hide_a_fault_target_typo_or_a_sweep_key_typo(tmp_path):
    items = _errors(tmp_path, NVLOG)
    by_line = {(i.line, i.path): i.message for i in items}
    assert (7, "workload.rate") in by_line, items
    assert any(line == 10 and path.startswith("faults[0]") and "interconect" in msg
               for (line, path), msg in by_line.items()), items
    assert any(line >= 11 and path.startswith("sweep") and "send_queue_slot" in msg
               for (line, path), msg in by_line.items()), items


def test_replications_zero_points_at_its_key(tmp_path):
    [item] = _errors(tmp_path, TOY.replace("replications: 2", "replications: 0"))
    assert (item.line, item.path) == (7, "replications") and ">= 1" in item.message


def test_warmup_longer_than_duration_points_at_warmup(tmp_path):
    [item] = _errors(tmp_path, TOY + "warmup: 3s\n")
    assert (item.line, item.path) == (TOY.count("\n") + 1, "warmup") and "shorter than duration" in item.message


def test_a_drawn_fault_time_wholly_after_the_run_is_refused(tmp_path):
    text = NVLOG.split("params:")[0] + ("workload: {rate: 600k/s}\nfaults:\n"
                                        "  - {kind: link_down, target: interconnect, duration: 1ms,\n"
                                        "     at: {dist: uniform, low: 30ms, high: 50ms}}\n")
    [item] = _errors(tmp_path, text)
    assert item.path == "faults[0].at" and item.line == 8 and "never strikes" in item.message
    ok = text.replace("low: 30ms", "low: 10ms")
    (tmp_path / "ok.yaml").write_text(ok)
    load_scenario(tmp_path / "ok.yaml")


def test_rate_hint_keeps_the_prefix():
    with pytest.raises(UnitError) as e:
        to_rate("600k")
    assert "e.g. 600k/s" in str(e.value)
