"""Parameters of `db_pitr` (defaults and their sources: docs/models/db_pitr.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.cloud.object_store import ObjectStoreParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveSize

BROKEN = ("none", "decision_after_commit", "answer_before_recovery", "keep_single_in_doubt",
          "no_coordinator_query", "no_threshold_clamp")


class DbPitrParams(Params):
    """A partitioned database with transaction coordinators, continuous log backup and PITR."""

    variant: Literal["coordinated", "independent", "single_coordinator"] = Field(
        "coordinated", description="coordinated: the mechanism (SAP US 11,720,451 B2); independent: each "
                                   "partition recovers to T alone and resolves in-doubt transactions locally "
                                   "(presumed abort); single_coordinator: the mechanism with one global coordinator")
    broken: Literal[BROKEN] = Field(  # type: ignore[valid-type]
        "none", description="BROKEN on purpose (tests and campaigns), one central step skipped or reordered: "
                            "decision_after_commit (participants commit before the decision is durable), "
                            "answer_before_recovery (a restored coordinator answers before its replay ends), "
                            "keep_single_in_doubt (open unprepared transactions are kept, not aborted), "
                            "no_coordinator_query (in-doubt transactions presumed aborted without asking), "
                            "no_threshold_clamp (recovery goes to T even past the safety threshold)")
    partitions: int = Field(8, ge=1, le=1024, description="data partitions (each a host with its own log)")
    coordinators: int = Field(4, ge=1, le=256, description="transaction-coordinator partitions "
                                                            "(single_coordinator uses 1)")
    clients: int = Field(32, ge=1, le=4096, description="closed-loop client sessions (each bound to a coordinator)")
    think_time: Duration = Field(0.0, description="mean pause between a client's transactions (exponential), s")
    exec_time: PositiveDuration = Field(2e-3, description="time a transaction spends executing its statements "
                                                          "before it asks to commit (exponential mean), s")
    multi_partition_fraction: float = Field(0.3, ge=0.0, le=1.0, description="share of transactions that "
                                                                              "touch several partitions")
    span: int = Field(2, ge=2, le=64, description="most partitions a multi-partition transaction touches "
                                                  "(drawn uniformly in 2..span)")
    write_bytes: PositiveSize = Field(512, description="log bytes of a transaction's writes at one partition")
    record_bytes: PositiveSize = Field(64, description="log bytes of a control record (prepare, commit, abort, "
                                                       "begin, decision, end)")
    net_latency: Duration = Field(250e-6, description="one-way message latency between hosts, s")
    log_force_time: PositiveDuration = Field(0.8e-3, description="time of one log force (fsync) of a group "
                                                               "commit, s")
    coordinator_cpu: Duration = Field(1e-4, description="coordinator CPU per distributed transaction "
                                                        "(2PC messages, control block, decision), s")
    coordinator_threads: int = Field(1, ge=1, le=256, description="coordinator threads running 2PC work")
    prepare_timeout: PositiveDuration = Field(50e-3, description="coordinator aborts when votes are not in by then")
    in_doubt_timeout: PositiveDuration = Field(100e-3, description="a participant asks the coordinator about "
                                                                   "a transaction prepared longer than this")
    backup_interval: PositiveDuration = Field(1.0, description="time between log-segment uploads of each log")
    backup_start_jitter: bool = Field(True, description="each log's backup phase drawn uniformly in one "
                                                        "interval (deployments do not align them)")
    replay_rate: ByteRate = Field(22.6e6, description="log bytes per second one restore host replays")
    restore_parallelism: int = Field(4, ge=1, le=64, description="segment downloads in flight per restore host")
    restore_at: float = Field(0.6, gt=0.0, lt=1.0, description="the restore starts at this fraction of the run")
    requested_point: Duration | None = Field(None, description="the requested point T, s (none: drawn "
                                                               "uniformly over [warm-up, restore start])")
    query_retry: PositiveDuration = Field(10e-3, description="a recovering partition retries an unreachable "
                                                             "coordinator after this, s")
    backup: ObjectStoreParams = Field(default_factory=ObjectStoreParams, description="the backup object store")

    @model_validator(mode="after")
    def _timeouts(self):
        if self.in_doubt_timeout <= self.prepare_timeout:
            raise ValueError("in_doubt_timeout must exceed prepare_timeout (a participant would ask about "
                             "transactions its coordinator is still preparing)")
        if self.variant == "independent" and self.broken != "none":
            raise ValueError("broken applies to the coordinated mechanism, not to the independent baseline")
        return self

    @property
    def n_coordinators(self) -> int:
        return 1 if self.variant == "single_coordinator" else self.coordinators
