"""kv_recovery: replicas that follow the user log, one measurement window, the saturation point
(issue 15 items 5 and 6).

A replica following the user log (`replica_follow_user_log`, claims 11-13) serves the last durable
commit instead of the last page flush, so its staleness falls below the flush interval; a follower
that applies a transaction's writes before its commit record is caught by the snapshot-read
oracle. Every count uses the measurement window (after the warm-up). The open-loop client offers a
fixed rate, so the saturation point of the SSD's write bandwidth is reported beside the throughput.
"""

from __future__ import annotations

import pytest

from sim.systems.kv_recovery import log_follower
from tests.systems.test_kv_recovery import crash, run

FLUSH_1S = {"page_flush_interval": "1s", "replica_refresh_interval": "100ms"}


def test_replicas_following_the_user_log_are_fresher_than_the_flush_interval():
    rows = {f: run(params={**FLUSH_1S, "replica_follow_user_log": f}, faults=[crash(6.0)], duration="10s").metrics
            for f in (False, True)}
    for m in rows.values():
        assert m["invariant_violations"] == 0 and m["recoveries"] == 1 and m["replica_reads_checked"] > 1000
    assert rows[False]["replica_staleness_mean_s"] > 0.5  # half the flush interval at least
    assert rows[True]["replica_staleness_mean_s"] < 0.1  # about half the refresh interval
    assert rows[True]["replica_staleness_p99_s"] < 0.2


def test_a_follower_applying_uncommitted_writes_is_caught(monkeypatch):
    real = log_follower.follow

    def eager(store, follower):  # applies every durable write at once, committed or not
        kind, txn, key, wid, _end = store.ulog.columns(follower.pos, store.ulog.durable_n)
        snap = yield from real(store, follower)
        w = kind == log_follower.UserLog.WRITE
        follower.values[key[w]] = wid[w]
        return snap

    monkeypatch.setattr(log_follower, "follow", eager)
    from sim.systems.kv_recovery import replica

    monkeypatch.setattr(replica, "follow", eager)
    res = run(params={**FLUSH_1S, "replica_follow_user_log": True}, workload={"long_txn_fraction": 0.05},
              duration="5s")
    assert "replica_snapshot_read" in {v["invariant"] for v in res.violations}


def test_every_count_uses_the_measurement_window():
    m = run(duration="5s").metrics  # warm-up 1 s
    assert m["replica_reads_checked"] == m["replica_reads"] > 0
    assert m["replica_reads_unchecked"] == 0


def test_the_saturation_point_is_reported_with_the_open_loop_throughput():
    lo, hi = (run(workload={"rate": r}, duration="5s").metrics for r in ("1000/s", "4000/s"))
    for m, rate in ((lo, 1000), (hi, 4000)):
        assert m["throughput_ops_s"] == pytest.approx(rate, rel=0.1)  # open loop: the offered rate
        assert m["saturation_rate_ops_s"] > m["throughput_ops_s"]
        # utilisation = throughput / saturation point, by construction
        assert m["storage_write_utilization"] == pytest.approx(m["throughput_ops_s"] / m["saturation_rate_ops_s"],
                                                               rel=1e-6)
    assert hi["storage_write_utilization"] > 2 * lo["storage_write_utilization"]
