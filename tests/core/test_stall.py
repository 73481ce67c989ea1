"""The framework's stall check: work in progress and no completion for a window ends the run, naming who waits."""

from __future__ import annotations

import math

import pytest

from sim.runner.replication import run_replication
from sim.scenario import scenario_from_dict


def _run(leak: int, stall_window: str | None = "5ms"):
    checks = {"stall_window": stall_window} if stall_window else {}
    s = scenario_from_dict({"name": "slots", "system": "toy_slots", "plugins": ["tests.plugins.toy_slots"],
                            "seed": 1, "duration": "1s", "params": {"leak_every": leak}, "checks": checks})
    return run_replication(s.resolved, 1)


def test_a_leaking_pool_stalls_and_the_waiting_writers_are_named():
    res = _run(leak=50)
    m = res.metrics
    assert m["stalled"] == 1 and m["deadlocked"] == 0
    assert m["sim_time_s"] < 0.5 and m["writes_completed"] == 200  # 4 slots leak after 4 x 50 writes
    # the stall is dated at the first check that saw the last completion (checks every duration/200 = 5 ms)
    assert 0.066 < m["time_to_stall_s"] < 0.2
    assert m["sim_time_s"] - m["time_to_stall_s"] == pytest.approx(5e-3, abs=5.1e-3)
    ev = next(e for e in res.events if e["event"] == "stall")
    assert "writer#0" in ev["detail"] and "3 operation(s) in progress" in ev["detail"]


def test_no_stall_without_a_leak_or_without_a_window():
    ok = _run(leak=0)
    assert ok.metrics["stalled"] == 0 and ok.metrics["sim_time_s"] == pytest.approx(1.0)
    off = _run(leak=50, stall_window=None)
    assert off.metrics["stalled"] == 0 and math.isnan(off.metrics["time_to_stall_s"])
    assert off.metrics["writes_completed"] == 200  # it stalled all the same, silently: the window is the check
