"""Fast ransomware recovery with critical and context storage (system `ransomware_recovery`).

US 11,520,666 B2 ("Systems, methods, and apparatus for fast ransomware recovery", DT Labs): files
on a primary device are made of records; a classifier per file type finds their critical fields;
in real time, as writes happen, the critical fields go to an isolated critical store and the rest
of each record, with tags in place of the critical fields, to a context store. After ransomware
encrypts the primary, applications are redirected to the context store (tags resolved against
the critical store) while record-by-record copying restores the primary. Baselines: periodic
(forever-incremental) backups with a full copy-back, and immutable snapshots with rollback.

This module composes the nodes, the stores, the oracle and the actors (`application.py`,
`split_write.py`, `restore.py`, `baselines.py`, the operator's response in `variants.py`) and
runs the incident: attack (the primary's `ransomware` fault) -> detection after a delay ->
isolation of the primary -> the variant's recovery. One incident per run: a ransomware fault
after the detection is ignored. Abstracted away: docs/models/ransomware_recovery.md.
"""

from __future__ import annotations

import gc
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import simpy

from sim.components.host import Host
from sim.components.node import NodeParams
from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.ransomware_recovery.application import application
from sim.systems.ransomware_recovery.checks import check_end_state, check_restored
from sim.systems.ransomware_recovery.layout import FileTypes, Layout
from sim.systems.ransomware_recovery.metrics import COUNTERS, METRICS
from sim.systems.ransomware_recovery.nodes import ArrayNode, PrimaryArray
from sim.systems.ransomware_recovery.oracle import NOT_RESTORED, RecordOracle
from sim.systems.ransomware_recovery.params import RansomwareRecoveryParams
from sim.systems.ransomware_recovery.restore import read_probe
from sim.systems.ransomware_recovery.split_stores import SplitStores
from sim.systems.ransomware_recovery.variants import VARIANTS
from sim.systems.ransomware_recovery.vault import VaultServer

_P = ("primary",)  # the split write runs on the primary in normal operation and while it is encrypted
_A = ("restore_agent",)  # the failover writes and the copy-back run on the restore agent


def _write_points(prefix: str, where: str, targets: tuple[str, ...]) -> tuple[FaultPoint, ...]:
    return (
        FaultPoint(f"ransomware_recovery.{prefix}.classified", f"split write {where}: the batch's critical fields "
                   "are classified, nothing written to the stores yet", targets),
        FaultPoint(f"ransomware_recovery.{prefix}.after_first_store", f"split write {where}: the critical fields "
                   "are durable in the critical store, the tagged context entries not yet (a crash tears the pair)",
                   targets),
        FaultPoint(f"ransomware_recovery.{prefix}.both_durable", f"split write {where}: both stores durable, the "
                   "write not yet acknowledged", targets),
    )


#: the split write's points are named by where it runs, so that a campaign's hit (drawn uniformly among a
#: fault-free run's hits of the point) lands in that phase: `split_write` (the primary, no attack running:
#: before the attack and after the restore), `split_write_attacked` (the primary while the ransomware encrypts
#: it, attack start -> detection: the stores are about to be the only copy), `failover_write` (the restore
#: agent during failover, while the copy-back runs)
FAULT_POINTS = (
    FaultPoint("ransomware_recovery.write.primary_durable", "write path: a batch durable on the primary, its "
               "split write not begun (not yet acknowledged; acknowledged already by ack_before_split_write)", _P),
    *_write_points("split_write", "on the primary", _P),
    *_write_points("split_write_attacked", "on the primary while it is being encrypted", _P),
    *_write_points("failover_write", "on the restore agent during failover", _A),
    FaultPoint("ransomware_recovery.restore.batch_read", "copy-back: a batch about to be read from its source", _A),
    FaultPoint("ransomware_recovery.restore.batch_write", "copy-back: a batch read, about to be written to the "
               "primary", _A),
    FaultPoint("ransomware_recovery.restore.batch_done", "copy-back: a batch written to the primary and "
               "recorded done", _A),
)


@register_system("ransomware_recovery")
class RansomwareRecovery(System):
    """A primary of records protected by a split critical/context backup, periodic backups or snapshots."""

    Params = RansomwareRecoveryParams
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: RansomwareRecoveryParams, workload=None) -> None:
        super().__init__(sim, params, workload)
        # A finished replication's arrays (hundreds of MB at 10 M records) hang in reference cycles
        # (SimPy processes <-> the system) that the cyclic GC rarely reaches between runs in one
        # process: a serial sweep grew ~240 MB per run (3.45 GB for 12). Collect them before
        # allocating this run's (measured: 3 runs stay at 339 MB instead of 349/540/800 MB).
        gc.collect()
        p = params
        self.layout = lay = Layout(p)
        rng = sim.rng("ransomware_recovery.layout")
        self.types = FileTypes(p, rng)
        self.hot_files = np.sort(rng.permutation(p.files)[:max(1, round(p.hot_fraction * p.files))])
        e, size = lay.extents, p.extent_size
        self.primary = PrimaryArray(sim, p.primary, size, e, "primary", self._on_attack)
        self.vault = ArrayNode(sim, p.critical, size, e, "vault")
        self.vault_server = VaultServer(self.env, self.vault, p.vault_threads, p.vault_lookup_time,
                                        lay.field_size + p.critical_key_size)
        self.context_store = ArrayNode(sim, p.context, size, e, "context_store")
        self.backup_node = ArrayNode(sim, p.backup_target, size, e, "backup_target")
        self.agent = Host(sim, None, "restore_agent", restart_time=NodeParams().restart_time)
        self.prim_ver = np.zeros(lay.records, dtype=np.int32)
        self.oracle = RecordOracle(lay.records)
        self.stores = (SplitStores(lay, self.types, p.files, p.broken, self.vault, self.context_store)
                       if p.variant == "split_backup" else None)
        self.variant = VARIANTS[p.variant](self)
        # the points this variant's actors pass (the class lists every variant's, for validation and
        # `sim list faultpoints`): a swarm campaign strikes only these
        self.fault_points = tuple(fp for fp in FAULT_POINTS if fp.name.startswith(self.variant.points))
        self.write_lock = simpy.Resource(self.env, capacity=1)
        self.mode = "primary"  # where the applications' I/O goes: primary | failover | down
        self.phase = "normal"  # normal | attacked | detected | done
        self.hold_writes = False
        self.copier = None
        self.attack_time = self.detect_time = self.resume_time = self.full_time = math.nan
        self.restore_point = math.nan
        self.records_encrypted = math.nan
        self.lost = self.wrong = math.nan
        self.degraded_ops_s = math.nan
        rec = sim.recorder
        self.c = {n: rec.counter(f"ransomware_recovery.{n}") for n in COUNTERS}
        self.m_degraded = rec.tally("ransomware_recovery.degraded_read")
        self.m_normal = rec.tally("ransomware_recovery.normal_read")
        self.primary.on_restart.append(lambda: self.variant.on_primary_restart(self))
        self.backup_node.on_restart.append(lambda: self.variant.on_backup_restart(self))
        self.agent.on_restart.append(lambda: self.variant.on_agent_restart(self))
        self._targets = {"primary": self.primary, "vault": self.vault, "context_store": self.context_store,
                         "backup_target": self.backup_node, "restore_agent": self.agent}

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.env.process(application(self))
        self.variant.start()
        self.env.process(read_probe(self, degraded=False))
        if self.params.scheduled_attack:
            self.env.process(self._scheduled_attack())

    def _scheduled_attack(self):
        p = self.params
        rng = self.sim.rng("ransomware_recovery.attack")
        yield self.env.timeout(float(rng.uniform(p.attack_start_min, p.attack_start_max)))
        if not self.primary.up:  # the encryption starts on a running server (a campaign crash may hold it down)
            yield self.primary.wait_up()
        self.primary._inject_ransomware(SimpleNamespace(params={"rate": p.attack_rate}))

    def write_host(self) -> Host | None:
        """Where the applications' writes go now (None: refused)."""
        if self.hold_writes:
            return None
        if self.mode == "primary":
            return self.primary
        return self.agent if self.mode == "failover" else None

    def acknowledge(self, ids: np.ndarray, vers: np.ndarray) -> None:
        self.oracle.commit(ids, vers)
        self.c["writes_committed"].inc(len(ids))

    # --- the incident ---------------------------------------------------------------------------
    def _on_attack(self, fault: Any) -> bool:
        """The primary's ransomware fault starts: the first one opens the incident."""
        if self.phase == "attacked":
            return True
        if self.phase != "normal":
            return False
        now = self.env.now
        self.phase = "attacked"
        self.attack_time = now
        self.oracle.mark_attack(now)
        self.variant.on_attack(self)
        reach = self.params.attacker_reaches  # the backup side too, with the same tool and credentials
        for node in {"primary": (), "backup_target": (self.backup_node,),
                     "backup_and_context": (self.backup_node, self.context_store)}[reach]:
            node._inject_ransomware(SimpleNamespace(params={"rate": fault.params.get("rate")}))
        self.env.process(self._detector())
        self.sim.note("attack", rate=float(fault.params.get("rate") or 0.0))
        return True

    def _detector(self):
        """Detection (EDR alert, canary file, ransom note) after a lognormal delay."""
        p = self.params
        z = float(self.sim.rng("ransomware_recovery.detection").standard_normal())
        yield self.env.timeout(p.detection_delay * math.exp(p.detection_delay_sigma * z))
        self.phase = "detected"
        self.detect_time = self.env.now
        enc = self.primary.encrypted_set()
        self.records_encrypted = float(sum(min(self.layout.rpe, self.layout.records - x * self.layout.rpe)
                                           for x in enc))
        self.mode = "down"
        self.primary.go_down("isolated")  # the infected server is cut off: the encryption stops
        self.sim.note("detected", records_encrypted=self.records_encrypted)
        self.env.process(self.variant.recover(self))

    def rebuild_primary(self) -> None:
        """The isolated primary is wiped and rebuilt: clean extents, no record on it yet."""
        self.primary.fill()
        self.prim_ver[:] = NOT_RESTORED
        self.primary.come_up()

    def resumed(self) -> None:
        if math.isnan(self.resume_time):
            self.resume_time = self.env.now
            self.sim.note("service_resumed", mode=self.mode)

    def restored(self) -> None:
        """Every record is on the primary again: check it, and move the applications back."""
        self.full_time = self.env.now
        self.lost, self.wrong = check_restored(self)
        self.mode = "primary"
        self.phase = "done"
        self.sim.note("restored", records_lost=self.lost, records_wrong=self.wrong)

    # --- faults, liveness, invariants -----------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        return self._targets

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Ransomware on the primary or the variant's backup side at published speeds; crashes of every
        host the variant uses (a crash of a node it never touches changes nothing)."""
        rate = {"dist": "uniform", "low": 4.3e6, "high": 216.6e6}  # Splunk SURGe: slowest .. fastest family
        restart = {"dist": "uniform", "low": 1.0, "high": 600.0}
        v = self.variant
        out: list[dict[str, Any]] = [{"kind": "ransomware", "target": t, "rate": rate} for t in v.attack_targets]
        out += [{"kind": "crash", "target": t, "restart_after": restart} for t in v.hosts]
        return out

    def converged(self) -> str | None:
        if self.phase in ("attacked", "detected"):
            return f"the incident is not resolved (phase {self.phase}, service {self.mode})"
        return None

    def check_at_end(self) -> None:
        check_end_state(self)

    def metrics(self) -> dict[str, float]:
        lay = self.layout
        det = self.detect_time
        dd, dn = self.m_degraded, self.m_normal
        leak = self.stores.critical_bytes_in_context() if self.stores is not None else math.nan
        return {
            "time_to_resume_s": self.resume_time - det,
            "time_to_full_restore_s": self.full_time - det,
            "records_lost": 0.0 if self.phase == "normal" else float(self.lost),
            "records_wrong": (0.0 if math.isnan(self.wrong) else float(self.wrong)) + self.c["reads_wrong"].value,
            "degraded_read_latency_p99_s": dd.percentile(99) if dd.n else math.nan,
            "degraded_read_latency_mean_s": dd.mean if dd.n else math.nan,
            "degraded_throughput_ops_s": self.degraded_ops_s,
            "normal_read_latency_p99_s": dn.percentile(99) if dn.n else math.nan,
            "storage_overhead_ratio": self.variant.storage_bytes(self) / (lay.records * lay.record_size),
            "critical_bytes_in_context": leak,
            "attack_time_s": self.attack_time,
            "detection_delay_s": det - self.attack_time,
            "records_encrypted": self.records_encrypted,
            "restore_point_age_s": self.attack_time - self.restore_point,
            "writes_committed": float(self.c["writes_committed"].value),
            "writes_refused": float(self.c["writes_refused"].value),
            "records_copied": float(self.c["records_copied"].value),
            "records_recopied": float(self.copier.recopied) if self.copier is not None else 0.0,
            "reads_unavailable": float(self.c["reads_unavailable"].value),
            "backups_taken": float(self.c["backups_taken"].value),
            "snapshots_taken": float(self.c["snapshots_taken"].value),
            "records_total": float(lay.records),
        }
