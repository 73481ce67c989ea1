"""cdp_streams fidelity (issue 17): the recovery starts at the site loss it describes, do records carry
their payload (a do-path payload error is caught), the recovery instant is randomised over the apply
cycle and each recovery is measured alone, and the do-stream client sustains the shard's write limit.

Runs use a small configuration (1 GiB volume, 5 writes/s, under an hour simulated): a second or two each.
"""

from __future__ import annotations

import math

import pytest

from sim.runner.replication import run_replication
from sim.scenario import scenario_from_dict


def scenario(variant: str = "do_undo", duration: str = "45min", faults: list | None = None, **params) -> dict:
    p = {"variant": variant, "apply_interval": "10min", "volume": {"capacity": "1GiB"},
         "journal": {"capacity": "4GiB"}, "chunk_size": "1MiB", "past_points": 2}
    p.update(params)
    return {"name": f"cdp_fidelity_{variant}", "system": "cdp_streams", "seed": 3, "duration": duration,
            "params": p, "workload": {"arrivals": {"kind": "poisson", "rate": "5/s"}}, "faults": faults or []}


def run(data: dict, seed: int = 3):
    res = run_replication(scenario_from_dict(data).resolved, seed)
    assert res.error is None, res.error
    return res


SITE_LOSS = [{"kind": "crash", "target": "production", "at": "35min"}]


# --- item 1: the recovery starts at the site loss, not at a drill before it ------------------------
@pytest.mark.parametrize("variant", ["do_undo", "appliance"])
def test_a_scheduled_site_loss_is_recovered_at_the_loss_not_by_an_earlier_drill(variant):
    # the default drill would fall within the apply interval before 3/4 of the run (<= 33.75 min),
    # before the loss at 35 min: with a permanent loss scheduled there is no drill by default
    res = run(scenario(variant, faults=SITE_LOSS))
    started = [e for e in res.events if e["event"] == "recovery_started"]
    assert [e["reason"] for e in started] == ["disaster"], started
    assert started[0]["time_s"] == pytest.approx(35 * 60)
    m = res.metrics
    assert m["disaster"] == 1 and m["recovery_start_s"] == pytest.approx(35 * 60)
    assert m["latest_recovered"] == 1 and m["recoveries_verified"] == 3 and m["recoveries_unfinished"] == 0
    assert m["invariant_violations"] == 0


def test_without_a_site_loss_the_default_drill_runs_within_the_apply_cycle_before_three_quarters():
    starts = {run(scenario(), seed=s).metrics["recovery_start_s"] for s in (3, 4, 5)}
    assert all(0.75 * 2700 - 600 <= t < 0.75 * 2700 for t in starts), starts
    assert len(starts) == 3  # drawn per replication


# --- item 4: do records carry (blocks, versions); apply and roll-forward use them -----------------
@pytest.mark.parametrize("variant", ["periodic_apply", "do_undo", "chunks", "appliance"])
def test_a_broken_do_record_encoder_is_caught(variant):
    """BROKEN on purpose: the splitter leaves the last block of multi-block writes out of the record.
    The replica and every volume rolled forward miss those blocks, and the oracle (the production
    writes, not the records) sees it."""
    good = run(scenario(variant, recovery_at="30min"))
    assert good.metrics["invariant_violations"] == 0, good.violations
    bad = run(scenario(variant, recovery_at="30min", truncate_do_payload=True))
    invariants = {v["invariant"] for v in bad.violations}
    assert "replica_equals_oracle_at_applied" in invariants, bad.violations
    assert bad.metrics["invariant_violations"] >= 2


def test_a_do_record_damaged_in_the_stream_is_caught(monkeypatch):
    """A payload error on the do path (here: every do record read from the stream has its last
    entry one version old) reaches the replica and the recovered volumes and must be detected. While
    apply and roll-forward took block versions from the oracle's own write log, no payload error
    could ever show (this test failed: no violation)."""
    import dataclasses

    from sim.components.cloud.stream import StreamService

    real = StreamService.get_records

    def damaged(self, shard, after_seq=None, max_records=None):
        recs = yield from real(self, shard, after_seq, max_records)
        if self.name != "stream":
            return recs
        out = []
        for r in recs:
            v = r.value
            if hasattr(v, "versions") and len(v.versions):
                versions = v.versions.copy()
                versions[-1] -= 1
                r = dataclasses.replace(r, value=dataclasses.replace(v, versions=versions))
            out.append(r)
        return out

    monkeypatch.setattr(StreamService, "get_records", damaged)
    bad = run(scenario("do_undo", recovery_at="30min"))
    assert bad.metrics["invariant_violations"] > 0
    assert {"replica_equals_oracle_at_applied", "recovered_volume_equals_oracle"} & {
        v["invariant"] for v in bad.violations}


# --- item 3: the do-stream client sustains the shard's write limit -------------------------------
def overload(rate: str) -> dict:
    d = scenario("periodic_apply", duration="12min", past_points=0, recovery_at="11min")
    d["workload"]["arrivals"]["rate"] = rate
    return d


def test_an_overloaded_do_stream_runs_at_its_write_limit_and_warns():
    """1.3x the shard's 1 MiB/s offered (70 writes/s of ~18.5 KiB): the paced producer keeps the
    shard busy at its limit (the backoff-only client of before reached 0.76 of it) and the
    capacity alarm fires; at 0.35x it stays quiet."""
    from sim.runner.replication import build

    sc = scenario_from_dict(overload("70/s"))
    sim, system = build(sc.resolved, 3)
    system.start()
    sim.run()
    limit = system.params.stream.write_bytes_per_shard
    assert system.stream.put_bytes / sim.env.now > 0.97 * limit
    m = system.metrics()
    assert m["do_stream_utilisation"] > 0.97 and m["do_offered_load_max_ratio"] > 1.2
    assert m["do_load_warnings"] >= 5
    assert any(e["event"] == "do_stream_near_limit" and e["shards_needed"] == 2 for e in sim.events)
    calm = run(overload("20/s")).metrics
    assert calm["do_load_warnings"] == 0 and calm["do_stream_utilisation"] == pytest.approx(
        calm["do_offered_bytes_s"] / limit, rel=0.01)
    assert calm["rpo_p99_s"] < 0.5


# --- item 8: metrics that measured nothing are NaN, and points are counted alike --------------------
def test_any_point_recoverable_is_nan_when_no_past_point_was_tried():
    none_drawn = run(scenario("do_undo", duration="25min", past_points=0, recovery_at="20min")).metrics
    assert math.isnan(none_drawn["any_point_recoverable"]) and none_drawn["latest_recovered"] == 1
    no_recovery = run(scenario("do_undo", duration="25min", recovery_at="2h")).metrics
    assert math.isnan(no_recovery["any_point_recoverable"]) and math.isnan(no_recovery["rto_latest_s"])


def test_periodic_apply_counts_only_the_snapshots_of_the_protection_window():
    m = run(scenario("periodic_apply", duration="25min", recovery_at="20min", protection_window="12min")).metrics
    # snapshots at 10 and 20 min: only the one at 20 min (and the latest point) lie in the last 12 min
    assert m["recoverable_points"] == 2


# --- item 2: each recovery measured alone --------------------------------------------------------
def recoveries(**params):
    from sim.runner.replication import build

    sc = scenario_from_dict(scenario("do_undo", recovery_at="20min", past_points=3, **params))
    sim, system = build(sc.resolved, 3)
    system.start()
    sim.run()
    assert not system.violations()
    return system.recoveries


def test_recoveries_run_one_after_another_each_alone_unless_asked_to_overlap():
    alone = recoveries()
    assert [r.kind for r in alone] == ["latest", "past", "past", "past"] and all(r.ok for r in alone)
    for a, b in zip(alone, alone[1:], strict=False):
        assert b.started >= a.started + a.rto - 1e-9  # the next drill starts once the previous is done
    together = recoveries(concurrent_recoveries=True)
    assert len({r.started for r in together}) == 1
    # sharing the do/undo streams' read limits (5 calls/s, 2 MiB/s per shard) slows each one down
    assert sum(r.rto for r in together) > sum(r.rto for r in alone)
    assert [r.target_seq for r in together] == [r.target_seq for r in alone]  # same points drawn
