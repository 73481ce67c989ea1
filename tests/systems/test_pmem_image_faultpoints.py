"""pmem_image: images live in the persistence domain; faults at the fault points; the skip_persist variant.

Small runs (16 MiB of 4 KiB pages, 4k writes/s, a capture every 200 ms, 3 s simulated), each well
under a second, through the scenario loader like a user's file.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from sim.runner.replication import run_replication
from sim.scenario import load_scenario, scenario_from_dict
from sim.systems.pmem_image import PmemImage

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "sim" / "systems" / "pmem_image"

BASE = {
    "name": "pmem_image_fp_test",
    "system": "pmem_image",
    "seed": 3,
    "duration": 3.0,
    "warmup": 0.0,
    "params": {
        "memory_size": "16MiB",
        "capture_interval": "200ms",
        "images_retained": 3,
        "restore_probe_interval": "250ms",
    },
    "workload": {"write_rate": "4k/s", "keys": {"dist": "zipf", "zipf_s": 0.99}},
}


def run(faults=None, seed: int = 3, **params) -> tuple[dict, list[str]]:
    data = copy.deepcopy(BASE)
    for k, v in params.items():
        if isinstance(v, dict):
            data["params"].setdefault(k, {}).update(v)
        else:
            data["params"][k] = v
    if faults:
        data["faults"] = faults
    res = run_replication(scenario_from_dict(data).resolved, seed)
    assert res.error is None, res.error
    return res.metrics, [v["invariant"] for v in res.violations]


def at_point(point: str, hit: int = 6, kind: str = "power_loss", target: str = "node") -> dict:
    heal = "restore_after" if kind == "power_loss" else "restart_after"
    return {"kind": kind, "target": target, "point": point, "hit": hit, heal: "100ms"}


def test_every_fault_point_called_is_declared_and_every_declared_one_is_called():
    called = set()
    for f in PKG.glob("*.py"):
        called |= set(re.findall(r'(?:fp|fault_point)\("([a-z_.]+)"\)', f.read_text()))
    declared = {p.name for p in PmemImage.fault_points}
    assert called == declared
    assert all(p.targets for p in PmemImage.fault_points)


# --- the broken variant: every persist of the image path removed --------------------------------
def test_skip_persist_is_caught_by_a_power_loss_after_a_capture_reported_success():
    """The replay of the swarm's failure (scenarios/pmem_image_swarm.yaml): a power loss right after
    a capture commits. The correct mechanism keeps every image; without persists they are gone."""
    fault = [at_point("pmem.capture.committed", hit=6)]
    good, good_v = run(fault)
    assert good_v == [] and good["images_lost"] == 0 and good["recoveries"] == 1
    bad, bad_v = run(fault, skip_persist=True)
    assert "captured_image_survives_power_loss" in bad_v
    assert bad["images_lost"] >= 3 and bad["recoveries_failed"] == 1


def test_swarm_scenario_replays_the_caught_failure_from_its_file(tmp_path):
    """The swarm scenario with the point fault of its failing seed, loaded from the file as a user would."""
    text = (ROOT / "scenarios" / "pmem_image_swarm.yaml").read_text()
    path = tmp_path / "s.yaml"
    path.write_text(text + "faults:\n  - {kind: power_loss, target: node, point: pmem.capture.committed, "
                           "hit: 19, restore_after: 536ms}\n")
    sc = load_scenario(path)
    good = run_replication(sc.resolved, 1000)
    assert good.error is None and good.violations == []
    broken = copy.deepcopy(sc.resolved)
    broken["params"]["skip_persist"] = True
    bad = run_replication(broken, 1000)
    assert "captured_image_survives_power_loss" in {v["invariant"] for v in bad.violations}


def test_skip_persist_under_eadr_is_harmless_and_eadr_pays_no_line_write_back():
    """eADR puts the caches in the persistence domain: stores are durable without a flush."""
    fault = [at_point("pmem.capture.committed", hit=6)]
    eadr = {"eadr": True}
    m, v = run(fault, skip_persist=True, pmem=eadr)
    assert v == [] and m["images_lost"] == 0
    adr, _ = run()
    fast, _ = run(pmem=eadr)
    assert fast["capture_pause_mean_s"] < adr["capture_pause_mean_s"]


def test_adr_capture_charges_the_write_back_of_its_dirty_lines():
    """Under ADR the pause grows with the dirty pages written back at the PMEM write bandwidth."""
    slow_bw = {"write_bandwidth": "100MB/s"}
    base, _ = run()
    slow, _ = run(pmem=slow_bw)
    eadr_slow, _ = run(pmem=slow_bw | {"eadr": True})
    # about 600 dirty pages per capture x 4 KiB at 100 MB/s: ~25 ms of write-back in each pause
    assert slow["capture_pause_mean_s"] > base["capture_pause_mean_s"] + 0.01
    assert eadr_slow["capture_pause_mean_s"] < base["capture_pause_mean_s"] + 0.002


def test_non_persistent_pmem_loses_its_images_at_a_power_loss_without_a_violation():
    """`pmem: {persistent: false}` with placement pmem: what survives is decided by the memory, not the setting."""
    power = [{"kind": "power_loss", "target": "node", "at": "1.95s", "restore_after": "100ms"}]
    m, v = run(power, pmem={"persistent": False})
    assert v == [] and m["images_lost"] >= 3 and m["recoveries_failed"] == 1
    kept, v2 = run(power)
    assert v2 == [] and kept["images_lost"] == 0 and kept["recoveries"] == 1


# --- the correct mechanism at every point -------------------------------------------------------------
POINTS = [p.name for p in PmemImage.fault_points
          if not p.name.startswith(("pmem.copy", "pmem.log")) and p.name != "pmem.capture.log_forced"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("scheme", ["diff_index", "full_index"])
def test_power_loss_at_each_image_point_recovers_exactly(point, scheme):
    if point == "pmem.reclaim.dropped" and scheme == "diff_index":
        pytest.skip("the difference chain merges; it never drops")
    if point.startswith("pmem.reclaim.m") or point == "pmem.reclaim.base_dropped":
        if scheme == "full_index":
            pytest.skip("the full index drops; it never merges")
    m, v = run([at_point(point, hit=4)], scheme=scheme)
    assert v == [], v
    assert m["recoveries"] == 1 and m["restores_verified"] > 0


@pytest.mark.parametrize(("point", "hit"), [("pmem.log.group_commit_start", 150),
                                           ("pmem.log.group_commit_written", 150), ("pmem.capture.log_forced", 4)])
def test_power_loss_in_the_group_commit_recovers_exactly(point, hit):
    # 7 ms: a group-commit period incommensurate with the 200 ms captures (one dividing it could, at some
    # timer phases, always flush within the capture's pause: the capture would then never force the log)
    m, v = run([at_point(point, hit=hit)], log_flush_interval="7ms")
    assert v == [], v
    assert m["recoveries"] == 1


@pytest.mark.parametrize("scheme", ["copy_dirty", "fork_snapshot", "criu_predump"])
@pytest.mark.parametrize("point", [p.name for p in PmemImage.fault_points if p.name.startswith("pmem.copy")])
def test_crash_at_each_copy_point_recovers_exactly(point, scheme):
    m, v = run([at_point(point, hit=3, kind="crash", target="process")], scheme=scheme)
    assert v == [], v
    assert m["recoveries"] == 1


def test_progress_counts_writes_and_reports_work_while_up():
    data = copy.deepcopy(BASE) | {"checks": {"stall_window": 0.5}}
    res = run_replication(scenario_from_dict(data).resolved, 3)
    assert res.metrics["stalled"] == 0 and res.error is None


def test_frames_not_written_back_at_capture_break_the_restore_after_a_power_loss(monkeypatch):
    """The oracle's side of the frames: if a capture's dirty lines were not made durable (here the
    frame contents persisted stay those of the first capture), the index survives but the pages it
    maps roll back, and recovery no longer equals memory at the failure."""
    import sim.systems.pmem_image.capture as capture

    first = {}

    def stale(frames):
        return first.setdefault("snap", frames.content.copy())

    fault = [at_point("pmem.capture.committed", hit=6)]
    monkeypatch.setattr(capture, "frames_snapshot", stale)
    _m, v = run(fault)
    assert "recovery_equals_failure_state" in v


def test_downtime_ends_with_recovery_so_running_time_counts_again():
    """A crash and recovery early in the run: once the application runs again its time counts as
    running (the copy-on-write slowdown is measured over running time, not the downtime)."""
    crash = [{"kind": "crash", "target": "process", "at": "0.9s", "restart_after": "50ms"}]
    m, v = run(crash)
    calm, _ = run()
    assert v == [] and m["recoveries"] == 1
    # about the same excess as without the crash (were the downtime never ended: three times as much)
    assert 0.5 < (m["cow_slowdown"] - 1) / (calm["cow_slowdown"] - 1) < 1.5, (m["cow_slowdown"], calm["cow_slowdown"])


def test_an_index_entry_outside_the_frame_pool_reads_as_garbage():
    """A damaged entry may point past the pool as well as below it: both read as garbage, never raise."""
    import numpy as np

    from sim.systems.pmem_image import PageFrames
    from sim.systems.pmem_image.restore import GARBAGE, content_at

    frames = PageFrames(8)
    frames.content[:] = 7
    cap = frames.capacity
    got = content_at(frames, np.array([0, cap, cap + 5, -3], dtype=np.int32))
    assert got.tolist() == [7, GARBAGE, GARBAGE, GARBAGE]
