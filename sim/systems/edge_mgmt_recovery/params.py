"""Parameters of `edge_mgmt_recovery` (defaults and their sources: docs/models/edge_mgmt_recovery.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.storage import HddParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize


class OpMix(Params):
    """Relative weights of the state-changing operations (reads change no management state)."""

    create: float = Field(0.08, ge=0, description="create a file (a deleted one comes back)")
    write: float = Field(0.62, ge=0, description="write: new size; a migrated or stubbed file becomes dirty")
    rename: float = Field(0.05, ge=0, description="rename (the entry's name changes)")
    delete: float = Field(0.05, ge=0, description="delete")
    migrate: float = Field(0.10, ge=0, description="migrate to core storage (tiering daemon): local/dirty -> migrated")
    stub: float = Field(0.05, ge=0, description="stub a migrated file (its local data released)")
    recall: float = Field(0.05, ge=0, description="recall a stubbed file from core storage")

    @model_validator(mode="after")
    def _some(self):
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one operation weight must be positive")
        return self


class EdgeMgmtParams(Params):
    """An edge file storage cluster, its workload, logs, checkpoints and the recovery variant."""

    variant: Literal["log_aggregation", "crawl", "backup_restore"] = Field(
        "log_aggregation", description="log_aggregation: the mechanism (extract, aggregate, apply onto the "
        "checkpoint); crawl: read every covered file's metadata; backup_restore: restore the last backup")
    ordering: Literal["hybrid_logical_clock", "wall_clock"] = Field(
        "hybrid_logical_clock", description="how log_aggregation orders entries from different nodes: HLC "
        "(Kulkarni et al. 2014) or each node's wall clock")
    broken: Literal["none", "skip_failed_node_log", "no_ordering", "apply_on_empty", "replay_all",
                    "no_blocking"] = Field(
        "none", description="BROKEN on purpose (tests and campaigns): skip_failed_node_log extracts from every "
        "log but the failed node's; no_ordering concatenates the node logs without merging; apply_on_empty "
        "applies the history onto an empty file; replay_all replays every retained entry onto the checkpoint "
        "ignoring its log position; no_blocking lets operations on affected files run during the rebuild")
    nodes: int = Field(4, ge=2, le=64, description="edge nodes in the cluster")
    files: int = Field(200_000, ge=1, le=20_000_000, description="user files in the cluster")
    files_per_mgmt: int = Field(10_000, ge=1, description="user files one management information file covers")
    clients: int = Field(100, ge=1, le=100_000, description="clients (users and the tiering daemon)")
    session_ops: float = Field(5.0, ge=1.0, description="mean operations a client issues on one file per session")
    think_time: PositiveDuration = Field(0.2, description="mean time between two operations of a session (exponential)")
    session_gap: PositiveDuration = Field(5.0, description="mean idle time between two sessions of a client")
    move_probability: float = Field(0.1, ge=0.0, le=1.0, description="probability that a client moves to another "
                                    "node before an operation (roaming, load balancer)")
    hot_fraction: float = Field(0.01, gt=0.0, le=1.0, description="fraction of files forming the hot set")
    hot_access: float = Field(0.5, ge=0.0, le=1.0, description="fraction of sessions on a hot file")
    op_mix: OpMix = Field(default_factory=OpMix, description="weights of the operations")
    one_way_latency: Duration = Field(100e-6, description="one-way message latency between two nodes")
    log_entry_size: PositiveSize = Field(128, description="bytes of one operation-log entry")
    mgmt_entry_size: PositiveSize = Field(256, description="bytes of one management-file entry on storage")
    log_read_bandwidth: ByteRate = Field(HddParams().read_bandwidth, description="bytes/s one reader extracts from "
                                         "a node's log (also the checkpoint read and rebuilt-file write rate)")
    extract_cost: Duration = Field(0.13e-6, description="CPU time to filter one log entry read, s")
    order_cost: Duration = Field(2.7e-6, description="CPU time per extracted entry to order the history, s")
    apply_cost: Duration = Field(7.5e-6, description="CPU time to apply one history entry to the file, s")
    metadata_read_rate: PositiveRate = Field(70_000.0, description="files/s one node's crawler reads "
                                             "(stat + getxattr; benchmarks/measure_stat_rate.py)")
    crawl_parallelism: int = Field(1, ge=1, le=1024, description="crawler threads on the takeover node (which "
                                   "serves the failed node's file systems), each at metadata_read_rate")
    checkpoint_interval: PositiveDuration = Field(600.0, description="time between checkpoints of a management file")
    log_retention: PositiveDuration = Field(3600.0, description="operation-log entries older than this are truncated")
    retention_check: PositiveDuration = Field(60.0, description="time between two log-truncation passes of a node")
    clock_offset_sd: Duration = Field(1e-3, description="standard deviation of each node's clock offset (NTP on a LAN)")
    clock_drift_sd: float = Field(1e-6, ge=0.0, le=1e-3, description="standard deviation of each node's residual "
                                  "clock drift (ratio)")
    restart_time: Duration = Field(120.0, description="time a failed node takes to reboot and rejoin")

    @model_validator(mode="after")
    def _sizes(self):
        if self.files_per_mgmt > self.files:
            raise ValueError("files_per_mgmt must not exceed files")
        if -(-self.files // self.files_per_mgmt) > 100_000:
            raise ValueError("more than 100,000 management files: raise files_per_mgmt")
        if self.broken != "none" and self.variant != "log_aggregation":
            raise ValueError("broken applies to variant log_aggregation only")
        return self
