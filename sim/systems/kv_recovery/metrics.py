"""The metrics of `kv_recovery`: their declaration (`METRICS`) and their assembly at the end of a run."""

from __future__ import annotations

import math

from sim.core.system import Metric

METRICS: tuple[Metric, ...] = (
    Metric("recovery_time_s", "mean time from a crash until the primary is writable again"),
    Metric("recovery_time_max_s", "longest time from a crash until the primary is writable again"),
    Metric("restart_recovery_s", "mean time from the restart until the primary is writable (restart recovery alone)"),
    Metric("first_read_s", "mean time from a crash until the first read is served"),
    Metric("read_availability_during_recovery",
           "fraction of crash-to-writable time during which reads could be served"),
    Metric("replica_staleness_mean_s", "mean age of the replica snapshot a read saw (primary writable)"),
    Metric("replica_staleness_p50_s", "median age of the replica snapshot a read saw (primary writable)"),
    Metric("replica_staleness_p99_s", "99th percentile of the age of the replica snapshot a read saw"),
    Metric("recovery_read_staleness_mean_s", "mean age of the replica snapshot a read saw during recovery"),
    Metric("read_wait_mean_s", "mean time a delayed read waited for a replica or the writable primary"),
    Metric("commit_latency_mean_s", "mean time from a commit record to the transaction's acknowledgement"),
    Metric("commit_latency_p50_s", "median time from a commit record to the acknowledgement"),
    Metric("commit_latency_p99_s", "99th percentile of the time from a commit record to the acknowledgement"),
    Metric("throughput_ops_s", "reads served plus writes acknowledged per second (open loop: the offered rate "
           "while the store keeps up; see saturation_rate_ops_s)"),
    Metric("storage_write_utilization", "bytes written to storage per second over the SSD's write bandwidth"),
    Metric("saturation_rate_ops_s", "key operations per second at which the bytes written would reach the SSD's "
           "write bandwidth (linear extrapolation, a lower bound)"),
    Metric("checkpoint_bytes_written", "bytes of mapping-table checkpoints written"),
    Metric("log_bytes_written", "bytes of the user transaction log written"),
    Metric("page_bytes_written", "bytes of page images appended to the file stream"),
    Metric("storage_bytes_written", "bytes written to storage: user log, pages, system log, checkpoints, metadata"),
    Metric("write_amplification", "bytes written to storage per byte of acknowledged values"),
    Metric("checkpoints_completed", "checkpoints written completely (with their metadata record)"),
    Metric("replayed_log_bytes", "system- and user-log bytes read by restart recovery"),
    Metric("replayed_records", "system- and user-log records replayed by restart recovery"),
    Metric("user_log_replayed_bytes", "user-log bytes read by restart recovery (from the replay start)"),
    Metric("system_log_replayed_bytes", "system-log bytes read by restart recovery (from the checkpoint)"),
    Metric("replayed_txns", "user transactions redone by restart recovery (not skipped)"),
    Metric("user_checkpoints", "user checkpoint records made durable"),
    Metric("checkpoint_fallbacks", "metadata records or checkpoints skipped by recovery (corrupt or torn)"),
    Metric("checkpoints_torn", "checkpoints a crash struck while they were being written"),
    Metric("recoveries", "restart recoveries that made the primary writable"),
    Metric("recovery_unfinished", "1 if the primary was still crashed or recovering at the end of the run "
           "(also the recovery_unfinished violation), else 0"),
    Metric("recovery_unfinished_s", "time from the crash of an unfinished recovery to the end of the run (0: none)"),
    Metric("crashes", "crash faults that struck the node or the primary (not nested in one on the same target)"),
    Metric("reads_served", "reads served (by a replica or the primary)"),
    Metric("replica_reads", "reads served by a replica"),
    Metric("reads_delayed", "reads that found no server and waited"),
    Metric("writes_acked", "writes of acknowledged transactions"),
    Metric("txns_aborted", "transactions aborted by a crash while they were writing"),
    Metric("lost_buffered_records", "user-log records in the log buffer that a crash lost"),
    Metric("replica_reads_checked", "replica reads in the measurement window checked against the oracle"),
    Metric("replica_reads_unchecked", "replica reads in the measurement window beyond the oracle's read-log cap"),
)


def saturation(store, c: dict, t: float, written: float) -> dict[str, float]:
    """Where the open-loop offered rate would saturate the SSD's write bandwidth.

    The client is open loop (Poisson arrivals at `workload.rate`), so `throughput_ops_s` equals the
    offered rate while the store keeps up. The store's bottleneck is the SSD's write bandwidth
    (reads are served from memory; recovery reads only after a crash): bytes written per key
    operation times the rate over the bandwidth is its utilisation, and the rate at which it would
    reach 1 is the saturation point, extrapolated linearly (a lower bound: more writes per flush
    coalesce more page images, and group commits grow).
    """
    ops = c["reads_served"] + c["writes_acked"]
    bw = store.params.storage.write_bandwidth
    util = written / t / bw
    per_op = written / ops if ops else math.nan
    return {"storage_write_utilization": util,
            "saturation_rate_ops_s": bw / per_op if ops and per_op > 0 else math.nan}


def assemble(store) -> dict[str, float]:
    """The metrics row of one run."""
    c = {k: v.value for k, v in store.c.items()}
    t = max(store.sim.recorder.measured_time(), 1e-12)
    written = (c["log_bytes_written"] + c["page_bytes_written"] + c["system_log_bytes_written"]
               + c["checkpoint_bytes_written"] + c["metadata_bytes_written"])
    nan = math.nan
    outage_time, avail = store.outage.totals(store.env.now)
    rec, restart = store.m_recovery, store.m_restart_recovery
    out = {
        "recovery_time_s": rec.mean if rec.n else nan,
        "recovery_time_max_s": rec.max if rec.n else nan,
        "restart_recovery_s": restart.mean if restart.n else nan,
        "first_read_s": store.m_first_read.mean if store.m_first_read.n else nan,
        "read_availability_during_recovery": avail / outage_time if outage_time > 0 else nan,
        **store.m_stale.summary("replica_staleness", "s"),
        "recovery_read_staleness_mean_s": store.m_stale_rec.mean if store.m_stale_rec.n else nan,
        "read_wait_mean_s": store.m_read_wait.mean if store.m_read_wait.n else nan,
        **store.m_commit.summary("commit_latency", "s"),
        "throughput_ops_s": (c["reads_served"] + c["writes_acked"]) / t,
        "checkpoint_bytes_written": c["checkpoint_bytes_written"],
        "log_bytes_written": c["log_bytes_written"],
        "page_bytes_written": c["page_bytes_written"],
        "storage_bytes_written": written,
        "write_amplification": written / c["value_bytes_acked"] if c["value_bytes_acked"] else nan,
        "checkpoints_completed": c["checkpoints_completed"],
        "replayed_log_bytes": c["replayed_log_bytes"],
        "replayed_records": c["replayed_records"],
        "user_log_replayed_bytes": c["user_log_replayed_bytes"],
        "system_log_replayed_bytes": c["replayed_log_bytes"] - c["user_log_replayed_bytes"],
        "replayed_txns": c["replayed_txns"],
        "user_checkpoints": c["user_checkpoints"],
        "checkpoint_fallbacks": c["checkpoint_fallbacks"],
        "checkpoints_torn": c["checkpoints_torn"],
        "recoveries": c["recoveries"],
        "recovery_unfinished": 0.0 if store.outage.crash_at is None else 1.0,
        "recovery_unfinished_s": 0.0 if store.outage.crash_at is None else store.env.now - store.outage.crash_at,
        "crashes": c["crashes"],
        "reads_served": c["reads_served"],
        "replica_reads": c["replica_reads"],
        "reads_delayed": c["reads_delayed"],
        "writes_acked": c["writes_acked"],
        "txns_aborted": c["txns_aborted"],
        "lost_buffered_records": c["lost_buffered_records"],
        # the window of every other count (after the warm-up); the check itself covers every read
        "replica_reads_checked": float(len(store.oracle.read_key) - store.oracle.window_reads),
        "replica_reads_unchecked": float(store.oracle.reads_unchecked - store.oracle.window_unchecked),
        **saturation(store, c, t, written),
    }
    return {k: float(v) for k, v in out.items()}
