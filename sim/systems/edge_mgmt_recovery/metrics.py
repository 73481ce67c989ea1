"""The metrics `edge_mgmt_recovery` reports (names carry their unit; descriptions in the doc)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.core.system import Metric

if TYPE_CHECKING:
    from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery

COUNTS = ("ops_completed", "ops_blocked", "log_entries_written", "checkpoints_written", "log_bytes_read",
          "metadata_reads", "history_entries_applied", "rebuild_restarts", "log_entries_truncated_by_fault")

METRICS = (
    Metric("recovery_time_s", "time from the first management-file loss to the last lost file installed "
           "again (NaN: nothing lost, or not rebuilt by the end)"),
    Metric("files_unavailable_s", "sum over affected user files of the time their management file was lost "
           "(until installed, or the end of the run)"),
    Metric("log_bytes_read", "bytes of operation log read by the extraction"),
    Metric("metadata_reads", "user-file metadata reads (stat + xattrs) of the crawl"),
    Metric("entries_wrong", "rebuilt entries that differ from the oracle's copy (includes stale and missing)"),
    Metric("entries_stale", "rebuilt entries with an older version than the oracle's"),
    Metric("entries_missing", "entries the rebuild did not produce (the oracle has them)"),
    Metric("recoverable", "1 if every rebuilt management file equals the oracle's entry by entry, else 0 "
           "(NaN: nothing rebuilt)"),
    Metric("log_entries_missing", "log entries the extraction needed but found truncated (the gap it reports)"),
    Metric("log_gap_detected", "1 if a rebuild reported its file incomplete (a gap in a log, or a checkpoint of a "
           "file rebuilt over one), else 0"),
    Metric("history_out_of_order", "pairs of consecutive history entries of one file not in true effect order"),
    Metric("mgmt_files_lost", "management files lost (each loss counts)"),
    Metric("mgmt_files_rebuilt", "management files installed again by a rebuild"),
    Metric("mgmt_files_unrecovered", "management files still lost at the end of the run"),
    Metric("history_entries_applied", "history entries applied onto checkpoints"),
    Metric("rebuild_restarts", "rebuilds restarted because the takeover node failed"),
    Metric("ops_completed", "operations completed (whole run)"),
    Metric("ops_blocked", "operations that waited (for a lost management file or a file lock)"),
    Metric("op_wait_mean_s", "mean wait of the operations that waited"),
    Metric("ops_during_rebuild", "operations that took effect on a file whose management file was lost "
           "(0 unless blocking is broken)"),
    Metric("log_entries_written", "operation-log entries written (whole run)"),
    Metric("checkpoints_written", "management-file checkpoints committed (whole run)"),
)


def assemble(s: EdgeMgmtRecovery) -> dict[str, float]:
    c = s.counts
    now = s.env.now
    mg = s.mgmt
    lost_now = [m for m in range(mg.n) if not mg.available(m)]
    unavailable = s.unavailable_s + sum(mg.size(m) * (now - float(mg.lost_at[m])) for m in lost_now)
    rebuilt = s.rebuilds
    return {
        "recovery_time_s": (s.last_install - s.first_loss) if (s.first_loss is not None and not lost_now
                                                               and s.last_install is not None) else math.nan,
        "files_unavailable_s": unavailable,
        "log_bytes_read": float(c["log_bytes_read"]),
        "metadata_reads": float(c["metadata_reads"]),
        "entries_wrong": float(s.entries[0]),
        "entries_stale": float(s.entries[1]),
        "entries_missing": float(s.entries[2]),
        "recoverable": (1.0 if s.exact_rebuilds == rebuilt else 0.0) if rebuilt else math.nan,
        "log_entries_missing": float(s.log_missing),
        "log_gap_detected": 1.0 if s.incomplete_reports else 0.0,
        "history_out_of_order": float(s.out_of_order),
        "mgmt_files_lost": float(s.losses),
        "mgmt_files_rebuilt": float(rebuilt),
        "mgmt_files_unrecovered": float(len(lost_now)),
        "history_entries_applied": float(c["history_entries_applied"]),
        "rebuild_restarts": float(c["rebuild_restarts"]),
        "ops_completed": float(c["ops_completed"]),
        "ops_blocked": float(c["ops_blocked"]),
        "op_wait_mean_s": s.op_wait_s / c["ops_blocked"] if c["ops_blocked"] else math.nan,
        "ops_during_rebuild": float(s.oracle.ops_during_rebuild),
        "log_entries_written": float(c["log_entries_written"]),
        "checkpoints_written": float(c["checkpoints_written"]),
    }
