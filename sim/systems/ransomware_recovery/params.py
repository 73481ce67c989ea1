"""Parameters of `ransomware_recovery`: data layout, workload, devices, attack response, variants.

Every default is sourced in docs/models/ransomware_recovery.md ("Parameters").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.storage import SsdParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize

#: deliberately broken steps (each one BROKEN on purpose; a test and the swarm must catch it)
BROKEN = ("none", "skip_classify", "misclassify", "skip_split_write", "ack_before_split_write",
          "context_before_critical", "skip_tag_substitution", "skip_tag_resolution", "skip_tag_version_check",
          "skip_recopy", "cursor_before_copy", "skip_clean_point_check")


class RansomwareRecoveryParams(Params):
    variant: Literal["split_backup", "periodic_backup", "snapshot_rollback"] = Field(
        "split_backup", description="split_backup: the mechanism (real-time critical/context split, failover, "
        "record-by-record restore); periodic_backup: full + daily incremental backups to a backup target, full "
        "copy-back before service; snapshot_rollback: immutable array snapshots every interval, rollback")
    files: int = Field(1000, ge=1, description="files on the primary device")
    records_per_file: int = Field(10_000, ge=1, description="records in each file")
    record_size: PositiveSize = Field(1024, description="bytes of one record")
    fields_per_record: int = Field(16, ge=1, le=62, description="fields of a record (equal sizes)")
    file_types: int = Field(8, ge=1, le=64, description="file types (each with its own record structure and "
                            "critical fields)")
    critical_fraction: float = Field(0.125, ge=0.0, le=1.0, description="fraction of a record's fields that "
                                     "its file type marks critical (rounded per type, at least one if > 0)")
    tag_size: PositiveSize = Field(16, description="bytes of a tag substituted for one critical field")
    critical_key_size: PositiveSize = Field(16, description="index bytes the critical store keeps per field")
    write_rate: PositiveRate = Field(500.0, description="record writes per second (Poisson)")
    hot_fraction: float = Field(0.2, gt=0.0, le=1.0, description="fraction of files that are hot")
    hot_write_share: float = Field(0.8, ge=0.0, le=1.0, description="fraction of writes going to hot files")
    write_batch: PositiveDuration = Field(30.0, description="simulation granularity of the writes: the writes "
                                          "arriving in one window are issued and committed together")
    extent_size: PositiveSize = Field(4 * 2**20, description="bytes of one extent (the block the ransomware "
                                      "encrypts, on every device)")
    primary: SsdParams = Field(SsdParams(), description="the primary device")
    critical: SsdParams = Field(SsdParams(), description="the isolated critical store's device")
    context: SsdParams = Field(SsdParams(), description="the context store's device")
    backup_target: SsdParams = Field(SsdParams(), description="the backup target's device (periodic_backup)")
    vault_rtt: Duration = Field(500e-6, description="network round trip to the isolated critical store, s")
    vault_lookup_time: Duration = Field(12.3e-6, description="server time of one tag lookup at the critical "
                                        "store (one request of one worker thread), s")
    vault_threads: int = Field(1, ge=1, le=1024, description="worker threads of the critical store's lookup "
                               "server")
    detection_delay: Duration = Field(2572.0, description="median time from the start of encryption to its "
                                      "detection, s")
    detection_delay_sigma: float = Field(0.5, ge=0.0, le=3.0, description="lognormal spread of the detection "
                                         "delay (0: always the median)")
    failover_time: Duration = Field(60.0, description="time to redirect the applications to the context "
                                    "store once the attack is detected, s")
    reimage_time: Duration = Field(1800.0, description="time to wipe and rebuild the isolated primary before "
                                   "data can be copied back to it, s")
    rollback_time: Duration = Field(300.0, description="time to revert the volume to a snapshot and restart "
                                    "the applications, s")
    restore_parallelism: int = Field(4, ge=1, le=256, description="batches copied back at once")
    restore_batch: int = Field(65_536, ge=1, description="records per copy-back batch")
    backup_interval: PositiveDuration = Field(86_400.0, description="time between incremental backups")
    snapshot_interval: PositiveDuration = Field(3600.0, description="time between snapshots")
    snapshot_retention: int = Field(24, ge=1, description="snapshots kept")
    snapshots_immutable: bool = Field(True, description="snapshots cannot be deleted by the attacker "
                                      "(false: the ransomware deletes them when it starts)")
    attacker_reaches: Literal["primary", "backup_target", "backup_and_context"] = Field(
        "primary", description="what the attacker encrypts besides the primary, from the attack's start, with "
        "the same tool (their ransomware fault, same rate): nothing; the backup target (the periodic backups' "
        "images); the backup target and the context store. The critical store stays isolated")
    scheduled_attack: bool = Field(False, description="the model itself starts one attack on the primary (through "
                                   "its ransomware fault) at a uniform time in [attack_start_min, attack_start_max]: "
                                   "for swarm campaigns, whose schedules replace the scenario's faults")
    attack_start_min: Duration = Field(3600.0, description="earliest start of the scheduled attack, s")
    attack_start_max: Duration = Field(7200.0, description="latest start of the scheduled attack, s")
    attack_rate: ByteRate = Field(20.97e6, description="encryption rate of the scheduled attack, bytes/s")
    probe_readers: int = Field(16, ge=1, le=1024, description="closed-loop readers measuring the read path")
    probe_window: PositiveDuration = Field(0.05, description="length of one read-path measurement, s")
    broken: Literal[BROKEN] = Field(
        "none", description="BROKEN on purpose (tests): skip or reorder one central step: skip_classify, "
        "misclassify, skip_split_write, ack_before_split_write, context_before_critical, skip_tag_substitution, "
        "skip_tag_resolution, skip_tag_version_check, skip_recopy, cursor_before_copy, skip_clean_point_check")

    @model_validator(mode="after")
    def _check(self) -> RansomwareRecoveryParams:
        if self.extent_size < self.record_size:
            raise ValueError("extent_size must hold at least one record (>= record_size)")
        if self.records_per_file * self.files > 2**31 - 1:
            raise ValueError("files x records_per_file must stay below 2**31 records")
        if self.tag_size > self.record_size / self.fields_per_record:
            raise ValueError("tag_size must not exceed a field (record_size / fields_per_record)")
        if self.attack_start_max < self.attack_start_min:
            raise ValueError("attack_start_max must not be before attack_start_min")
        return self

    @property
    def records(self) -> int:
        return self.files * self.records_per_file

    @property
    def field_size(self) -> float:
        return self.record_size / self.fields_per_record
