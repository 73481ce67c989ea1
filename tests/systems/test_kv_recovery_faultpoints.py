"""kv_recovery fault points (issue 13) and the system-log replay check (issue 15 item 1).

A crash struck at a named fault point, through load_scenario and one replication: restart
recovery that ignores the system log (`skip_system_log_replay`, BROKEN on purpose) leaves every
acknowledged write visible after the user-log replay, so only the check of the recovered mapping
and pages against the durable system log catches it; the correct mechanism stays clean.
"""

from __future__ import annotations

import pytest
import yaml

from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from sim.systems.kv_recovery import KvRecovery
from sim.systems.kv_recovery.durable import DurableMedia, FileStream, UserLog

SCENARIO = {
    "name": "kv_faultpoint",
    "system": "kv_recovery",
    "seed": 5,
    "duration": "16s",
    "warmup": "1s",
    "params": {"keys": 20000, "checkpoint_interval": "5s", "replicas": 2, "replica_refresh_interval": "500ms"},
    "workload": {"rate": "2000/s", "read_fraction": 0.5},
    # the 13th durable flush: three flushes after the checkpoint started at 10 s
    "faults": [{"kind": "crash", "target": "primary", "point": "kv.flush.system_log_durable", "hit": 13,
                "restart_after": "200ms"}],
    "checks": {"fault_point_coverage": True},
}


def run(tmp_path, **params):
    data = {**SCENARIO, "params": {**SCENARIO["params"], **params}}
    path = tmp_path / "kv_fp.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, scen.resolved["seed"], 0)
    assert res.error is None, res.error
    return res


def invariants(res):
    return {v["invariant"] for v in res.violations}


def test_recovery_ignoring_the_system_log_is_caught_by_the_mapping_check(tmp_path):
    ok = run(tmp_path)
    assert ok.metrics["recoveries"] == 1
    assert any(e["event"] == "fault_point" for e in ok.events)
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    broken = run(tmp_path, skip_system_log_replay=True, user_checkpoint_interval=None)
    assert broken.metrics["recoveries"] == 1
    found = invariants(broken)
    assert "recovered_mapping" in found and "recovered_pages" in found
    # coupled user checkpoints: the final key-value check alone cannot see it, the user-log replay
    # from the mapping checkpoint rewrites the values
    assert "acknowledged_write_visible" not in found
    # separate user checkpoints (the default): the replay starts after the checkpoint, the loss shows
    separate = invariants(run(tmp_path, skip_system_log_replay=True))
    assert {"recovered_mapping", "recovered_pages", "acknowledged_write_visible"} <= separate


def test_a_page_image_that_differs_from_the_acknowledged_writes_is_caught(tmp_path, monkeypatch):
    """The mapping can be right and the pages wrong (a flush capturing the wrong image)."""
    real = FileStream.append

    def stale(self, images):
        images = images.copy()
        images[0, 0] = 0 if images[0, 0] else 1  # one key of one flushed page is not what was acknowledged
        return real(self, images)

    monkeypatch.setattr(FileStream, "append", stale)
    res = run(tmp_path)
    assert "recovered_pages" in invariants(res)


def test_every_declared_fault_point_is_hit(tmp_path):
    """A node crash (recovery, replicas forming) and a primary crash: every declared point has hits."""
    names = [fp.name for fp in KvRecovery.fault_points]
    assert len(names) == len(set(names))
    assert all(fp.targets and set(fp.targets) <= {"primary", "node"} for fp in KvRecovery.fault_points)
    data = {**SCENARIO, "faults": [{"kind": "crash", "target": "node", "at": "12.2s", "restart_after": "100ms"}]}
    path = tmp_path / "kv_fp.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, 5, 0)
    assert res.error is None, res.error
    never = [n for n in names if not res.fault_point_hits.get(n)]
    assert not never, never


def point_crash(tmp_path, point, hit, target="primary", **extra):
    data = {**SCENARIO, **extra, "faults": [{"kind": "crash", "target": target, "point": point, "hit": hit,
                                             "restart_after": "200ms"}]}
    path = tmp_path / "kv_fp.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, scen.resolved["seed"], 0)
    assert res.error is None, res.error
    assert any(e["event"] == "fault_point" for e in res.events)
    return res


def test_a_crash_that_keeps_the_unflushed_log_buffer_is_caught(tmp_path, monkeypatch):
    """A crash during a group commit write must lose the batch: if its records survived, the commit
    records become durable later without their transactions ever being acknowledged."""
    assert point_crash(tmp_path, "kv.user_log.group_commit_write", 500).metrics["invariant_violations"] == 0
    monkeypatch.setattr(UserLog, "lose_volatile", lambda self: 0)
    res = point_crash(tmp_path, "kv.user_log.group_commit_write", 500)
    assert "durable_commit_acknowledged" in invariants(res)


def test_recovery_claiming_an_older_last_commit_is_caught(tmp_path, monkeypatch):
    """After recovery every durable commit is applied; claiming an older one would put a wrong
    boundary L in the next flush (replicas would read past their snapshot)."""
    real = DurableMedia.last_commit_ts

    def older(self):
        ts = real(self)
        commits = [e for k, e in zip(self.ulog.kind, self.ulog.end, strict=True) if k == UserLog.COMMIT and e < ts]
        return commits[-1] if commits else 0

    monkeypatch.setattr(DurableMedia, "last_commit_ts", older)
    res = point_crash(tmp_path, "kv.user_log.group_commit_acked", 500)
    assert "durable_commit_acknowledged" in invariants(res)


def test_a_nearly_idle_store_flushes_and_recovers_clean(tmp_path):
    """No transaction commits before the first flush cycle (rate 0.2 op/s)."""
    data = {**SCENARIO, "workload": {"rate": "0.2/s", "read_fraction": 0.5},
            "faults": [{"kind": "crash", "target": "node", "at": "5s", "restart_after": "100ms"}]}
    path = tmp_path / "kv_idle.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, 5, 0)
    assert res.error is None, res.error
    assert res.metrics["recoveries"] == 1
    assert res.metrics["invariant_violations"] == 0, res.violations


@pytest.mark.parametrize("point", ["kv.user_log.group_commit_write", "kv.checkpoint.before_metadata_record", "kv.flush.system_log_write",
                                   "kv.recovery.system_log_replay", "kv.user_log.group_commit_acked"])
def test_crash_at_a_fault_point_recovers_clean(tmp_path, point):
    data_hit = {"kv.recovery.system_log_replay": 1, "kv.user_log.group_commit_acked": 3000,
                "kv.user_log.group_commit_write": 700}.get(point, 2)
    faults = [{"kind": "crash", "target": "node", "at": "8.3s", "restart_after": "100ms"}] \
        if point.startswith("kv.recovery") else []
    SCENARIO_F = {**SCENARIO, "faults": faults + [{"kind": "crash", "target": "primary", "point": point,
                                                   "hit": data_hit, "restart_after": "150ms"}]}
    path = tmp_path / "kv_fp.yaml"
    path.write_text(yaml.safe_dump(SCENARIO_F))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, 5, 0)
    assert res.error is None, res.error
    struck = [e for e in res.events if e["event"] == "fault_point"]
    assert struck and struck[0]["point"] == point
    assert res.metrics["recoveries"] >= 1
    assert res.metrics["invariant_violations"] == 0, res.violations


@pytest.mark.parametrize("restart, stalled", [("2500ms", 1), ("200ms", 0)])
def test_stall_check_sees_reads_and_transactions_waiting_for_a_down_node(tmp_path, restart, stalled):
    """progress(): with the node (primary and replicas) down longer than the window, work waits and
    nothing completes: stalled; a short outage is not a stall."""
    data = {**SCENARIO, "duration": "8s", "checks": {"stall_window": "2s"},
            "faults": [{"kind": "crash", "target": "node", "at": "4s", "restart_after": restart}]}
    path = tmp_path / "kv_stall.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, 5, 0)
    assert res.error is None, res.error
    assert res.metrics["stalled"] == stalled


def test_a_flush_writes_only_pages_written_since_their_last_flush(tmp_path):
    """A page is dirty only if a write reached it since its last flush, so without crashes the
    pages flushed cannot outnumber the acknowledged writes (zipf keys: far fewer)."""
    data = {**SCENARIO, "faults": []}
    path = tmp_path / "kv_nofault.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, 5, 0)
    assert res.error is None, res.error
    m = res.metrics
    pages = m["page_bytes_written"] / 8192
    assert 0 < pages <= m["writes_acked"]
    assert m["replica_reads_unchecked"] == 0 and m["replica_reads_checked"] > 0


def test_snapshot_read_oracle_keeps_keys_apart_when_timestamps_are_large():
    """The composite (key, timestamp) search must not let one key's writes stand for another's."""
    from sim.systems.kv_recovery.oracle import Oracle

    o = Oracle(2)
    o.acknowledge([1], [7], 2)  # key 1 written at ts 2
    o.acknowledge([0], [9], 10)  # key 0 written at ts 10
    o.log_read(1, 3, 7)  # key 1 read at snapshot 3: 7 is right
    o.log_read(0, 5, 0)  # key 0 read at snapshot 5: not yet written
    assert o.check_snapshot_reads() == (2, 0, None)
    o.log_read(1, 1, 7)  # key 1 read before its write: wrong
    assert o.check_snapshot_reads()[1] == 1
