"""The primary/backup system: composition of the hosts, the link, the actors and the oracle."""

from __future__ import annotations

import math

from examples.primary_backup.backup import BackupHost
from examples.primary_backup.oracle import VersionOracle, check_durable, check_recovered
from examples.primary_backup.params import PrimaryBackupParams
from examples.primary_backup.primary import client
from examples.primary_backup.variants import ACK
from sim.components.host import Host
from sim.components.network import Link
from sim.core.process import Backoff
from sim.core.registry import register_system
from sim.core.system import Metric, System


@register_system("primary_backup")
class PrimaryBackup(System):
    """A primary replicating writes to a backup over a link; the backup logs and snapshots them."""

    Params = PrimaryBackupParams
    metrics_spec = (
        Metric("writes", "writes the primary accepted after the warm-up"),
        Metric("acked_writes", "writes acknowledged to the client"),
        Metric("refused_writes", "writes refused because the primary was down"),
        Metric("retransmissions", "writes resent after a lost message or a backup crash"),
        Metric("ack_latency_mean_s", "mean time from a write's arrival to its acknowledgement"),
        Metric("ack_latency_p99_s", "99th percentile of the acknowledgement latency"),
        Metric("snapshots", "snapshots of the backup committed (whole run)"),
        Metric("backup_log_entries", "entries in the backup's log at the end (not yet covered by a snapshot)"),
        Metric("primary_downtime_s", "time the primary was down (whole run)"),
        Metric("backup_downtime_s", "time the backup was down (whole run)"),
    )

    def __init__(self, sim, params: PrimaryBackupParams, workload=None) -> None:
        super().__init__(sim, params, workload)
        self.ack = ACK[params.ack]()
        self.primary = Host(sim, None, "primary", restart_time=params.restart_time)
        self.backup = BackupHost(sim, params, "backup")
        self.backup.on_restart.append(self._check_recovery)  # after BackupHost.recover
        self.link = Link(sim, params.link, "link")
        self.oracle = VersionOracle()
        self.backoff = Backoff(params.retry_timeout, params.retry_cap, sim.rng("primary_backup.retry"))
        rec = sim.recorder
        self.writes = rec.counter("writes")
        self.acked = rec.counter("acked_writes")
        self.refused = rec.counter("refused_writes")
        self.retransmissions = rec.counter("retransmissions")
        self.ack_latency = rec.tally("ack_latency")
        self._inflight: dict[int, float] = {}  # write transaction -> start time
        self._next_txn = 0

    def start(self) -> None:
        self.env.process(client(self))
        self.backup.process(self.backup.snapshotter())

    def fault_targets(self):
        return {"primary": self.primary, "backup": self.backup, "link": self.link}

    # --- what the actors report ---------------------------------------------------------------
    def begin(self, t0: float) -> int:
        self._next_txn += 1
        self._inflight[self._next_txn] = t0
        return self._next_txn

    def end(self, txn: int) -> None:
        del self._inflight[txn]

    def acknowledge(self, key: int, version: int, t0: float) -> None:
        now = self.env.now
        self.oracle.acknowledge(key, version, now)
        self.acked.value += 1
        self.ack_latency.record(now - t0)

    # --- invariants -----------------------------------------------------------------------------
    def _check_recovery(self) -> None:
        check_recovered(self.oracle, self.backup.table, self.env.now, self.violation_log)

    def check_at_end(self) -> None:
        b = self.backup
        check_durable(self.oracle, b.log, b.snapshot, self.env.now, self.violation_log)

    def converged(self) -> str | None:
        if not (self.primary.up and self.backup.up):
            return "primary or backup still down"
        start = self.sim.heal_start
        stuck = sum(1 for t0 in self._inflight.values() if start is not None and t0 < start)
        return f"{stuck} write(s) from before the heal phase still unacknowledged" if stuck else None

    def metrics(self) -> dict[str, float]:
        lat = self.ack_latency
        return {
            "writes": float(self.writes.value),
            "acked_writes": float(self.acked.value),
            "refused_writes": float(self.refused.value),
            "retransmissions": float(self.retransmissions.value),
            "ack_latency_mean_s": lat.mean if lat.n else math.nan,
            "ack_latency_p99_s": lat.percentile(99),
            "snapshots": float(self.backup.snapshots),
            "backup_log_entries": float(len(self.backup.log)),
            "primary_downtime_s": self.primary.downtime_s,
            "backup_downtime_s": self.backup.downtime_s,
        }
