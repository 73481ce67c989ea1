"""The metrics of `db_pitr`: their declaration (`METRICS`) and their assembly at the end of a run."""

from __future__ import annotations

import math

from sim.core.system import Metric

METRICS: tuple[Metric, ...] = (
    Metric("recovery_time_s", "time from the restore request until every restored partition has resolved "
                              "its open transactions (NaN: the restore did not finish)"),
    Metric("requested_point_s", "the requested recovery point T (simulated time)"),
    Metric("recovered_point_s", "the point the database was recovered to (independent: the earliest "
                                "partition's point)"),
    Metric("point_shortfall_s", "requested minus recovered point"),
    Metric("safety_threshold_s", "min over partitions and coordinators of the time their backed-up log "
                                 "is complete up to, as the restore's catalog saw it"),
    Metric("true_safety_threshold_s", "the same threshold computed by the oracle from what was uploaded "
                                      "and is still readable in the store"),
    Metric("in_doubt_transactions", "prepared transactions without an outcome at the recovered point, "
                                    "summed over partitions"),
    Metric("unprepared_aborted", "open transactions without a prepare record at the recovered point "
                                 "(aborted by their partition), summed over partitions"),
    Metric("coordinator_queries", "in-doubt transactions a restored partition asked a coordinator about"),
    Metric("coordinator_aborts", "transactions a restored coordinator had begun and not decided by the point"),
    Metric("recovery_fallbacks", "times the restore fell back to an earlier point (a segment unreadable)"),
    Metric("atomicity_violations", "transactions applied at some but not all of their partitions after "
                                   "recovery (must be 0 for the mechanism)"),
    Metric("transactions_lost", "transactions committed before the recovered point but not recovered "
                                "at all their partitions (must be 0 for the mechanism)"),
    Metric("transactions_extra", "transactions recovered at some partition although not committed before "
                                 "the recovered point (must be 0 for the mechanism)"),
    Metric("transactions_recovered_point", "transactions committed before the recovered point (oracle)"),
    Metric("recovery_finished", "1 if the restore finished before the run ended, else 0 (then the recovery "
                                "metrics are NaN: an unfinished restore is an outcome, not a gap)"),
    Metric("replayed_log_bytes", "log bytes the restore hosts replayed (last attempt)"),
    Metric("commit_throughput_ops_s", "transactions committed per second in normal operation"),
    Metric("multi_partition_commits_ops_s", "multi-partition transactions committed per second"),
    Metric("commit_latency_mean_s", "mean time from a transaction's start to its commit acknowledgement"),
    Metric("commit_latency_p99_s", "99th percentile of the time from start to commit acknowledgement"),
    Metric("transactions_aborted", "transactions aborted in normal operation (a partition or coordinator "
                                   "down, a vote missing)"),
    Metric("backup_bytes", "log bytes uploaded to the backup store"),
    Metric("crashes", "crashes of production partitions and coordinators"),
)


def assemble(m) -> dict[str, float]:
    """The metrics row of one run."""
    nan = math.nan
    t = max(m.sim.recorder.measured_time(), 1e-12)
    x = m.pitr
    res = m.recovered
    done = x.phase == "done"
    lat = m.m_latency
    out = {
        "recovery_time_s": x.duration if done else nan,
        "requested_point_s": x.requested,
        "recovered_point_s": x.point if done else nan,
        "point_shortfall_s": x.requested - x.point if done else nan,
        "safety_threshold_s": x.threshold,
        "true_safety_threshold_s": x.true_threshold,
        "in_doubt_transactions": x.in_doubt if done else nan,
        "unprepared_aborted": x.unprepared_aborted if done else nan,
        "coordinator_queries": x.queries if done else nan,
        "coordinator_aborts": x.coordinator_aborts if done else nan,
        "recovery_fallbacks": x.fallbacks,
        "atomicity_violations": res.atomicity if res else nan,
        "transactions_lost": res.lost if res else nan,
        "transactions_extra": res.extra if res else nan,
        "transactions_recovered_point": res.committed if res else nan,
        "recovery_finished": 1.0 if done else 0.0,
        "replayed_log_bytes": sum(h.replayed_bytes for h in x.hosts()) if done else nan,
        "commit_throughput_ops_s": m.c_committed.value / t,
        "multi_partition_commits_ops_s": m.c_multi.value / t,
        "commit_latency_mean_s": lat.mean if lat.n else nan,
        "commit_latency_p99_s": lat.percentile(99) if lat.n else nan,
        "transactions_aborted": m.c_aborted.value,
        "backup_bytes": m.c_backup_bytes.value,
        "crashes": float(sum(h.crashes for h in m.partitions + m.coordinators)),
    }
    return {k: float(v) for k, v in out.items()}
