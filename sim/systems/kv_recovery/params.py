"""Parameters of the `kv_recovery` store and of its workload (defaults and sources: docs/models/kv_recovery.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.storage import SsdParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize
from sim.workloads import KeyDist, SizeDist

SECTOR = 512  # bytes: the smallest unit a storage device writes
MAX_PAGES = 2**32  # page ids the mapping table addresses (32-bit page ids)


class KvRecoveryParams(Params):
    """Parameters of the store; defaults and their sources in docs/models/kv_recovery.md."""

    variant: Literal["fast_restart", "no_checkpoint", "no_replicas"] = Field(
        "fast_restart", description="the mechanism, or a baseline: no_checkpoint | no_replicas")
    user_replay_start: Literal["min_uncommitted", "replay_point"] = Field(
        "min_uncommitted", description="min_uncommitted: the mechanism; replay_point: a deliberately broken "
                                       "rule ignoring transactions uncommitted at the checkpoint (for tests)")
    user_replay_skip: Literal["commit_ts", "begin_ts"] = Field(
        "commit_ts", description="US 11,755,427's 'skipping user transactions having a timestamp smaller than the "
        "minimum uncommitted user transaction timestamp', read with commit timestamps (commit_ts: skip commits at or "
        "before L, the mechanism) or with begin timestamps (begin_ts: BROKEN on purpose, a transaction begun before "
        "the oldest uncommitted one but committed after a replayed one is skipped and its newer write overwritten)")
    user_checkpoint_interval: PositiveDuration | None = Field(
        1.0, description="time between user checkpoint records (latest flush boundary: replay point + minimum "
                         "uncommitted timestamp), written apart from the mapping checkpoints; null: one record "
                         "with each mapping checkpoint, named by it (the coupled rule before issue 15)")
    user_checkpoint_unflushed: bool = Field(
        False, description="BROKEN on purpose (for tests and campaigns): the user checkpoint record names the "
                           "last applied commit instead of the last durable flush boundary (caught by "
                           "user_checkpoint_flushed and acknowledged_write_visible)")
    skip_system_log_replay: bool = Field(
        False, description="BROKEN on purpose (for tests and campaigns): restart recovery ignores the system log, "
                           "so the mapping stays at the checkpoint (caught by the recovered_mapping check)")
    keys: int = Field(100_000, ge=1, le=4_000_000, description="keys the workload touches (simulated)")
    page_size: PositiveSize = Field(8192, description="bytes per page")
    database_size: PositiveSize = Field(64 * 2**30, description="bytes of data in the store (sizes the mapping table)")
    mapping_entry_size: PositiveSize = Field(8, description="bytes per mapping-table entry")
    checkpoint_interval: PositiveDuration = Field(30.0, description="time between mapping-table checkpoints")
    checkpoint_chunk: PositiveSize = Field(8 * 2**20, description="bytes per checkpoint write command")
    checkpoint_write_rate: ByteRate | None = Field(None, description="throttle of checkpoint writes, bytes/s "
                                                   "(none: as fast as the SSD takes them)")
    page_flush_interval: PositiveDuration = Field(1.0, description="time between page-flush cycles")
    log_record_header: PositiveSize = Field(32, description="bytes of a log record besides the value")
    system_record_size: PositiveSize = Field(16, description="bytes of a system-log mapping-change record")
    metadata_record_size: PositiveSize = Field(4096, description="bytes of a metadata-log record (one block)")
    apply_cost: Duration = Field(8.8e-6, description="CPU time to redo one replayed user-log write record, s "
                                 "(RocksDB WAL replay measured on this machine: benchmarks/kv_recovery_replay.md)")
    system_apply_cost: Duration = Field(1e-6, description="time to apply one replayed system-log record, s")
    replicas: int = Field(2, ge=0, le=64, description="read-only replicas (ignored by no_replicas)")
    replica_refresh_interval: PositiveDuration = Field(0.5, description="time between replica refreshes")
    replica_follow_user_log: bool = Field(
        False, description="replicas also read the durable user log at every refresh and apply its committed "
                           "transactions (US 11,755,427 claims 11-13: replicas that follow the log), so their "
                           "snapshot is the last durable commit, not the last page flush")
    storage: SsdParams = Field(default_factory=SsdParams, description="the SSD holding file stream and logs")

    @model_validator(mode="after")
    def _sizes(self):
        if self.page_size < SECTOR:
            raise ValueError(f"page_size {self.page_size:g} B is below one {SECTOR} B sector, the smallest unit "
                             "a storage device writes: such a page cannot be represented")
        if self.page_size < self.log_record_header:
            raise ValueError("page_size must be at least log_record_header")
        pages = self.database_size / self.page_size
        if pages > MAX_PAGES:
            raise ValueError(f"database_size / page_size = {pages:.3g} pages, more than a 32-bit page id "
                             f"addresses ({MAX_PAGES:.3g}); use larger pages or a smaller database")
        return self


class KvWorkload(Params):
    """Operations on the store: reads and multi-write user transactions."""

    rate: PositiveRate = Field(3000.0, description="key operations per second (reads + writes)")
    read_fraction: float = Field(0.5, ge=0.0, lt=1.0, description="fraction of key operations that are reads")
    writes_per_txn: int = Field(4, ge=1, le=64, description="writes per user transaction")
    think_time: Duration = Field(2e-3, description="mean time between a transaction's writes (exponential)")
    long_txn_fraction: float = Field(0.002, ge=0.0, le=1.0, description="fraction of transactions that run long")
    long_txn_duration: Duration = Field(2.0, description="mean duration of a long transaction (exponential)")
    keys: KeyDist = Field(default_factory=lambda: KeyDist(dist="zipf", zipf_s=0.99))
    value_size: SizeDist = Field(default_factory=lambda: SizeDist(dist="fixed", value=1024))
