"""Qualitative outcomes of the persistent-memory image capture model (system `pmem_image`).

Runs are small (256 MiB of 4 KiB pages, 10k writes/s, 12 s simulated) so the file takes a few seconds.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.runner.replication import run_replication
from sim.scenario import scenario_from_dict
from sim.systems.pmem_image import (
    AppLog,
    Image,
    ImageChain,
    PageFrames,
    last_writes,
    per_write_versions,
)

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "name": "pmem_image_test",
    "system": "pmem_image",
    "seed": 5,
    "duration": 12.0,
    "warmup": 4.0,
    "params": {
        "memory_size": "256MiB",
        "capture_interval": "1s",
        "images_retained": 4,
        "restore_probe_interval": "1.5s",
    },
    "workload": {"write_rate": "10k/s", "keys": {"dist": "zipf", "zipf_s": 0.99}},
}


def run(seed: int = 5, faults: list | None = None, workload: dict | None = None, **params) -> dict:
    data = copy.deepcopy(BASE)
    data["params"].update(params)
    if workload:
        data["workload"].update(workload)
    if faults:
        data["faults"] = faults
    res = run_replication(scenario_from_dict(data).resolved, seed)
    assert res.error is None, res.error
    return res.metrics | {"_violations": res.violations}


CRASH = {"kind": "crash", "target": "process", "at": "9.3s", "restart_after": "0.2s"}
POWER = {"kind": "power_loss", "target": "node", "at": "9.3s", "restore_after": "0.5s"}


# --- the data structures --------------------------------------------------------------------------
def test_per_write_versions_and_last_writes():
    cur = np.array([0, 5, 2], dtype=np.int64)
    pages = np.array([1, 0, 1, 1, 2], dtype=np.int64)
    v = per_write_versions(cur, pages)
    assert v.tolist() == [6, 1, 7, 8, 3]
    up, uv = last_writes(pages, v)
    assert up.tolist() == [0, 1, 2] and uv.tolist() == [1, 8, 3]


def test_diff_chain_resolves_like_full_and_merge_keeps_contents():
    rng = np.random.default_rng(1)
    n = 500
    frames = PageFrames(n)
    chain = ImageChain(n)
    truth = np.zeros(n, dtype=np.int64)
    snaps = {}
    for seq in range(1, 7):
        dirty = np.flatnonzero(frames.dirty)
        full = seq == 1
        im = Image(
            seq,
            float(seq),
            0,
            frames.page_frame.copy() if full else frames.page_frame[dirty],
            pages=None if full else dirty,
        )
        im.seal()
        frames.hold(im.held)
        frames.dirty[:] = False
        chain.images.append(im)
        snaps[seq] = truth.copy()
        pages = rng.integers(0, n, 80)
        vers = per_write_versions(truth, pages)
        up, uv = last_writes(pages, vers)
        truth[up] = uv
        assert frames.write(up, uv) > 0  # pages an image keeps are copied on write
    for im in chain.images:
        res = chain.resolve(im)
        assert np.array_equal(frames.content[res.frames], snaps[im.seq])
    assert chain.resolve(chain.images[-1]).chain_length == 6
    before = frames.kept_frames
    chain.merge_oldest_into_next(frames)
    assert chain.images[0].full and frames.kept_frames < before  # the superseded versions were freed
    for im in chain.images:
        assert np.array_equal(frames.content[chain.resolve(im).frames], snaps[im.seq])


def test_log_truncate_and_unflushed_loss():
    log = AppLog()
    log.append(np.arange(5), np.ones(5, dtype=np.int64), 1.0, durable=True)
    log.append(np.arange(3), np.full(3, 2), 2.0, durable=False)
    pages, _v, times = log.lose_unflushed()
    assert pages.tolist() == [0, 1, 2] and times.tolist() == [2.0] * 3 and log.end == 5
    log.truncate(2)
    assert log.records(2, 5)[0].tolist() == [2, 3, 4]
    with pytest.raises(ValueError):
        log.records(0, 5)


# --- qualitative outcomes -----------------------------------------------------------------------
def test_image_capture_orders_of_magnitude_faster_than_copy_checkpoint():
    diff = run(scheme="diff_index")
    full = run(scheme="full_index")
    copy_whole = run(scheme="copy_whole")
    copy_dirty = run(scheme="copy_dirty")
    assert copy_whole["capture_pause_mean_s"] > 100 * diff["capture_pause_mean_s"]
    assert copy_whole["capture_pause_mean_s"] > 10 * full["capture_pause_mean_s"]
    assert copy_dirty["capture_pause_mean_s"] > 10 * diff["capture_pause_mean_s"]
    assert diff["copy_bytes_per_checkpoint"] == 0 and copy_whole["copy_bytes_per_checkpoint"] == 256 * 2**20
    for m in (diff, full, copy_whole, copy_dirty):
        assert m["invariant_violations"] == 0 and m["restores_verified"] > 0


def test_difference_index_uses_far_less_metadata():
    diff = run(scheme="diff_index")
    full = run(scheme="full_index")
    assert full["metadata_bytes_per_image"] == (256 * 2**20 // 4096) * 8
    assert diff["metadata_bytes_per_image"] < 0.3 * full["metadata_bytes_per_image"]
    assert diff["metadata_bytes_total"] < 0.6 * full["metadata_bytes_total"]
    assert diff["kept_version_bytes"] > 0 and full["kept_version_bytes"] > 0


def test_difference_restore_cost_grows_with_chain_length():
    short = run(scheme="diff_index", images_retained=2)
    long = run(scheme="diff_index", images_retained=8)
    assert long["restore_chain_length"] > short["restore_chain_length"] >= 2
    assert long["restore_time_s"] > short["restore_time_s"]
    full_short = run(scheme="full_index", images_retained=2)
    full_long = run(scheme="full_index", images_retained=8)
    assert full_short["restore_chain_length"] == full_long["restore_chain_length"] == 1
    assert full_long["restore_time_s"] == pytest.approx(full_short["restore_time_s"], rel=0.05)
    assert long["restore_time_s"] > full_long["restore_time_s"]


@pytest.mark.parametrize("scheme", ["full_index", "diff_index"])
def test_power_loss_dram_placement_loses_images_that_pmem_keeps(scheme):
    dram = run(scheme=scheme, placement="dram", faults=[POWER])
    pmem = run(scheme=scheme, placement="pmem", faults=[POWER])
    mixed = run(scheme=scheme, placement="mixed", faults=[POWER])
    assert dram["images_lost"] >= 4 and dram["recoveries_failed"] == 1 and dram["recoveries"] == 0
    for m in (pmem, mixed):
        assert m["images_lost"] == 0 and m["recoveries"] == 1 and m["recoveries_failed"] == 0
        assert m["rpo_s"] < 1.5 and m["rpo_with_log_s"] == 0.0
    for m in (dram, pmem, mixed):
        assert m["invariant_violations"] == 0, m["_violations"]


def test_copy_checkpoints_survive_power_loss():
    m = run(scheme="copy_dirty", placement="dram", faults=[POWER])
    assert m["recoveries"] == 1 and m["images_lost"] == 0 and m["invariant_violations"] == 0


@pytest.mark.parametrize(
    "scheme", ["full_index", "diff_index", "copy_whole", "copy_dirty", "fork_snapshot", "criu_predump"]
)
def test_crash_recovery_equals_memory_at_failure(scheme):
    m = run(scheme=scheme, faults=[CRASH])
    assert m["recoveries"] == 1 and m["invariant_violations"] == 0, m["_violations"]
    assert m["recovery_time_s"] > m["log_replay_time_s"] > 0
    assert m["rpo_s"] > 0 and m["rpo_with_log_s"] == 0.0


def test_group_commit_loses_unacknowledged_writes_without_violation():
    m = run(scheme="diff_index", log_flush_interval="50ms", faults=[CRASH])
    assert m["writes_lost"] > 0 and 0 < m["rpo_with_log_s"] <= 0.06
    assert m["invariant_violations"] == 0, m["_violations"]


@pytest.mark.parametrize("scheme", ["full_index", "diff_index", "copy_dirty"])
def test_group_commit_crash_right_after_a_capture_recovers_exactly(scheme):
    # the captures at 9 s (copy_dirty: its dirty copy at 10 s; the one at 9 s is a whole copy) complete a
    # few ms later; the 50 ms group commit has not yet persisted the records before them: the capture must
    # force them durable (else recovery resurrects lost writes)
    for at in ("10.035s", "10.045s") if scheme == "copy_dirty" else ("9.02s", "9.04s"):
        m = run(scheme=scheme, log_flush_interval="50ms", faults=[{**CRASH, "at": at}])
        assert m["recoveries"] == 1 and m["writes_lost"] > 0
        assert m["invariant_violations"] == 0, (at, m["_violations"])


def test_node_crash_loses_images_kept_in_dram_but_not_in_pmem():
    node = {**CRASH, "target": "node"}
    dram_process = run(scheme="diff_index", placement="dram", faults=[CRASH])
    dram_node = run(scheme="diff_index", placement="dram", faults=[node])
    pmem_node = run(scheme="diff_index", placement="pmem", faults=[node])
    assert dram_process["images_lost"] == 0 and dram_process["recoveries"] == 1
    assert dram_node["images_lost"] >= 4 and dram_node["recoveries_failed"] == 1
    assert pmem_node["images_lost"] == 0 and pmem_node["recoveries"] == 1
    for m in (dram_process, dram_node, pmem_node):
        assert m["invariant_violations"] == 0, m["_violations"]


CORRUPT = {"kind": "corrupt_data", "target": "image_index", "at": "8.2s", "image": "latest", "entries": 200}


@pytest.mark.parametrize("scheme", ["full_index", "diff_index", "copy_dirty"])
def test_index_corruption_is_detected_and_recovery_falls_back(scheme):
    m = run(scheme=scheme, faults=[CORRUPT, {**CRASH, "at": "8.25s"}])
    assert m["corruption_detected"] >= 1
    assert m["recoveries"] == 1 and m["invariant_violations"] == 0, m["_violations"]
    assert m["rpo_s"] > 1.0  # recovery had to start from an image older than the damaged newest one


def test_broken_variant_trusting_damaged_index_is_caught():
    m = run(scheme="diff_index", verify_checksums=False, faults=[CORRUPT, {**CRASH, "at": "8.25s"}])
    assert m["corruption_detected"] == 0
    assert m["invariant_violations"] > 0
    assert {v["invariant"] for v in m["_violations"]} & {
        "recovery_equals_failure_state",
        "restore_equals_oracle",
    }


@pytest.mark.parametrize("scheme", ["full_index", "diff_index"])
def test_broken_variant_without_copy_on_write_is_caught(scheme):
    m = run(scheme=scheme, copy_on_write=False)
    assert m["cow_faults"] == 0
    assert m["invariant_violations"] > 0
    assert {v["invariant"] for v in m["_violations"]} & {"restore_equals_oracle", "clone_equals_oracle"}


def test_copy_on_write_slows_the_application_only_for_images():
    diff = run(scheme="diff_index")
    copy_dirty = run(scheme="copy_dirty")
    assert diff["cow_faults"] > 0 and diff["cow_slowdown"] > 1.0
    assert copy_dirty["cow_faults"] == 0 and copy_dirty["cow_slowdown"] == 1.0


def test_incremental_copy_restore_reads_each_page_once():
    # a restore of a whole copy + increments reads every page once (from the newest checkpoint
    # holding it), not the superseded copies too: about the cost of restoring a whole copy
    whole = run(scheme="copy_whole")
    dirty = run(scheme="copy_dirty")
    assert dirty["restore_chain_length"] > 2
    assert dirty["restore_time_s"] == pytest.approx(whole["restore_time_s"], rel=0.05)
    assert dirty["restore_time_s"] >= whole["restore_time_s"]  # plus the increments' page maps


def test_object_store_copy_is_slower_than_ssd_copy():
    ssd = run(scheme="copy_whole")
    s3 = run(scheme="copy_whole", copy_target="object_store")
    assert s3["capture_pause_mean_s"] > ssd["capture_pause_mean_s"]
    assert s3["invariant_violations"] == 0 and s3["restores_verified"] > 0


def test_same_seed_same_metrics_other_seed_differs():
    a = run(seed=9, faults=[CRASH])
    b = run(seed=9, faults=[CRASH])
    c = run(seed=10, faults=[CRASH])
    a.pop("_violations"), b.pop("_violations"), c.pop("_violations")
    assert a == pytest.approx(b, nan_ok=True)
    assert a["writes"] != c["writes"]


# --- bad input ----------------------------------------------------------------------------------
BAD_CASES = [
    ("memory_size: 10000", "params.memory_size", "whole number of pages"),
    ("scheme: diff", "params.scheme", "Input should be"),
    ("capture_interval: -1s", "params.capture_interval", ""),
    ("images_retained: 0", "params.images_retained", ""),
    ("placement: nvme", "params.placement", ""),
    ("memory_size: 1PiB", "params.memory_size", "at most"),
]


@pytest.mark.parametrize("line,path,msg", BAD_CASES)
def test_bad_params_report_file_and_line(tmp_path, capsys, line, path, msg):
    f = tmp_path / "bad.yaml"
    f.write_text(f"name: bad\nsystem: pmem_image\nduration: 5s\nparams:\n  page_size: 4KiB\n  {line}\n")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:6: {path}:" in err and msg in err


def test_bad_fault_target_is_reported(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "name: bad\nsystem: pmem_image\nduration: 5s\nfaults:\n"
        "  - kind: power_loss\n    target: image_index\n    at: 1s\n"
    )
    assert main(["validate", str(f)]) == 2
    assert "cannot take fault 'power_loss'" in capsys.readouterr().err


def test_scenario_files_validate():
    files = sorted((ROOT / "scenarios").glob("pmem_image*.yaml"))
    assert len(files) >= 2
    assert main(["validate", *map(str, files)]) == 0


# --- the kit contract: violation count, fault targets --------------------------------------------
def test_invariant_violations_is_the_true_count_of_the_violation_log():
    # the broken variant breaks every restore and clone: far more than the 20 details kept
    data = copy.deepcopy(BASE)
    data["params"].update(copy_on_write=False, restore_probe_interval="0.25s")
    res = run_replication(scenario_from_dict(data).resolved, 5)
    assert res.error is None, res.error
    assert res.metrics["invariant_violations"] > 25
    assert len(res.violations) <= 20
    assert all(v["invariant"] != "more_violations" for v in res.violations)


def test_fault_targets_carry_their_kinds_and_check_their_params():
    from sim.core.simulation import Simulation
    from sim.systems.pmem_image import PmemImage, PmemImageParams

    system = PmemImage(Simulation(seed=0, duration=1.0), PmemImageParams(memory_size=2**20))
    targets = system.fault_targets()
    with pytest.raises(ValueError, match="^image: "):
        targets["image_index"].check_fault_params("corrupt_data", {"image": "newest"})
    with pytest.raises(ValueError, match="^entries: "):
        targets["image_index"].check_fault_params("corrupt_data", {"entries": 0})
    assert targets["process"].fault_kinds == ("crash",)
    assert set(targets["node"].fault_kinds) == {"crash", "power_loss"}
    assert targets["image_index"].fault_kinds == ("corrupt_data",)
    assert not hasattr(system, "fault_kinds") and not hasattr(system, "check_fault_params")
    from sim.core.fault_target import FaultTarget

    assert all(isinstance(t, FaultTarget) for t in targets.values())


def test_node_and_process_faults_nest_recovery_after_the_last_heals():
    # a node power loss (9.3 s, 2 s) overlapped by a process crash (9.5 s, 0.2 s): one recovery, after 11.3 s
    power = {**POWER, "restore_after": "2s"}
    crash = {**CRASH, "at": "9.5s"}
    m = run(scheme="diff_index", faults=[power, crash])
    assert m["recoveries"] == 1 and m["invariant_violations"] == 0, m["_violations"]
    alone = run(scheme="diff_index", faults=[power])
    assert m["writes"] == alone["writes"]  # the shorter crash did not end the outage early
