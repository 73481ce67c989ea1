"""Point-in-time recovery of a partitioned database with several transaction coordinators
(system `db_pitr`; SAP US 11,720,451 B2, "Backup and recovery for distributed database with
scalable transaction manager").

Composition only; the actors live in modules named after them:

- `client.client`: closed-loop sessions running single- and multi-partition transactions;
- `partition.DataPartition` (a Host): writes, 2PC participant, local commits, in-doubt resolver;
- `coordinator.Coordinator` (a Host): two-phase commit, decision log, control blocks;
- `log.Log`: each host's write-ahead log with group commit;
- `backup.log_backup`: each log's continuous backup to the object store (`backup`);
- `pitr.Pitr` and `restore.RestoreHost`: the point-in-time restore at `restore_at` of the run.

The oracle (`oracle.Oracle`) learns each transaction's partitions from the client and its commit
point from the durable commit record; `check_recovered` compares the restored partitions with it.
Variants are strategy classes (`variants.py`). Doc: docs/models/db_pitr.md.
"""

from __future__ import annotations

from typing import Any

from sim.components.cloud.object_store import ObjectStore
from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.db_pitr.backup import BackupTruth, log_backup
from sim.systems.db_pitr.client import client
from sim.systems.db_pitr.coordinator import Coordinator
from sim.systems.db_pitr.log import SINGLE, C, D
from sim.systems.db_pitr.metrics import METRICS, assemble
from sim.systems.db_pitr.oracle import Oracle, RecoveredCheck
from sim.systems.db_pitr.params import DbPitrParams
from sim.systems.db_pitr.partition import DataPartition
from sim.systems.db_pitr.pitr import Pitr
from sim.systems.db_pitr.restore import RestoreHost
from sim.systems.db_pitr.targets import AtPoint, RecoveryLink
from sim.systems.db_pitr.variants import VARIANTS

_PA, _CO, _RE = ("partition_at_point",), ("coordinator_at_point",), ("restore_host_at_point",)
FAULT_POINTS = (
    FaultPoint("db.partition.prepare_force", "participant: PREPARE buffered, its force in flight (a crash "
               "loses it: the vote is lost, the coordinator must abort)", _PA),
    FaultPoint("db.partition.prepared", "participant: PREPARE durable, the yes vote not yet sent (in doubt "
               "after a crash until the coordinator answers)", _PA),
    FaultPoint("db.partition.commit_force", "participant: COMMIT of a decided transaction buffered, not "
               "durable (the coordinator must deliver it again)", _PA),
    FaultPoint("db.partition.single_commit_force", "single-partition commit record buffered, not durable "
               "(not committed; restart recovery rolls it back)", _PA),
    FaultPoint("db.coordinator.decision_force", "coordinator: every vote is yes, the decision record's force "
               "is in flight (a crash before it is durable means abort)", _CO),
    FaultPoint("db.coordinator.decided", "coordinator: decision durable, no participant told to commit "
               "(restart recovery must resume the commit phase)", _CO),
    FaultPoint("db.coordinator.before_end", "coordinator: every participant committed, the end record not "
               "written, the control block not removed", _CO),
    FaultPoint("db.backup.segment_uploaded", "log backup: a segment uploaded, the agent's checkpoint not "
               "advanced (it uploads the segment again after a restart)", _PA + _CO),
    FaultPoint("db.restore.partition_replay", "restore: a partition's segments downloaded, its replay "
               "starting", _RE),
    FaultPoint("db.restore.coordinator_replay", "restore: a coordinator's segments downloaded, its replay "
               "starting", _RE),
    FaultPoint("db.restore.resolve", "restore: a partition replayed, its open transactions not resolved", _RE),
    FaultPoint("db.restore.coordinator_answer", "restore: a restored coordinator about to answer a query "
               "(if it crashes it must replay again before it answers)", _RE),
    FaultPoint("db.pitr.threshold_chosen", "restore: the catalog read and the recovered point chosen, no "
               "restore host started", ()),
)
#: the points only a restore that restores the coordinators passes (not the `independent` baseline)
COORDINATOR_RESTORE_POINTS = ("db.restore.coordinator_replay", "db.restore.coordinator_answer")


@register_system("db_pitr")
class DbPitr(System):
    """Partitioned database with scalable transaction coordinators, continuous log backup and PITR."""

    Params = DbPitrParams
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: DbPitrParams, workload: Any = None) -> None:
        super().__init__(sim, params, workload)
        p = params
        self.variant = VARIANTS[p.variant]()
        # the points this variant passes (the class lists every variant's, for validation and
        # `sim list faultpoints`): a swarm campaign strikes only these
        self.fault_points = tuple(fp for fp in FAULT_POINTS if self.variant.restores_coordinators
                                  or fp.name not in COORDINATOR_RESTORE_POINTS)
        self.oracle = Oracle()
        self.truth = BackupTruth()
        self.store = ObjectStore(sim, p.backup, name="backup")
        self.partitions = [DataPartition(self, i) for i in range(p.partitions)]
        self.coordinators = [Coordinator(self, j) for j in range(p.n_coordinators)]
        self.restore_partitions = [RestoreHost(self, f"restore_partition[{i}]", f"partition[{i}]", "partition")
                                   for i in range(p.partitions)]
        self.restore_coordinators = [RestoreHost(self, f"restore_coordinator[{j}]", f"coordinator[{j}]",
                                                 "coordinator") for j in range(p.n_coordinators)]
        self.recovery_links = [RecoveryLink(f"recovery_link[{j}]") for j in range(p.n_coordinators)]
        self.at_point: dict[str, Any] = {}
        self._at_point_targets = {name: AtPoint(self, role, name) for role, name in
                                  (("partition", "partition_at_point"), ("coordinator", "coordinator_at_point"),
                                   ("restore", "restore_host_at_point"))}
        self.pitr = Pitr(self)
        self.recovered: RecoveredCheck | None = None
        self._next_txn = 0
        self._backup_started: set[str] = set()
        rec = sim.recorder
        self.c_committed = rec.counter("db.committed")
        self.c_multi = rec.counter("db.multi_committed")
        self.c_aborted = rec.counter("db.aborted")
        self.c_backup_bytes = rec.counter("db.backup_bytes")
        self.m_latency = rec.tally("db.commit_latency")

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        for h in self.partitions + self.coordinators:
            h.start()
        for cid in range(self.params.clients):
            self.env.process(client(self, cid))
        sim, p = self.sim, self.params
        at = p.restore_at * sim.duration
        if p.requested_point is not None:
            requested = min(p.requested_point, at)
        else:
            requested = float(sim.rng("db.pitr.requested").uniform(min(sim.warmup, at), at))
        self.env.process(self.pitr.run(at, requested))

    def start_backup(self, host) -> None:
        first = host.name not in self._backup_started
        self._backup_started.add(host.name)
        host.process(log_backup(self, host, host.log, first))

    def new_txn(self) -> int:
        self._next_txn += 1
        return self._next_txn

    def point(self, name: str, host: Any) -> None:
        """A fault point reached by `host` (the host a crash `..._at_point` strikes)."""
        if host is not None:
            self.at_point["restore" if isinstance(host, RestoreHost) else host.role] = host
        self.sim.fault_point(name)

    def default_host(self, role: str) -> Any:
        return {"partition": self.partitions, "coordinator": self.coordinators,
                "restore": self.restore_partitions}[role][0]

    # --- commit points (the oracle's only inputs besides the client's partitions) -------------------
    def on_partition_durable(self, rec: tuple) -> None:
        if rec[1] == C and rec[3] == SINGLE:
            self.oracle.commit(rec[2], rec[0])
            self.c_committed.inc()

    def on_coordinator_durable(self, coordinator: Coordinator, rec: tuple) -> None:
        if rec[1] == D:
            coordinator.on_decision_durable(rec[2])
            self.oracle.commit(rec[2], rec[0])
            self.c_committed.inc()
            self.c_multi.inc()

    def violation(self, invariant: str, detail: str, **data: Any) -> None:
        self.violation_log.add(invariant, detail, self.env.now, **data)

    # --- the recovered database against the oracle ---------------------------------------------------
    def check_recovered(self) -> None:
        x = self.pitr
        res = self.oracle.check([h.applied for h in self.restore_partitions],
                                 [x.points[h.log_name] for h in self.restore_partitions])
        self.recovered = res
        if not self.variant.atomic:
            return  # a baseline: its atomicity loss and lost transactions are measured outcomes (metrics)
        if res.atomicity:
            self.violation("recovered_atomicity", f"{res.atomicity} transaction(s) half applied after "
                           f"recovery to {x.point:.6f} s; first: {res.first}", count=res.atomicity)
        if res.lost or res.extra:
            self.violation("recovered_state", f"recovered database differs from the oracle at "
                           f"{x.point:.6f} s: {res.lost} committed transaction(s) missing, {res.extra} "
                           f"uncommitted applied; first: {res.first}", lost=res.lost, extra=res.extra)
        if x.point > x.true_threshold:
            self.violation("point_within_threshold", f"recovered point {x.point:.6f} s is after the safety "
                           f"threshold {x.true_threshold:.6f} s (the logs are not complete up to it)")

    # --- faults, liveness, results -----------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        out: dict[str, FaultTarget] = {h.name: h for h in self.partitions + self.coordinators}
        out |= {h.name: h for h in self.restore_partitions + self.restore_coordinators}
        out |= {lk.name: lk for lk in self.recovery_links}
        out["backup"] = self.store
        out |= self._at_point_targets
        return out

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Crashes of partitions, coordinators and restore hosts; lost and corrupt log segments; a
        backup-store outage; a restored coordinator unreachable."""
        restart = {"dist": "uniform", "low": 0.01, "high": 0.5}
        return [
            {"kind": "crash", "target": "partition[*]", "restart_after": restart},
            {"kind": "crash", "target": "coordinator[*]", "restart_after": restart},
            {"kind": "crash", "target": "restore_partition[*]", "restart_after": restart},
            {"kind": "crash", "target": "restore_coordinator[*]", "restart_after": restart},
            {"kind": "lose_data", "target": "backup", "count": 1},
            {"kind": "corrupt_data", "target": "backup", "count": 1},
            {"kind": "outage", "target": "backup", "duration": {"dist": "uniform", "low": 0.1, "high": 2.0}},
            {"kind": "link_down", "target": "recovery_link[*]",
             "duration": {"dist": "uniform", "low": 0.01, "high": 0.5}},
        ]

    def converged(self) -> str | None:
        if self.pitr.phase != "done":
            return f"the point-in-time restore has not finished (phase {self.pitr.phase})"
        down = [h.name for h in self.partitions + self.coordinators if not h.up]
        return f"hosts still down: {down}" if down else None

    def progress(self) -> tuple[float, int]:
        return self.c_committed.value + self.c_aborted.value, self.params.clients

    def metrics(self) -> dict[str, float]:
        return assemble(self)
