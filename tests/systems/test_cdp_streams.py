"""cdp_streams: qualitative outcomes, the oracle invariant, faults, determinism and bad input.

Runs use a small configuration (1 GiB volume, 5 writes/s, 40 simulated minutes, applies every
10 min) so the whole file takes a few seconds.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sim.cli import main as cli_main
from sim.runner.replication import build, run_replication
from sim.scenario import load_scenario, scenario_from_dict
from sim.systems.cdp_streams.data import (
    WriteLog,
    capture_undo,
    roll_back,
    roll_forward,
    same_state,
    state_of_dict,
)

ROOT = Path(__file__).resolve().parents[2]


def small(variant: str, **params) -> dict:
    p = {
        "variant": variant,
        "apply_interval": "10min",
        "volume": {"capacity": "1GiB"},
        "journal": {"capacity": "4GiB"},
        "chunk_size": "1MiB",
        "past_points": 3,
        "recovery_at": "30min",
    }
    p.update(params)
    return {
        "name": f"cdp_test_{variant}",
        "system": "cdp_streams",
        "seed": 3,
        "duration": "40min",
        "params": p,
        "workload": {"arrivals": {"kind": "poisson", "rate": "5/s"}},
    }


def run(data: dict, seed: int = 3) -> tuple[dict, list]:
    sc = scenario_from_dict(data)
    res = run_replication(sc.resolved, seed)
    assert res.error is None, res.error
    return res.metrics, res.violations


@pytest.fixture(scope="module")
def variants() -> dict[str, dict]:
    return {v: run(small(v))[0] for v in ("periodic_apply", "do_undo", "chunks", "appliance")}


def test_stream_variants_cost_a_fraction_of_the_appliance_but_recover_slower(variants):
    app = variants["appliance"]
    for v in ("periodic_apply", "do_undo", "chunks"):
        m = variants[v]
        assert m["monthly_cost_usd"] < 0.5 * app["monthly_cost_usd"], v
        assert m["rto_latest_s"] > app["rto_latest_s"], v
    # the appliance pays for an always-on instance; the stream variants for shards and short runs
    assert app["monthly_cost_compute_usd"] > 5 * variants["do_undo"]["monthly_cost_compute_usd"]
    assert variants["do_undo"]["monthly_cost_stream_shards_usd"] > 0
    assert app["monthly_cost_stream_shards_usd"] == 0


def test_every_apply_run_is_timed(variants):
    for v in ("periodic_apply", "do_undo", "chunks"):
        assert 0 < variants[v]["apply_duration_mean_s"] < 600, v


def test_do_undo_reaches_any_point_periodic_apply_only_snapshots(variants):
    for v in ("do_undo", "chunks", "appliance"):
        m = variants[v]
        assert m["past_points_recovered"] == 3 and m["past_points_exact"] == 3, v
        assert m["recovery_point_gap_s"] == 0
        assert m["any_point_recoverable"] == 1
    per = variants["periodic_apply"]
    assert per["past_points_recovered"] == 3
    assert per["past_points_exact"] == 0
    assert per["recovery_point_gap_s"] > 0
    assert per["any_point_recoverable"] == 0
    assert per["recoverable_points"] < 10 < variants["do_undo"]["recoverable_points"]


def test_every_recovered_volume_equals_the_oracle(variants):
    for v, m in variants.items():
        assert m["recoveries_verified"] == 4, v  # latest + 3 past points, each compared block by block
        assert m["invariant_violations"] == 0, v
        assert m["data_lost_bytes"] == 0 and m["records_expired"] == 0, v


def retention(variant: str, interval: str, **params) -> dict:
    """The shortest retention Kinesis allows (24 h) with applies every `interval`: 27 h at a low write
    rate (0.05 writes/s: few events, so the day-long run stays fast), the drill at 26.5 h."""
    d = small(variant, apply_interval=interval, stream={"retention": "24h"}, recovery_at="26.5h", **params)
    d["duration"] = "27h"
    d["workload"] = {"arrivals": {"kind": "poisson", "rate": "0.05/s"}}
    return d


@pytest.mark.parametrize("variant", ["do_undo", "chunks", "periodic_apply"])
def test_apply_interval_beyond_retention_loses_data_and_says_so(variant):
    ok, _ = run(retention(variant, "10h"))
    assert ok["writes_lost"] == 0 and ok["data_lost_bytes"] == 0 and ok["latest_recovered"] == 1
    lost, viol = run(retention(variant, "26h"))  # the first apply, at 26 h: the first 2 h expired unread
    assert lost["records_expired"] > 0
    assert lost["writes_lost"] > 0 and lost["data_lost_bytes"] > 0
    assert lost["any_point_recoverable"] == 0
    assert lost["latest_recovered"] == 0  # not claimed: the replica misses writes
    assert lost["invariant_violations"] == 0 and not viol


@pytest.mark.parametrize("variant", ["do_undo", "chunks", "periodic_apply"])
def test_expiry_at_the_tail_with_nothing_after_it_is_reported(variant):
    # production stops at 5 min (restarts only after the run); the first apply at 25 h finds every
    # do record expired (24 h retention, the Kinesis minimum) and no later record to reveal the gap:
    # still a loss
    m, viol = run_with_faults(variant, [(300.0, None, "crash", "production", {"restart_after": 1e6})],
                              apply_interval="25h", stream={"retention": "24h"}, recovery_at="26h",
                              duration="27h")
    assert m["disaster"] == 0 and m["apply_runs"] >= 1
    assert m["records_expired"] > 0
    assert m["writes_lost"] == m["writes"] > 0 and m["data_lost_bytes"] > 0
    assert m["latest_recovered"] == 0 and m["past_points_recovered"] == 0
    assert m["past_points_not_recoverable"] == 3
    assert m["any_point_recoverable"] == 0 and m["recoverable_points"] == 0
    assert not viol


def test_hidden_expiry_is_caught_by_the_invariant():
    m, viol = run(retention("do_undo", "26h", detect_expiry=False))
    assert m["writes_lost"] > 0
    assert m["invariant_violations"] > 0
    assert viol[0]["invariant"] == "recovered_volume_equals_oracle"


def test_skipping_undo_capture_is_caught_by_the_invariant():
    m, viol = run(small("do_undo", undo_capture=False))
    assert m["invariant_violations"] > 0  # roll-back finds no undo data: the volume is not the one at T
    assert all(v["invariant"] == "recovered_volume_equals_oracle" for v in viol)


def test_deterministic():
    a, _ = run(small("chunks"))
    b, _ = run(small("chunks"))
    assert a.keys() == b.keys()
    for k in a:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k
    c, _ = run(small("chunks"), seed=4)
    assert c["writes"] != a["writes"] or c["rto_past_s"] != a["rto_past_s"]


# --- faults, injected by test processes with stand-in fault objects -------------------------------
def run_with_faults(variant: str, faults: list[tuple[float, float | None, str, str, dict]],
                    duration: str | None = None, **params):
    d = small(variant, **params)
    if duration is not None:
        d["duration"] = duration
    sc = scenario_from_dict(d)
    sim, system = build(sc.resolved, 3)
    for at, dur, kind, target, fp in faults:
        fault = SimpleNamespace(kind=kind, target=target, params=fp)

        def strike(at=at, dur=dur, fault=fault):
            yield sim.env.timeout(at)
            system.inject(fault)
            if dur is not None:
                yield sim.env.timeout(dur)
                system.heal(fault)

        sim.env.process(strike())
    system.start()
    sim.run()
    return system.metrics(), system.violations()


def test_stream_throttling_delays_but_loses_nothing():
    base, _ = run(small("do_undo"))
    m, viol = run_with_faults("do_undo", [(300.0, 300.0, "throttle", "stream", {"factor": 0.05})])
    assert m["put_retries"] > 0
    assert m["rpo_p99_s"] > 10 * base["rpo_p99_s"]
    assert m["writes_lost"] == 0 and m["recoveries_verified"] == 4 and not viol


def test_instance_failing_to_start_delays_the_apply():
    m, viol = run_with_faults("periodic_apply", [(500.0, 900.0, "outage", "instance", {})])
    assert m["instance_failed_starts"] > 0
    assert m["apply_lag_max_s"] > 1200.0
    assert m["recoveries_verified"] == 4 and not viol


def test_object_store_errors_are_retried():
    m, viol = run_with_faults("chunks", [(630.0, 120.0, "outage", "object_store", {}),
                                         (1230.0, 120.0, "throttle", "object_store", {"factor": 0.01})])
    assert m["object_errors"] > 0
    assert m["recoveries_verified"] == 4 and not viol


def test_lost_chunk_object_is_detected_not_recovered_wrongly():
    m, viol = run_with_faults("chunks", [(900.0, None, "lose_data", "object_store", {"count": 1})])
    assert m["chunks_unreadable"] > 0 or m["past_points_not_recoverable"] > 0
    assert not viol
    # an apply that could not read a chunk commits nothing and keeps its stream position: the do
    # records are read again, never reported as lost from the stream
    assert m["writes_lost"] == 0 and m["records_expired"] == 0


@pytest.mark.parametrize("variant", ["periodic_apply", "do_undo", "chunks", "appliance"])
def test_loss_of_the_production_site_recovers_latest_durable_point(variant):
    m, viol = run_with_faults(variant, [(1500.0, None, "crash", "production", {"restart_after": None})])
    assert m["disaster"] == 1
    assert m["latest_recovered"] == 1 and m["recoveries_verified"] == 4
    assert m["rpo_at_disaster_s"] < 1.0
    assert not viol


# --- the version algebra itself ------------------------------------------------------------------
def test_roll_back_and_forward_match_the_oracle_on_random_writes():
    rng = np.random.default_rng(0)
    log = WriteLog(capacity=4)
    n = 400
    log.append(np.sort(rng.uniform(0, 100, n)), rng.integers(0, 50, n), rng.integers(1, 4, n), np.ones(n))
    vol: dict = {}
    undo = []
    for lo in range(1, n + 1, 37):  # applied in batches, undo captured before each
        hi = min(n, lo + 36)
        blocks, versions = log.expand(lo, hi)
        undo.append(capture_undo(lo, hi, blocks, versions, vol))
        roll_forward(vol, log, lo, hi)
    assert same_state(state_of_dict(vol), log.state(n))[0]
    for target in (0, 1, 17, 200, 399):
        back = dict(vol)
        roll_back(back, undo, target)
        assert same_state(state_of_dict(back), log.state(target))[0], target
    wrong = dict(vol)
    roll_back(wrong, undo[1:], 10)  # missing the first batch's undo: must differ
    assert not same_state(state_of_dict(wrong), log.state(10))[0]


# --- scenario files and bad input -----------------------------------------------------------------
def test_scenarios_validate():
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("cdp_*.yaml"))
    assert len(files) >= 3
    assert cli_main(["validate", *files]) == 0


@pytest.mark.parametrize("line,expect", [
    ("  chunk_size: 3000B", "chunk_size must be a multiple of block_size"),
    ("  apply_interval: 4KiB", "apply_interval"),
    ("  varient: do_undo", "did you mean 'variant'"),
    ("  variant: continuous", "variant"),
])
def test_bad_params_are_reported_with_file_and_line(tmp_path, capsys, line, expect):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nsystem: cdp_streams\nduration: 1h\nparams:\n  past_points: 1\n" + line + "\n")
    assert cli_main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:" in err and expect in err
    assert ":6:" in err or ":4:" in err


@pytest.mark.parametrize("value", ["15min", "3650d"])
def test_stream_retention_outside_the_kinesis_range_is_a_located_error(tmp_path, capsys, value):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nsystem: cdp_streams\nduration: 1h\nparams:\n  stream:\n"
                 f"    retention: {value}\n")
    assert cli_main(["validate", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{f}:6: params.stream.retention: ") and "24 h (86,400 s) to 8,760 h" in err[0]


def test_chunks_drill_during_an_apply_commit_still_recovers():
    # the drill starts ~30 s before the 10-minute apply commits (new chunk keys, old ones collected):
    # the objects the recovery took over must stay readable until it has fetched them
    m, viol = run(small("chunks", recovery_at="700s"))
    assert m["chunks_unreadable"] == 0
    assert m["latest_recovered"] == 1 and m["past_points_recovered"] == 3
    assert m["recoveries_verified"] == 4 and not viol


def test_any_point_recoverable_is_not_claimed_when_past_points_fail():
    # undo records lost: past points before the loss are refused, so "any point" no longer holds
    m, viol = run_with_faults("do_undo", [(1700.0, None, "lose_data", "undo_stream", {})])
    assert m["past_points_not_recoverable"] > 0 and not viol
    assert m["any_point_recoverable"] == 0
    # broken undo capture: the past points come back wrong (invariant), not "any point in time"
    m, _ = run(small("do_undo", undo_capture=False))
    assert m["invariant_violations"] > 0
    assert m["any_point_recoverable"] == 0


@pytest.mark.parametrize("variant", ["periodic_apply", "do_undo", "chunks"])
def test_monthly_cost_does_not_depend_on_idle_time_after_a_site_loss(variant):
    # usage costs are divided by the span the completed applies protect, not by the run: losing the
    # site at 25 min of a 40 min run (nothing left to apply after it) must not make protection cheaper
    calm, _ = run(small(variant, past_points=0))
    lost, _ = run_with_faults(variant, [(1500.0, None, "crash", "production", {"restart_after": None})],
                              past_points=0)
    for k in ("monthly_cost_compute_usd", "monthly_cost_usd"):
        assert lost[k] == pytest.approx(calm[k], rel=0.08), k


# --- faults through the scenario schema ----------------------------------------------------------
SLOW_WAN = """\
name: cdp_slow_wan
system: cdp_streams
seed: 3
duration: 40min
params:
  variant: do_undo
  apply_interval: 10min
  volume: {capacity: 1GiB}
  past_points: 1
  recovery_at: 30min
workload:
  arrivals: {kind: poisson, rate: 5/s}
faults:
  - {kind: slow_link, target: wan, at: 1min, duration: 20min, latency_factor: 5}
"""


def test_slow_link_on_the_wan_through_a_scenario_degrades_the_wan(tmp_path):
    # the fault is resolved by the scenario schema (unset keys such as `latency` / `bandwidth` are
    # None there): a generic Link must take it, and the splitter must feel the 5x latency
    f = tmp_path / "slow_wan.yaml"
    f.write_text(SLOW_WAN)
    sc = load_scenario(f)
    slow = [run_replication(sc.resolved, seed) for seed in (3, 4)]
    for res in slow:
        assert res.error is None, res.error
    calm = run_replication(load_scenario(f, {"faults": []}).resolved, 3)
    assert calm.error is None, calm.error
    # 20 of the 40 minutes at 25 ms instead of 5 ms one way: every put of that span is 20 ms later
    assert slow[0].metrics["rpo_mean_s"] > calm.metrics["rpo_mean_s"] + 0.005
    assert slow[0].metrics["rpo_max_s"] > calm.metrics["rpo_max_s"]
    assert slow[0].metrics["invariant_violations"] == 0


def test_a_restartable_crash_during_a_site_loss_does_not_bring_the_site_back(tmp_path):
    # faults on `production` nest (it is a kit Host): the site lost at 10 min stays down although a
    # second crash at 15 min heals (restart_after 2 min) — no write is issued after the loss
    f = tmp_path / "site_loss.yaml"
    f.write_text(SLOW_WAN.replace("  - {kind: slow_link, target: wan, at: 1min, duration: 20min, latency_factor: 5}",
                                  "  - {kind: crash, target: production, at: 10min}"))
    lost = run_replication(load_scenario(f).resolved, 3)
    both = run_replication(load_scenario(f, {"faults": [
        {"kind": "crash", "target": "production", "at": "10min"},
        {"kind": "crash", "target": "production", "at": "15min", "restart_after": "2min"}]}).resolved, 3)
    assert lost.error is None and both.error is None, (lost.error, both.error)
    assert both.metrics["disaster"] == 1
    assert both.metrics["writes"] == lost.metrics["writes"]


def test_a_recovery_still_running_at_the_end_is_reported_not_converged():
    data = small("do_undo", recovery_at="39min")  # the recovery instances boot for 40 s: still running at 40 min
    sc = scenario_from_dict(data)
    res = run_replication(sc.resolved, 3)
    assert res.error is None, res.error
    assert res.metrics["recoveries_unfinished"] == 4
    sim, system = build(sc.resolved, 3)
    system.start()
    sim.run()
    assert system.converged() == "4 recoveries still running at the end of the run"


@pytest.mark.parametrize("variant", ["do_undo", "chunks"])
def test_two_shards_roll_forward_in_write_order(variant):
    """Records of two shards arrive interleaved; the apply and the roll-forward order them by write."""
    m, viol = run(small(variant, stream={"shards": 2}, recovery_at="35min"))
    assert not viol
    assert m["latest_recovered"] == 1 and m["recoveries_verified"] == 4


def test_appliance_journal_window_drops_the_oldest_undo_and_refuses_older_points():
    m, viol = run(small("appliance", journal_window="10min", past_points=8))
    assert not viol
    assert m["past_points_not_recoverable"] > 0 and m["past_points_exact"] > 0


def test_an_apply_that_cannot_read_a_chunk_keeps_its_stream_position():
    """Every version of chunk 0 (hot) lost, no repair: each later apply fails to read it and commits
    nothing; its records are read again, never skipped (which would show as writes lost from the
    stream). The chunk is counted once (distinct damaged chunks); with repair see test_cdp_streams_limits."""
    m, viol = run_with_faults("chunks", [(900.0, None, "lose_data", "object_store", {"prefix": "chunks/0000000/"})],
                              chunk_repair=False)
    assert m["chunks_unreadable"] == 1 and m["latest_recovered"] == 0 and m["apply_runs"] >= 2
    assert m["writes_lost"] == 0 and m["records_expired"] == 0
    assert not viol


def test_chunks_undo_archive_reaches_every_past_point():
    """The undo segment of an epoch starts at the epoch's first write, whatever GetRecords round it came in."""
    m, viol = run(small("chunks", past_points=12, concurrent_recoveries=True))
    assert not viol
    assert m["past_points_recovered"] == 12 and m["past_points_exact"] == 12


def test_two_shards_site_loss_rolls_forward_to_the_last_record():
    """After a site loss no record follows the last one: the roll-forward stops at each shard's tip."""
    m, viol = run_with_faults("do_undo", [(1500.0, None, "crash", "production", {})], stream={"shards": 2})
    assert not viol
    assert m["latest_recovered"] == 1 and m["recoveries_unfinished"] == 0
