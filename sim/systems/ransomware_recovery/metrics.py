"""The metrics `ransomware_recovery` reports (names carry their unit)."""

from __future__ import annotations

from sim.core.system import Metric

METRICS = (
    Metric("time_to_resume_s", "attack detected -> applications served again (failover, or the restored "
           "primary for the baselines)"),
    Metric("time_to_full_restore_s", "attack detected -> every record back on the primary and the applications "
           "on it"),
    Metric("records_lost", "records whose last value committed before the attack began is not recoverable "
           "(restored older, or declared unrecoverable)"),
    Metric("records_wrong", "records restored, and reads served, whose value is not what the oracle committed "
           "(encrypted, torn or unresolved content presented as data); must be 0"),
    Metric("degraded_read_latency_p99_s", "99th percentile latency of reads served from the context store with "
           "tags resolved, during the copy-back (NaN: no degraded mode)"),
    Metric("degraded_read_latency_mean_s", "mean latency of those reads"),
    Metric("degraded_throughput_ops_s", "reads per second the failover path served to the closed-loop readers "
           "during the copy-back"),
    Metric("normal_read_latency_p99_s", "99th percentile latency of reads from the primary before the attack"),
    Metric("storage_overhead_ratio", "bytes the protection keeps (critical + context stores, backup images, or "
           "retained snapshot deltas) / bytes of data on the primary"),
    Metric("critical_bytes_in_context", "bytes of critical fields (by the file types' definitions) stored in "
           "clear in the context store; must be 0 (NaN: no context store)"),
    Metric("attack_time_s", "simulated time the encryption began (NaN: no attack)"),
    Metric("detection_delay_s", "encryption start -> detection"),
    Metric("records_encrypted", "records in primary extents encrypted by the time of detection"),
    Metric("restore_point_age_s", "attack start - time of the restore point used (baselines; NaN: none)"),
    Metric("writes_committed", "record writes acknowledged to the applications"),
    Metric("writes_refused", "record writes refused while the applications had no storage"),
    Metric("records_copied", "records copied to the primary by the copy-back (re-copies included)"),
    Metric("records_recopied", "records copied again because they were written during the copy-back"),
    Metric("reads_unavailable", "degraded reads refused because the record could not be reassembled"),
    Metric("backups_taken", "incremental backups completed (periodic_backup)"),
    Metric("snapshots_taken", "snapshots taken (snapshot_rollback)"),
    Metric("records_total", "records on the primary (files x records per file)"),
)

COUNTERS = ("writes_committed", "writes_refused", "records_copied", "reads_unavailable", "reads_wrong",
            "backups_taken", "snapshots_taken")
