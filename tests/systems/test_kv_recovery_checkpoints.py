"""kv_recovery: separate user checkpoints and the user-log replay rule (issue 15 item 2).

The user checkpoint record must name a durable flush boundary (a record naming commits that are
only in memory makes recovery skip them: `user_checkpoint_unflushed`, BROKEN on purpose, caught);
the claim's skip rule read with begin timestamps (`user_replay_skip: begin_ts`, BROKEN on purpose)
lets an older replayed write overwrite a newer skipped one, caught.
"""

from __future__ import annotations

from tests.systems.test_kv_recovery import LONG_TXNS, crash, run


def invariants(res):
    return {v["invariant"] for v in res.violations}


def test_a_user_checkpoint_naming_unflushed_commits_is_caught():
    # crash 50 ms before the 15 s flush: the latest user checkpoint record (1 s interval, random
    # phase) was written after the 14 s flush in most seeds; broken, it names commits not yet flushed
    caught = 0
    for seed in (1, 2, 3):
        ok = run(faults=[crash(14.95)], seed=seed)
        assert ok.metrics["invariant_violations"] == 0, ok.violations
        assert ok.metrics["user_checkpoints"] > 5
        found = invariants(run(params={"user_checkpoint_unflushed": True}, faults=[crash(14.95)], seed=seed))
        if found:
            assert {"user_checkpoint_flushed", "acknowledged_write_visible"} <= found
            caught += 1
    assert caught >= 2


def test_reading_the_claims_skip_rule_with_begin_timestamps_is_caught():
    """Skipping by begin timestamp below the minimum uncommitted one skips only transactions committed
    by L, but some committed after a replayed transaction writing the same key: caught."""
    faults = [crash(14.0)]
    rows = {rule: run(params={"user_replay_skip": rule}, workload=LONG_TXNS, faults=faults)
            for rule in ("commit_ts", "begin_ts")}
    good, broken = rows["commit_ts"].metrics, rows["begin_ts"].metrics
    assert good["invariant_violations"] == 0 and good["recoveries"] == 1, rows["commit_ts"].violations
    assert good["user_log_replayed_bytes"] == broken["user_log_replayed_bytes"]  # the same range is read
    assert broken["replayed_txns"] > good["replayed_txns"] > 0  # the begin-timestamp reading skips fewer ...
    assert "acknowledged_write_visible" in invariants(rows["begin_ts"])  # ... and loses a newer write


def test_the_user_checkpoint_record_is_lost_with_the_log_buffer():
    """A crash right after the record was buffered: recovery uses the previous durable one."""
    res = run(params={"user_checkpoint_interval": "500ms"},
              faults=[{"kind": "crash", "target": "primary", "point": "kv.checkpoint.user_record_appended",
                       "hit": 20, "restart_after": "200ms"}])
    assert res.metrics["recoveries"] == 1
    assert res.metrics["invariant_violations"] == 0, res.violations
