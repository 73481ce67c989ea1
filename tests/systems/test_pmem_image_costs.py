"""pmem_image: what the write path, the pauses and a restore cost (issue 16, items 2-5).

Small runs (16 MiB of 4 KiB pages, 3 s simulated, 1 s warm-up) through the scenario loader; the
restore-cost test drives the model directly.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.core.simulation import Simulation
from sim.runner.replication import run_replication
from sim.scenario import scenario_from_dict
from sim.systems.pmem_image import PmemImage, PmemImageParams, PmemImageWorkload
from sim.systems.pmem_image.restore import restore_image

BASE = {
    "name": "pmem_image_cost_test",
    "system": "pmem_image",
    "seed": 7,
    "duration": 3.0,
    "warmup": 1.0,
    "params": {"memory_size": "16MiB", "capture_interval": "200ms", "images_retained": 4,
               "restore_probe_interval": "1s"},
    "workload": {"write_rate": "100k/s", "keys": {"dist": "zipf", "zipf_s": 0.99}},
}


def run(seed: int = 7, workload: dict | None = None, **params) -> dict:
    data = copy.deepcopy(BASE)
    data["params"].update(params)
    data["workload"].update(workload or {})
    res = run_replication(scenario_from_dict(data).resolved, seed)
    assert res.error is None, res.error
    assert res.metrics["invariant_violations"] == 0, res.violations
    return res.metrics


# --- item 2: the synchronous log's persist is on the write path ----------------------------------
def test_synchronous_log_on_a_38k_iops_ssd_saturates_at_100k_records_per_second():
    ssd = run(log_device="ssd")
    assert 0.95 * 38e3 < ssd["write_throughput_ops_s"] <= 1.01 * 38e3
    assert ssd["writes_refused"] > 0.5 * 100e3 * 2.0  # more than half the 2 s of offered writes
    # a full queue of 1,024 writes ahead at 38k/s: about 27 ms
    assert ssd["write_latency_p50_s"] > 0.8 * 1024 / 38e3


def test_synchronous_log_on_pmem_keeps_up_and_group_commit_rescues_the_ssd():
    pmem = run(scheme="copy_dirty")  # no copy-on-write stall: the write latency is the log persist
    assert pmem["write_throughput_ops_s"] > 0.97 * 100e3
    # store + clwb + sfence of a 128 B record on Optane: 90 + 10 + 62 ns
    assert pmem["write_latency_p50_s"] == pytest.approx(162e-9, rel=0.05)
    group = run(log_device="ssd", log_flush_interval="2ms")
    assert group["write_throughput_ops_s"] > 0.97 * 100e3 and group["writes_refused"] == 0
    # acknowledged at the group's commit: on average half a period plus the SSD write
    assert 0.7e-3 < group["write_latency_p50_s"] < 2.5e-3


# --- item 3: write latency includes the pauses; the queue is bounded -----------------------------
def test_stop_the_world_copy_shows_in_write_latency_and_refused_writes():
    whole = run(scheme="copy_whole")
    pause = whole["capture_pause_max_s"]
    assert whole["app_pause_fraction"] > 0.05
    assert whole["write_latency_max_s"] >= 0.9 * pause  # a write queued at the start of a copy waits it out
    # the bounded queue: nothing waits longer than a pause plus a full queue's service (and a tick)
    assert whole["write_latency_max_s"] <= pause + 1024 * 162e-9 + 2e-3
    # what a pause's arrivals beyond the queue's 1,024 are: refused, so applied + refused = offered
    assert whole["writes_refused"] > 0
    assert (whole["writes"] + whole["writes_refused"]) / 2.0 == pytest.approx(100e3, rel=0.03)


def test_copy_on_write_stalls_show_in_write_latency():
    diff = run(scheme="diff_index")
    dirty = run(scheme="copy_dirty")
    assert diff["cow_faults"] > 0 and dirty["cow_faults"] == 0
    assert diff["write_latency_p50_s"] > 10 * dirty["write_latency_p50_s"]


def test_a_smaller_write_queue_refuses_more_and_waits_less():
    deep = run(scheme="copy_whole", write_queue_depth=4096)
    shallow = run(scheme="copy_whole", write_queue_depth=64)
    assert shallow["writes_refused"] > deep["writes_refused"]
    assert shallow["write_latency_mean_s"] < deep["write_latency_mean_s"]


# --- item 4: captures on a fixed period; overruns reported ----------------------------------------
def test_captures_start_on_a_fixed_period_and_overruns_are_counted():
    sim = Simulation(seed=1, duration=4.0)
    params = PmemImageParams(memory_size=64 * 2**20, scheme="copy_whole", capture_interval=0.05,
                             restore_probe_interval=10.0)
    m = PmemImage(sim, params, PmemImageWorkload(write_rate=1e3))
    m.start()
    sim.env.run(until=4.0)
    times = np.array([cp.time for cp in m.ckpts.checkpoints])
    # a 64 MiB copy to the SSD takes ~64 ms > 50 ms: every capture overruns and the next starts on a boundary
    assert m.capture_overruns.value >= len(times) - 1 > 0
    assert np.allclose(times / 0.05, np.round(times / 0.05), atol=1e-6)
    assert np.all(np.diff(times) == pytest.approx(0.1))


# --- item 5: a difference-chain restore costs the analytic sum ------------------------------------
def test_difference_restore_time_is_entries_times_map_cost_plus_index_reads():
    sim = Simulation(seed=2, duration=10.0)
    params = PmemImageParams(memory_size=32 * 2**20, capture_interval=0.25, images_retained=6,
                             restore_probe_interval=100.0)
    m = PmemImage(sim, params, PmemImageWorkload(write_rate=5e3))
    m.start()
    sim.env.run(until=2.1)
    chain = m.chain.complete_images()
    target = chain[-1]
    assert chain[0].full and not target.full and len(chain) == 6
    # independent of ImageChain.resolve: the full base maps every page, each difference its pages
    n_pages = 32 * 2**20 // 4096
    entries = n_pages + sum(len(im.pages) for im in chain[1:])
    q = params.pmem
    index_bytes = [n_pages * params.index_entry_size] + [len(im.pages) * params.diff_entry_size for im in chain[1:]]
    expected = entries * params.entry_map_cost + sum(q.read_latency + b / q.read_bandwidth for b in index_bytes)
    out = {}

    def restore():
        t0 = sim.env.now
        out["r"] = yield from restore_image(m, target)
        out["t"] = sim.env.now - t0

    m.app.up = False  # quiet the other actors' memory traffic: the restore has the channels to itself
    sim.env.process(restore())
    sim.env.run(until=2.6)
    assert out["r"][1] == 6
    assert out["t"] == pytest.approx(expected, rel=1e-6)
    # and it is dearer than a full-index restore of the same memory by the differences' share
    full = n_pages * params.entry_map_cost + q.read_latency + n_pages * params.index_entry_size / q.read_bandwidth
    assert out["t"] > full * (1 + 0.5 * (entries - n_pages) / n_pages)


# --- item 7: the background-copy baselines --------------------------------------------------------
def test_fork_snapshot_pauses_for_the_page_table_and_pays_copy_on_write_during_the_background_copy():
    fork = run(scheme="fork_snapshot", capture_interval="1s")
    n_pages = 16 * 2**20 // 4096
    assert fork["capture_pause_max_s"] == pytest.approx(50e-6 + n_pages * 61e-9, rel=1e-6)
    # the child writes all 16 MiB to the SSD (1.05 GB/s) while the parent runs, taking copy-on-write faults
    assert fork["capture_time_mean_s"] > 16 * 2**20 / 1.05e9
    assert fork["cow_faults"] > 0 and fork["kept_version_bytes"] > 0
    whole = run(scheme="copy_whole", capture_interval="1s")
    assert whole["capture_pause_mean_s"] > 3 * fork["capture_pause_mean_s"]
    assert fork["write_latency_max_s"] < whole["write_latency_max_s"]


def test_fork_snapshot_overruns_a_period_shorter_than_its_copy():
    fork = run(scheme="fork_snapshot", capture_interval="10ms")  # a 16 MiB copy takes ~16 ms
    assert fork["capture_overruns"] > 0 and fork["capture_time_mean_s"] > 0.01


def test_criu_predump_moves_the_copy_out_of_the_pause():
    pre = run(scheme="criu_predump", capture_interval="1s")
    dirty = run(scheme="copy_dirty", capture_interval="1s")
    assert pre["captures"] > 0 and pre["cow_faults"] == 0
    assert pre["capture_time_mean_s"] > pre["capture_pause_mean_s"]
    assert pre["write_latency_p99_s"] < dirty["write_latency_p99_s"]


def run_violations(**params) -> set[str]:
    data = copy.deepcopy(BASE)
    data["params"].update(params, restore_probe_interval="300ms")
    data["workload"]["write_rate"] = "20k/s"
    res = run_replication(scenario_from_dict(data).resolved, 7)
    assert res.error is None, res.error
    return {v["invariant"] for v in res.violations}


def test_fork_snapshot_without_copy_on_write_is_caught():
    # the child reads the frames it shares with the parent: without copy-on-write it writes out later versions
    assert run_violations(scheme="fork_snapshot", capture_interval="200ms") == set()
    assert "restore_equals_oracle" in run_violations(scheme="fork_snapshot", capture_interval="200ms",
                                                     copy_on_write=False)


def test_criu_predump_without_recopying_dirtied_pages_is_caught():
    assert run_violations(scheme="criu_predump", capture_interval="200ms") == set()
    assert "restore_equals_oracle" in run_violations(scheme="criu_predump", capture_interval="200ms",
                                                     predump_recopy=False)


# --- item 8: nonsense is refused; a stuck pause and a full PMEM are reported -----------------------
@pytest.mark.parametrize(
    "params,msg",
    [
        ({"reclaim_interval": "1ns"}, "below the modelling resolution"),
        ({"index_entry_size": 1e12}, "larger than a page"),
        ({"diff_entry_size": "8KiB"}, "larger than a page"),
        ({"memory_size": "16GiB", "pmem": {"capacity": "8GiB"}}, "does not fit in the PMEM"),
    ],
)
def test_nonsense_parameters_are_refused(params, msg):
    data = copy.deepcopy(BASE)
    data["params"].update(params)
    with pytest.raises(Exception, match=msg):
        scenario_from_dict(data)


def test_a_pause_beyond_the_limit_is_a_liveness_violation():
    data = copy.deepcopy(BASE)
    data["params"].update(scheme="copy_whole", pause_limit="5ms")  # a 16 MiB copy pauses ~16 ms
    data["workload"]["write_rate"] = "5k/s"
    res = run_replication(scenario_from_dict(data).resolved, 7)
    assert "capture_pause_within_limit" in {v["invariant"] for v in res.violations}


def test_captures_fail_and_are_reported_when_the_pmem_is_full():
    # 16 MiB of pages in a 17 MiB PMEM: the first image fits, the kept versions soon leave no room
    m = run(pmem={"capacity": "17MiB"}, workload={"write_rate": "20k/s"})
    assert m["captures_failed"] > 0 and m["captures"] >= 0
    roomy = run(workload={"write_rate": "20k/s"})
    assert roomy["captures_failed"] == 0


# --- the PMEM component's ranged persist (used by the image path) ----------------------------------
def test_ranged_persist_makes_only_its_keys_durable():
    from sim.components.memory import PMEM

    sim = Simulation(seed=0, duration=1.0)
    pmem = PMEM(sim)
    pmem.put("index", 1)
    pmem.put("frames", 2)
    pmem.persist_now(["index"])
    assert pmem.durable_view() == {"index": 1}
    pmem.persist_now()  # the global persist as before
    assert pmem.durable_view() == {"index": 1, "frames": 2}


# --- item 6: the merge's index write is counted -----------------------------------------------------
def test_difference_chain_writes_at_least_the_full_index_bytes_once_merges_are_counted():
    diff = run(scheme="diff_index", workload={"write_rate": "20k/s"})
    full = run(scheme="full_index", workload={"write_rate": "20k/s"})
    # each capture of the difference chain is followed by a merge writing a full index of the successor
    assert diff["metadata_bytes_per_image"] < full["metadata_bytes_per_image"]
    assert diff["metadata_write_rate_bytes_s"] >= full["metadata_write_rate_bytes_s"]
    assert diff["reclaim_time_s"] > 0
