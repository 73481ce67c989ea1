"""Fast restart recovery and read-only replicas of a key-value store (system `kv_recovery`).

The store keeps its data in pages found through a page mapping table (page id -> location in an
append-only file stream on an SSD). This module composes it; the actors live in modules named
after them:

- `client.client`: Poisson arrivals of reads and user transactions; `client.serve_read` routes a
  read to a ready replica or the writable primary;
- `transactions.user_transaction` and `transactions.log_writer` (group commit);
- `page_writer.page_writer`: flush cycles to the file stream and the system log;
- `checkpointer.checkpointer`: mapping-table checkpoints and metadata-log records;
- `restart_recovery.restart_recovery`: the primary's restart recovery (checkpoint, system log,
  user log from min(oldest uncommitted, replay point));
- `replica.Replica`: read-only replicas forming from, and refreshing from, the file stream.

The primary (`primary`) and the node it runs on (`node`, which also runs the replicas) are
`Host`s: a crash interrupts their processes and loses volatile state; overlapping crashes nest
(`targets.py`). The durable media are `durable.DurableMedia`; the invariants check against
`oracle.Oracle`; variants are strategy classes (`variants.py`).

Abstracted away: see docs/models/kv_recovery.md ("What the model abstracts away").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.components.host import Host
from sim.components.storage import SSD
from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.kv_recovery.client import client
from sim.systems.kv_recovery.durable import DurableMedia
from sim.systems.kv_recovery.metrics import METRICS, assemble
from sim.systems.kv_recovery.oracle import MappingOracle, Oracle, check_durable_commits, check_system_replay
from sim.systems.kv_recovery.outage import OutageTracker
from sim.systems.kv_recovery.params import KvRecoveryParams, KvWorkload
from sim.systems.kv_recovery.replica import Replica
from sim.systems.kv_recovery.restart_recovery import restart_recovery
from sim.systems.kv_recovery.targets import NodeTarget, PrimaryTarget, StorageTarget
from sim.systems.kv_recovery.variants import REPLAY_START, VARIANTS

_P = ("primary", "node")  # a crash of the primary alone, or of the node it runs on
_N = ("node",)  # the replicas run on the node
FAULT_POINTS = (
    FaultPoint("kv.user_log.group_commit_write", "group commit: the batch's log records are being written, "
               "nothing acknowledged yet (a crash loses the batch; none of it may be acknowledged)", _P),
    FaultPoint("kv.user_log.group_commit_acked", "group commit: the batch is durable and acknowledged, "
               "the pages hold it only in memory (recovery must replay it from the user log)", _P),
    FaultPoint("kv.flush.page_write", "page flush: dirty pages captured at boundary L, their images being "
               "written to the file stream", _P),
    FaultPoint("kv.flush.system_log_write", "page flush vs mapping change: the images are in the file stream, "
               "the system-log group commit (mapping changes + boundary L) is not yet durable", _P),
    FaultPoint("kv.flush.system_log_durable", "the system log holds the flush's mapping changes and boundary; "
               "recovery must find this mapping (checked by recovered_mapping)", _P),
    FaultPoint("kv.checkpoint.user_record_appended", "user checkpoint: the record (latest flush boundary) is "
               "in the log buffer, not yet durable (a crash loses it; recovery uses the previous one)", _P),
    FaultPoint("kv.checkpoint.mapping_chunk", "checkpoint: the user checkpoint record is durable, a chunk of "
               "the mapping-table snapshot is about to be written (a crash tears the checkpoint)", _P),
    FaultPoint("kv.checkpoint.before_metadata_record", "checkpoint: the mapping is complete on storage, its "
               "metadata-log (manifest) record is not written (recovery must not use it)", _P),
    FaultPoint("kv.checkpoint.after_metadata_record", "checkpoint: the metadata record names it (recovery "
               "starts from it and must replay the system log written since its snapshot)", _P),
    FaultPoint("kv.recovery.metadata_read", "restart recovery: reading the metadata log", _P),
    FaultPoint("kv.recovery.checkpoint_load", "restart recovery: the checkpoint is chosen, its mapping being "
               "loaded", _P),
    FaultPoint("kv.recovery.system_log_replay", "restart recovery: reading and applying the system log from "
               "the checkpoint's replay start", _P),
    FaultPoint("kv.recovery.user_log_replay", "restart recovery: mapping rebuilt, the user log being read "
               "from the replay start", _P),
    FaultPoint("kv.recovery.user_log_apply", "restart recovery: applying the replayed user-log records, "
               "the primary not yet writable", _P),
    FaultPoint("kv.replica.form.metadata_read", "replica forming: reading the metadata log", _N),
    FaultPoint("kv.replica.form.checkpoint_load", "replica forming: loading the checkpoint's mapping", _N),
    FaultPoint("kv.replica.form.system_log_replay", "replica forming: replaying the system log", _N),
    FaultPoint("kv.replica.refresh_read", "replica refresh: reading the system log written since the last "
               "refresh", _N),
    FaultPoint("kv.replica.refresh_adopted", "replica refresh: a newer flush boundary adopted", _N),
)

COUNTERS = ("reads_served", "replica_reads", "primary_reads", "reads_delayed", "writes_acked", "txns_acked",
            "txns_aborted", "value_bytes_acked", "log_bytes_written", "page_bytes_written",
            "system_log_bytes_written", "checkpoint_bytes_written", "metadata_bytes_written",
            "checkpoints_completed", "checkpoints_torn", "replayed_log_bytes", "replayed_records",
            "checkpoint_fallbacks", "recoveries", "crashes", "lost_buffered_records", "page_flushes",
            "user_checkpoints", "user_log_replayed_bytes", "replayed_txns")


@register_system("kv_recovery")
class KvRecovery(System):
    """Key-value store with checkpointed page mapping, restart recovery and read-only replicas."""

    Params = KvRecoveryParams
    Workload = KvWorkload
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: KvRecoveryParams, workload: KvWorkload | None = None) -> None:
        super().__init__(sim, params, workload or KvWorkload())
        p = params
        env = self.env
        self.variant = VARIANTS[p.variant]()
        self.replay_start = REPLAY_START[p.user_replay_start]
        self.kpp = max(1, int(p.page_size // max(self.workload.value_size.expected() + p.log_record_header, 1.0)))
        self.n_pages = -(-p.keys // self.kpp)
        self.total_pages = max(self.n_pages, int(p.database_size // p.page_size))
        self.mapping_bytes = float(self.total_pages * p.mapping_entry_size)
        self.ssd = SSD(sim, p.storage, name="kv.ssd")
        self.media = media = DurableMedia(self.kpp, self.n_pages, self.mapping_bytes)
        self.ulog, self.syslog, self.fstream = media.ulog, media.syslog, media.fstream
        self.checkpoints, self.metadata = media.checkpoints, media.metadata
        # volatile state of the primary
        self.values = np.zeros(self.n_pages * self.kpp, dtype=np.int64)
        # bytes of each key's current record (header + value), the load-time value size until written
        self.record_bytes = np.full(self.n_pages * self.kpp, self.workload.value_size.expected() + p.log_record_header)
        self.record_bytes[p.keys :] = 0.0  # padding keys of the last page hold nothing
        self.pages = self.values.reshape(self.n_pages, self.kpp)
        self.mapping = media.checkpoints[0].mapping.copy()
        self.dirty = np.zeros(self.n_pages, dtype=bool)
        self.active: dict[int, int] = {}  # txn id -> begin timestamp, in begin order
        self.applied_ts = 0  # every transaction committed at or before this is applied to `values`
        self.boundary = (0, 0, 0.0)  # latest durable flush boundary (L, oldest, time)
        self.commit_queue: list[tuple] = []
        self.batch_event = env.event()
        self.log_wakeup = None
        self.next_txn = 1
        self.next_wid = 1
        self.writable = True
        self.writable_event = env.event()
        self.read_ready_event = env.event()
        self.rr = 0
        self.waiting = 0  # reads that found no server and transactions waiting for a writable primary
        # the hosts that crash and restart
        self.primary = Host(sim, None, "kv.primary")
        self.node = Host(sim, None, "kv.node")
        self.primary.on_crash.append(self._primary_crashed)
        self.primary.on_restart.append(self._primary_restarted)
        self.node.on_crash.append(self._node_crashed)
        self.node.on_restart.append(self._node_restarted)
        self.replicas = [Replica(self, i) for i in range(self.variant.replicas(p))]
        # the points this instance's actors pass (the class lists every variant's, for validation and
        # `sim list faultpoints`): a swarm campaign strikes only these
        unused = (() if self.variant.checkpoints else ("kv.checkpoint.",)) + (() if self.replicas else ("kv.replica.",))
        self.fault_points = tuple(fp for fp in FAULT_POINTS if not fp.name.startswith(unused))
        self.outage = OutageTracker()
        self.oracle = Oracle(self.n_keys_padded)
        self.mapping_oracle = MappingOracle(self.n_pages)
        self._targets = {"node": NodeTarget(self), "primary": PrimaryTarget(self), "storage": StorageTarget(self)}
        rec = sim.recorder
        self.m_commit = rec.tally("kv.commit_latency")
        self.m_stale = rec.tally("kv.replica_staleness")
        self.m_stale_rec = rec.tally("kv.recovery_read_staleness")
        self.m_read_wait = rec.tally("kv.read_wait")
        self.m_recovery = rec.tally("kv.recovery_time")
        self.m_restart_recovery = rec.tally("kv.restart_recovery")
        self.m_first_read = rec.tally("kv.first_read")
        self.m_replica_ready = rec.tally("kv.replica_ready")
        self.c = {name: rec.counter(f"kv.{name}") for name in COUNTERS}
        self.c_reads_served, self.c_replica_reads = self.c["reads_served"], self.c["replica_reads"]
        self.c_primary_reads = self.c["primary_reads"]
        sim.add_probe("writable", lambda: 1.0 if self.writable else 0.0)
        sim.add_probe("replicas_ready", lambda: float(sum(r.ready for r in self.replicas)))
        sim.add_probe("replica_snapshot_age_s", self._snapshot_age)
        sim.add_probe("dirty_pages", lambda: float(self.dirty.sum()))

    def page_bytes(self, idx: np.ndarray) -> float:
        """Bytes a flush of pages `idx` writes: whole pages, at least one per page, more where its
        records outgrow a page (overflow pages)."""
        size = self.params.page_size
        per_page = self.record_bytes.reshape(self.n_pages, self.kpp)[idx].sum(axis=1)
        return float(np.maximum(np.ceil(per_page / size), 1.0).sum() * size)

    @property
    def n_keys_padded(self) -> int:
        return self.n_pages * self.kpp

    def _snapshot_age(self) -> float:
        ages = [self.env.now - r.snapshot_time for r in self.replicas if r.ready]
        return min(ages) if ages else math.nan

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.env.process(client(self))
        self._start_primary()
        for r in self.replicas:
            r.start()

    def _start_primary(self) -> None:
        for actor in self.variant.primary_actors(self):
            self.primary.process(actor)

    def _node_crashed(self, reason: str) -> None:
        """The replicas lose their snapshots; reads stop being served if nobody else can."""
        for r in self.replicas:
            r.lose_volatile()
        self.outage.reads_lost(self.env.now, self._read_service_available())

    def _node_restarted(self) -> None:
        for r in self.replicas:
            r.start()

    def _primary_crashed(self, reason: str) -> None:
        """The primary loses its volatile state: log buffer, batch in progress, pages, dirty set."""
        torn = self.media.tear_unfinished()  # the checkpoint writer died with it
        if torn:
            self.c["checkpoints_torn"].inc(torn)
        self.writable = False
        self.c["lost_buffered_records"].inc(self.ulog.lose_volatile())
        self.commit_queue = []
        self.batch_event = self.env.event()  # waiters of the lost batch are never acknowledged
        self.log_wakeup = None
        self.active.clear()
        self.dirty[:] = False
        self.outage.begin(self.env.now, self._read_service_available())
        self.sim.note("crash", node=reason == "node")

    def _primary_restarted(self) -> None:
        """The primary's host is up again (its last crash healed): restart recovery runs on it."""
        self.primary.process(restart_recovery(self))

    def become_writable(self, values, mapping, touched, boundary, t_restart: float, start_ts: int,
                        checkpoint: int) -> None:
        """Restart recovery is done: install the recovered state and accept writes again."""
        env = self.env
        self.values[:] = values
        self.mapping = mapping
        self.dirty[:] = False
        if len(touched):
            self.dirty[touched // self.kpp] = True
        self.applied_ts = self.media.last_commit_ts()  # every durable commit is now applied
        self.boundary = boundary
        self.active.clear()
        self._check_recovered()
        self.writable = True
        self.c["recoveries"].inc()
        crash_at = self.outage.end(env.now, self.sim.warmup)
        if crash_at is not None:
            self.m_recovery.record(env.now - crash_at)
        self.m_restart_recovery.record(env.now - t_restart)
        self.sim.note("recovered", recovery_time_s=env.now - (crash_at if crash_at is not None else env.now),
                      replayed_from=start_ts, checkpoint=checkpoint)
        self._start_primary()
        ev, self.writable_event = self.writable_event, env.event()
        ev.succeed()
        self.read_server_ready()

    def _read_service_available(self) -> bool:
        return self.writable or any(r.ready for r in self.replicas)

    def read_server_ready(self) -> None:
        """A replica became ready or the primary writable: wake waiting reads."""
        self.outage.reads_resumed(self.env.now, self._read_service_available())
        ev, self.read_ready_event = self.read_ready_event, self.env.event()
        ev.succeed()

    # --- faults, liveness ----------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        return self._targets

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Fault templates for `sim campaign`: crashes (node or primary) and metadata/checkpoint corruption."""
        restart = {"dist": "uniform", "low": 0.05, "high": 2.0}
        return [
            {"kind": "crash", "target": "node", "restart_after": restart},
            {"kind": "crash", "target": "primary", "restart_after": restart},
            {"kind": "corrupt_data", "target": "storage", "what": "newest_metadata_record"},
            {"kind": "corrupt_data", "target": "storage", "what": "newest_checkpoint"},
        ]

    def converged(self) -> str | None:
        """After the heal phase: writable again and every replica serving."""
        if not self.writable:
            return "the primary is not writable (recovery has not finished)"
        down = [r.index for r in self.replicas if not r.ready]
        if down:
            return f"replica(s) {down} are not serving reads"
        return None

    # --- invariants and results ----------------------------------------------------------------------
    def _check_recovered(self) -> None:
        bad = self.oracle.missing_after_recovery(self.values)
        if len(bad):
            k = int(bad[0])
            self.violation_log.add("acknowledged_write_visible",
                                   f"{len(bad)} key(s) lost acknowledged writes after recovery; key {k} has "
                                   f"{int(self.values[k])}, last acknowledged {int(self.oracle.latest()[k])}",
                                   self.env.now, keys=int(len(bad)))
        for name, msg, details in check_durable_commits(self):
            self.violation_log.add(name, msg, self.env.now, **details)

    def check_system_replay(self, mapping: np.ndarray, boundary_ts: int, replay_point: int) -> None:
        """Restart recovery's mapping and pages after the system-log replay, and the user replay point,
        against the oracles."""
        for name, msg, details in check_system_replay(self, mapping, boundary_ts, replay_point):
            self.violation_log.add(name, msg, self.env.now, **details)

    def on_warmup(self) -> None:
        """Counters reset now; the oracle's read log is kept whole (every read is checked), so note
        where the measurement window starts in it."""
        self.oracle.mark_window()

    def progress(self) -> tuple[float, int]:
        """Completed: reads served + transactions acknowledged; in progress: open transactions + delayed reads."""
        c = self.c
        done = c["reads_served"].value + c["txns_acked"].value
        return done, len(self.active) + len(self.commit_queue) + self.waiting

    def check_at_end(self) -> None:
        crash_at = self.outage.crash_at
        if crash_at is not None:  # its own outcome: recovery_time_s cannot include it (censored)
            self.violation_log.add("recovery_unfinished", f"the primary crashed at {crash_at:.3f} s and was still "
                                   f"not writable at the end of the run, {self.env.now - crash_at:.3f} s later "
                                   "(recovery_time_s leaves it out; lengthen the run or fix the set-up)",
                                   self.env.now, crash_at=crash_at)
        for name, msg, details in check_durable_commits(self):
            self.violation_log.add(name, msg, self.env.now, **details)
        n, bad, first = self.oracle.check_snapshot_reads()
        if bad:
            k, ts, got, exp = first
            self.violation_log.add("replica_snapshot_read", f"{bad} of {n} replica reads returned a value the key "
                                   f"did not have at the snapshot; first: key {k} at {ts} got {got}, expected {exp}",
                                   bad_reads=bad)
        if self.writable:
            bad_keys = self.oracle.missing_after_recovery(self.values)
            if len(bad_keys):
                self.violation_log.add("acknowledged_write_visible", f"{len(bad_keys)} key(s) differ from the "
                                       "acknowledged writes at the end of the run", self.env.now)

    def metrics(self) -> dict[str, float]:
        return assemble(self)
