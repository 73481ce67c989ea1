"""cdp_streams, appliance baseline: the journal's hard limit (issue 17, item 7).

The journal holds the do data not yet applied and the undo history of the checkpoints. At its
capacity the oldest checkpoints leave it (the recovery window shrinks below `journal_window`, with
an alert); points older than what it holds are refused, never recovered wrong; a journal that
cannot hold even the writes between checkpoints makes the splitter hold them (RPO grows).
Small runs (1 GiB volume, 5 writes/s, 40 simulated minutes): a 64 MiB journal fills in ~12 min.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from sim.runner.replication import build
from sim.scenario import scenario_from_dict
from sim.systems.cdp_streams import appliance as appliance_actor
from sim.systems.cdp_streams.errors import CannotRecover
from sim.systems.cdp_streams.variants import Appliance
from tests.systems.test_cdp_streams import run, small

CAP = 64 * 2**20


def held_bytes(system) -> float:
    """The journal's contents in bytes, recomputed from what it holds (not from its counters)."""
    p = system.params
    undo = sum(len(c.blocks) * p.block_size for c in system.journal)
    do = sum(float(r.sizes.sum()) + p.record_header * (r.hi - r.lo + 1) for r in system.do_journal)
    return undo + do


def run_watched(data: dict, every: float = 5.0, site_lost_at: float | None = None):
    """Run a scenario dict, sampling the journal's contents every `every` s (between checkpoints),
    the production site lost at `site_lost_at`; (metrics, violations (dicts), system, largest
    contents seen)."""
    sc = scenario_from_dict(data)
    sim, system = build(sc.resolved, 3)
    seen = [0.0]

    def lose_site():
        yield sim.env.timeout(site_lost_at)
        system.inject(SimpleNamespace(kind="crash", target="production", params={}))

    if site_lost_at is not None:
        sim.env.process(lose_site())

    def watch():
        yield sim.env.timeout(every / 2)
        while True:
            seen[0] = max(seen[0], held_bytes(system))
            yield sim.env.timeout(every)

    system.start()
    sim.env.process(watch())
    sim.run()
    viol = [v.to_dict() for v in system.violations().details]
    return system.metrics(), viol, system, seen[0]


def test_journal_never_holds_more_than_its_capacity_and_the_window_shrinks():
    # before issue 17 the journal's capacity was not enforced: this journal held ~440 MB after 40 min
    m, viol, system, seen = run_watched(small("appliance", journal={"capacity": "64MiB"}))
    assert seen <= CAP, seen
    assert 0.9 * CAP < m["storage_journal_bytes"] <= CAP  # bytes actually used at peak, not the setting
    assert m["journal_checkpoints_dropped"] > 0 and m["journal_full_alerts"] == 1
    assert any(e["event"] == "journal_hard_limit_reached" for e in system.sim.events)
    # the window held is what 64 MiB of undo lasts at ~90 KB/s of writes (~12 min), far below 24 h
    assert 300 < m["journal_window_min_s"] <= m["journal_window_mean_s"] < 1200
    assert m["journal_writes_refused"] == 0  # the history made room: no write waited
    assert not viol


def test_a_journal_that_does_not_fill_keeps_the_run_and_reports_its_use():
    m, viol, _, seen = run_watched(small("appliance"))  # 4 GiB: 40 min of writes fit
    assert m["journal_checkpoints_dropped"] == 0 and m["journal_full_alerts"] == 0
    assert math.isnan(m["journal_window_min_s"])  # still filling: the run is shorter than journal_window
    assert 0 < m["storage_journal_bytes"] < 4 * 2**30 and m["storage_journal_bytes"] >= seen
    assert m["past_points_recovered"] == 3 and not viol


def loss_with_many_points() -> dict:
    # the site is lost at 25 min (recovery starts then; the drill, later, is not run); 10 past points
    # drawn over the whole run, the journal holds ~12 min
    return small(
        "appliance",
        journal={"capacity": "64MiB"},
        recovery_at="39min",
        past_points=10,
        protection_window="40min",
    )


def test_points_older_than_the_journal_holds_are_refused_and_the_rest_recovered_exactly():
    m, viol, system, _ = run_watched(loss_with_many_points(), site_lost_at=1500.0)
    assert m["disaster"] == 1 and m["recovery_start_s"] == 1500.0
    oldest = appliance_actor.oldest_point(system)  # stable after the loss: no new writes arrive
    past = [r for r in system.recoveries if r.kind == "past"]
    inside = [r for r in past if r.target_seq >= oldest]
    outside = [r for r in past if r.target_seq < oldest]
    assert inside and outside  # both kinds drawn (10 points over 25 min, ~12 min held)
    for r in inside:
        assert r.ok and r.matched and r.point_seq == r.target_seq, r.reason
    for r in outside:
        assert not r.ok and "older than the journal holds" in r.reason
    assert m["past_points_not_recoverable"] == len(outside)
    assert m["recoverable_points"] == system.durable - oldest + 1
    assert not viol


def test_recovering_past_the_dropped_history_is_caught_by_the_oracle(monkeypatch):
    """Break the refusal on purpose: roll back with whatever undo the journal still has."""

    def read_undo_unchecked(self, m, clone, s, link=None):
        chunks = [c for c in m.journal if c.hi > s and c.lo <= clone.applied]
        if not chunks:
            raise CannotRecover("no undo at all")
        yield m.env.timeout(0)
        return chunks

    monkeypatch.setattr(Appliance, "read_undo", read_undo_unchecked)
    m, viol, _, _ = run_watched(loss_with_many_points(), site_lost_at=1500.0)
    assert viol and viol[0]["invariant"] == "recovered_volume_equals_oracle"


def test_a_journal_smaller_than_a_checkpoint_of_writes_holds_them_at_the_splitter():
    base, _ = run(small("appliance"))
    # 384 KiB: less than the ~450 KB written between two 5 s checkpoints
    m, viol, _, seen = run_watched(small("appliance", journal={"capacity": "384KiB"}), every=1.0)
    assert seen <= 384 * 2**10
    assert m["journal_writes_refused"] > 0 and m["put_retries"] > 0
    assert m["rpo_p99_s"] > 10 * base["rpo_p99_s"]  # writes wait at the splitter
    assert m["journal_window_mean_s"] < 60  # next to no history
    assert m["latest_recovered"] == 1 and m["recoveries_verified"] >= 1
    assert not viol
