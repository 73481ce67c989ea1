"""Fast restart recovery and read-only replicas of a key-value store (system `kv_recovery`).

The store keeps its data in pages found through a page mapping table (page id -> location in an
append-only file stream on an SSD). Processes, one per actor:

- `client`: Poisson arrivals of reads and of user transactions (several writes each, with think
  time between them, so some transactions are always in flight); key popularity from `KeyDist`.
- `user_transaction`: appends write records, then a commit record, to the user transaction log
  and waits for the log to be durable (acknowledgement).
- `log_writer`: group commit: writes the log buffer to the SSD, then applies the batch's committed
  transactions to the in-memory pages (no-steal: pages only ever hold committed data).
- `page_writer`: every `page_flush_interval`, captures the dirty pages at one commit timestamp L,
  appends their images to the file stream and the mapping changes plus a flush-boundary record
  (L, oldest begin timestamp among transactions uncommitted at L) to the system log.
- `checkpointer`: every `checkpoint_interval`, writes a user checkpoint record (the latest flush
  boundary) to the user log, then the mapping table chunk by chunk (a crash in the middle leaves
  it torn), and only then a metadata-log record pointing at it.
- `restart_recovery`: reads the metadata log (newest valid record; falls back past corrupt records
  and torn or corrupt checkpoints), loads the mapping from the checkpoint, replays the system log
  from the checkpoint's replay start, then replays the user log from
  min(oldest uncommitted timestamp at the user checkpoint, user replay point), skipping
  transactions committed at or before the replay point. Writable when done.
- `Replica.form` / `Replica.refresher`: read-only replicas open the file stream (metadata log,
  checkpoint, system log: no user-log replay) and serve reads at the latest flush boundary, during
  recovery and in normal operation; they refresh every `replica_refresh_interval`.

Variants (`variant`): `fast_restart` (the mechanism), `no_checkpoint` (only the load-time
checkpoint: recovery replays the whole log), `no_replicas` (every read waits for the primary).

Abstracted away: the B-tree/hash index inside pages (key k lives in page k // keys_per_page),
page reads on the read path (pages are cached; reads cost no I/O), delta records and page
consolidation, log truncation and garbage collection of the file stream, concurrency control
between transactions writing the same key (last committer wins), CPU contention between
recovery and replicas (only the SSD is shared). Cold pages beyond the simulated keys
(`database_size`) only contribute to the mapping table's size.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import simpy
from pydantic import Field, model_validator

from sim.components.storage import SSD, SsdParams
from sim.core.registry import register_metric, register_system
from sim.core.system import Params, System, Violation
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize
from sim.systems.kv_durable import Checkpoint, FileStream, MetadataLog, SystemLog, UserLog
from sim.systems.kv_oracle import Oracle
from sim.workloads import KeyDist, SizeDist, batched

VARIANTS = ("fast_restart", "no_checkpoint", "no_replicas")


class KvRecoveryParams(Params):
    """Parameters of the store; defaults and their sources in docs/models/kv_recovery.md."""

    variant: Literal["fast_restart", "no_checkpoint", "no_replicas"] = Field(
        "fast_restart", description="the mechanism, or a baseline: no_checkpoint | no_replicas")
    user_replay_start: Literal["min_uncommitted", "replay_point"] = Field(
        "min_uncommitted", description="min_uncommitted: the mechanism; replay_point: a deliberately broken "
                                       "rule ignoring transactions uncommitted at the checkpoint (for tests)")
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
    apply_cost: Duration = Field(8.5e-6, description="time to apply one replayed user-log record, s")
    system_apply_cost: Duration = Field(1e-6, description="time to apply one replayed system-log record, s")
    replicas: int = Field(2, ge=0, le=64, description="read-only replicas (ignored by no_replicas)")
    replica_refresh_interval: PositiveDuration = Field(0.5, description="time between replica refreshes")
    storage: SsdParams = Field(default_factory=SsdParams, description="the SSD holding file stream and logs")

    @model_validator(mode="after")
    def _sizes(self):
        if self.page_size < self.log_record_header:
            raise ValueError("page_size must be at least log_record_header")
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


for _name, _desc in {
    "recovery_time_s": "mean time from a crash until the primary is writable again",
    "restart_recovery_s": "mean time from the restart until the primary is writable (restart recovery alone)",
    "first_read_s": "mean time from a crash until the first read is served",
    "read_availability_during_recovery": "fraction of crash-to-writable time during which reads could be served",
    "replica_staleness_mean_s": "mean age of the replica snapshot a read saw (primary writable)",
    "replica_staleness_p99_s": "99th percentile of that age",
    "checkpoint_bytes_written": "bytes of mapping-table checkpoints written",
    "write_amplification": "bytes written to storage per byte of acknowledged values",
    "throughput_ops_s": "reads served plus writes acknowledged per second",
    "replayed_log_bytes": "system- and user-log bytes read by restart recovery",
    "checkpoint_fallbacks": "metadata records or checkpoints skipped by recovery (corrupt or torn)",
}.items():
    register_metric(_name, _desc)


class _Crashed(Exception):
    """The primary crashed while this process was running."""


class Replica:
    """A read-only replica: the file stream opened read-only, at the latest flush boundary."""

    def __init__(self, store: KvRecovery, index: int) -> None:
        self.store = store
        self.index = index
        self.env = store.env
        self.ready = False
        self.mapping: np.ndarray | None = None
        self.sys_pos = 0
        self.snapshot_ts = -1
        self.snapshot_time = 0.0
        self.procs: list[simpy.Process] = []

    def start(self) -> None:
        self.procs = [self.env.process(self.form())]

    def crash(self) -> None:
        self.ready = False
        self.mapping = None
        for p in self.procs:
            if p.is_alive:
                p.interrupt("crash")
        self.procs = []

    def form(self):
        """Open the file stream read-only: metadata log, checkpoint, system log; then serve reads."""
        try:
            self.mapping, self.sys_pos, boundary, _ck = yield from self.store.open_read_only(recovering=False)
            self._adopt(boundary[0], boundary[2])
            self.ready = True
            self.store.read_server_ready()
            self.procs.append(self.env.process(self.refresher()))
        except simpy.Interrupt:
            return

    def _adopt(self, ts: int, t: float) -> None:
        if ts < self.snapshot_ts:
            self.store.violation("replica_monotonic", f"replica {self.index} snapshot went back from "
                                 f"{self.snapshot_ts} to {ts}", data={"replica": self.index})
        self.snapshot_ts = ts
        self.snapshot_time = t

    def refresher(self):
        """Every refresh interval, read and apply the system log written since the last refresh."""
        store = self.store
        syslog = store.syslog
        try:
            while True:
                yield self.env.timeout(store.params.replica_refresh_interval)
                end = len(syslog)
                if end <= self.sys_pos:
                    continue
                nbytes = syslog.end[end - 1] - syslog.offset(self.sys_pos)
                yield from store.ssd.read(nbytes)
                cost = store.params.system_apply_cost * (end - self.sys_pos)
                if cost > 0:
                    yield self.env.timeout(cost)
                found, self.sys_pos = store.apply_system_log(self.mapping, self.sys_pos, end)
                if found is not None:
                    self._adopt(found[0], found[2])
        except simpy.Interrupt:
            return

    def read(self, key: int) -> int:
        store = self.store
        loc = self.mapping[key // store.kpp]
        return int(store.fstream.data[loc, key % store.kpp]) if loc >= 0 else 0


@register_system("kv_recovery")
class KvRecovery(System):
    """Key-value store with checkpointed page mapping, restart recovery and read-only replicas."""

    Params = KvRecoveryParams
    Workload = KvWorkload

    def __init__(self, sim, params: KvRecoveryParams, workload: KvWorkload | None = None) -> None:
        super().__init__(sim, params, workload or KvWorkload())
        p = params
        w = self.workload
        env = self.env
        self.kpp = max(1, int(p.page_size // max(w.value_size.expected() + p.log_record_header, 1.0)))
        self.n_pages = -(-p.keys // self.kpp)
        self.total_pages = max(self.n_pages, int(p.database_size // p.page_size))
        self.mapping_bytes = float(self.total_pages * p.mapping_entry_size)
        self.checkpoints_on = p.variant != "no_checkpoint"
        self.n_replicas = 0 if p.variant == "no_replicas" else p.replicas
        self.ssd = SSD(sim, p.storage, name="kv.ssd")
        # durable state
        self.ulog = UserLog()
        self.syslog = SystemLog()
        self.fstream = FileStream(self.kpp)
        self.checkpoints: list[Checkpoint] = []
        self.metadata = MetadataLog()
        initial = Checkpoint(0, np.full(self.n_pages, -1, dtype=np.int64), 0, -1, self.mapping_bytes,
                             self.mapping_bytes, complete=True)
        self.checkpoints.append(initial)  # written when the store was loaded
        self.metadata.append(0)
        # volatile state of the primary
        self.values = np.zeros(self.n_pages * self.kpp, dtype=np.int64)
        self.pages = self.values.reshape(self.n_pages, self.kpp)
        self.mapping = initial.mapping.copy()
        self.dirty = np.zeros(self.n_pages, dtype=bool)
        self.active: dict[int, int] = {}  # txn id -> begin timestamp, in begin order
        self.applied_ts = 0  # every transaction committed at or before this is applied to `values`
        self.boundary = (0, 0, 0.0)  # latest durable flush boundary (L, oldest, time)
        self._commit_queue: list[tuple] = []
        self._batch_event = env.event()
        self._log_wakeup: simpy.Event | None = None
        self._next_txn = 1
        self._next_wid = 1
        # liveness
        self.epoch = 0
        self.primary_up = True
        self.writable = True
        self._writable_event = env.event()
        self._read_ready_event = env.event()
        self._procs: list[simpy.Process] = []
        self.replicas = [Replica(self, i) for i in range(self.n_replicas)]
        self._rr = 0
        # outages: crash -> writable
        self._outage: dict[str, Any] | None = None
        self._first_read_after: float | None = None  # crash time, until the first read after it
        self.oracle = Oracle(self.n_keys_padded)
        self._violations: list[Violation] = []
        self._violation_count = 0
        # metrics
        rec = sim.recorder
        self.m_commit = rec.tally("kv.commit_latency")
        self.m_stale = rec.tally("kv.replica_staleness")
        self.m_stale_rec = rec.tally("kv.recovery_read_staleness")
        self.m_read_wait = rec.tally("kv.read_wait")
        self.m_recovery = rec.tally("kv.recovery_time")
        self.m_restart_recovery = rec.tally("kv.restart_recovery")
        self.m_first_read = rec.tally("kv.first_read")
        self.m_replica_ready = rec.tally("kv.replica_ready")
        self.c = {name: rec.counter(f"kv.{name}") for name in (
            "reads_served", "replica_reads", "primary_reads", "reads_delayed", "writes_acked", "txns_acked",
            "txns_aborted", "value_bytes_acked", "log_bytes_written", "page_bytes_written",
            "system_log_bytes_written", "checkpoint_bytes_written", "metadata_bytes_written",
            "checkpoints_completed", "checkpoints_torn", "replayed_log_bytes", "replayed_records",
            "checkpoint_fallbacks", "recoveries", "crashes", "lost_buffered_records", "page_flushes")}
        self._outage_time = 0.0
        self._outage_avail = 0.0
        sim.add_probe("writable", lambda: 1.0 if self.writable else 0.0)
        sim.add_probe("replicas_ready", lambda: float(sum(r.ready for r in self.replicas)))
        sim.add_probe("replica_snapshot_age_s", self._snapshot_age)
        sim.add_probe("dirty_pages", lambda: float(self.dirty.sum()))

    @property
    def n_keys_padded(self) -> int:
        return self.n_pages * self.kpp

    def _snapshot_age(self) -> float:
        ages = [self.env.now - r.snapshot_time for r in self.replicas if r.ready]
        return min(ages) if ages else math.nan

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.env.process(self.client())
        self._start_primary()
        for r in self.replicas:
            r.start()

    def _start_primary(self) -> None:
        env = self.env
        self._procs = [env.process(self.log_writer()), env.process(self.page_writer())]
        if self.checkpoints_on:
            self._procs.append(env.process(self.checkpointer()))

    # --- client and transactions -----------------------------------------------------------------
    def client(self):
        """Poisson arrivals: a read, or a user transaction of `writes_per_txn` writes."""
        w = self.workload
        rng = self.sim.rng("kv.client")
        wpt = w.writes_per_txn
        rf = w.read_fraction
        p_read = rf / (rf + (1 - rf) / wpt)  # so that a fraction rf of key operations are reads
        arrival_rate = w.rate / (p_read + (1 - p_read) * wpt)
        gap = batched(lambda n: rng.exponential(1.0 / arrival_rate, n))
        coin = batched(lambda n: rng.random(n))
        key = w.keys.sampler(self.sim.rng("kv.keys"), self.params.keys)
        self._key = key
        self._value_size = w.value_size.sampler(self.sim.rng("kv.values"))
        rt = self.sim.rng("kv.think")
        self._think = batched(lambda n: rt.exponential(w.think_time, n)) if w.think_time > 0 else (lambda: 0.0)
        long_frac = w.long_txn_fraction
        rl = self.sim.rng("kv.long_txns")
        self._long = batched(lambda n: rl.exponential(w.long_txn_duration, n))
        env = self.env
        while True:
            yield env.timeout(gap())
            if coin() < p_read:
                self.read(int(key()))
            elif coin() < long_frac:
                env.process(self.user_transaction(wpt, self._long() / max(wpt - 1, 1)))
            else:
                env.process(self.user_transaction(wpt))

    def read(self, key: int) -> None:
        """Serve a read now (a ready replica, else the writable primary), or let it wait."""
        if not self._serve_read(key, self.env.now):
            self.env.process(self.waiting_read(key))

    def _serve_read(self, key: int, t_arrival: float) -> bool:
        now = self.env.now
        served = False
        if self.n_replicas:
            n = len(self.replicas)
            for _ in range(n):
                r = self.replicas[self._rr]
                self._rr = (self._rr + 1) % n
                if r.ready:
                    v = r.read(key)
                    self.oracle.log_read(key, r.snapshot_ts, v)
                    (self.m_stale if self.writable else self.m_stale_rec).record(now - r.snapshot_time)
                    self.c["replica_reads"].inc()
                    served = True
                    break
        if not served and self.writable:
            self.c["primary_reads"].inc()
            served = True
        if not served:
            return False
        self.c["reads_served"].inc()
        if now > t_arrival:
            self.m_read_wait.record(now - t_arrival)
        if self._first_read_after is not None:
            self.m_first_read.record(now - self._first_read_after)
            self._first_read_after = None
        return True

    def waiting_read(self, key: int):
        t0 = self.env.now
        self.c["reads_delayed"].inc()
        while True:
            yield self._read_ready_event
            if self._serve_read(key, t0):
                return

    def user_transaction(self, n_writes: int, think: float | None = None):
        """Write records, think time between them, a commit record; acknowledged once durable.

        `think`: fixed time between writes (a long transaction); default exponential think time.
        """
        env = self.env
        while not self.writable:
            yield self._writable_event
        epoch = self.epoch
        ulog = self.ulog
        txn = self._next_txn
        self._next_txn += 1
        self.active[txn] = ulog.tail
        keys: list[int] = []
        wids: list[int] = []
        header = self.params.log_record_header
        nbytes = 0.0
        for i in range(n_writes):
            if i:
                yield env.timeout(self._think() if think is None else think)
                if self.epoch != epoch:
                    self.c["txns_aborted"].inc()
                    return
            k = int(self._key())
            wid = self._next_wid
            self._next_wid += 1
            size = self._value_size()
            ulog.append(UserLog.WRITE, txn, k, wid, header + size)
            keys.append(k)
            wids.append(wid)
            nbytes += size
        t0 = env.now
        commit_ts = ulog.append(UserLog.COMMIT, txn, 0, 0, header)
        self._commit_queue.append((commit_ts, txn, keys, wids, nbytes))
        self._wake_log_writer()
        yield self._batch_event
        self.m_commit.record(env.now - t0)

    def _wake_log_writer(self) -> None:
        ev = self._log_wakeup
        if ev is not None and not ev.triggered:
            ev.succeed()

    # --- primary background processes ------------------------------------------------------------
    def log_writer(self):
        """Group commit: write the buffered log records, then apply the batch's commits."""
        env = self.env
        ulog = self.ulog
        oracle = self.oracle
        values = self.values
        dirty = self.dirty
        kpp = self.kpp
        active = self.active
        c_writes, c_txns, c_bytes = self.c["writes_acked"], self.c["txns_acked"], self.c["value_bytes_acked"]
        try:
            while True:
                if len(ulog) == ulog.durable_n:
                    self._log_wakeup = env.event()
                    yield self._log_wakeup
                    continue
                n = len(ulog)
                nbytes = ulog.tail - ulog.durable_end
                batch, self._batch_event = self._batch_event, env.event()
                commits, self._commit_queue = self._commit_queue, []
                yield from self.ssd.write(nbytes)
                ulog.mark_durable(n)
                self.c["log_bytes_written"].inc(nbytes)
                for commit_ts, txn, keys, wids, vbytes in commits:
                    for k, wid in zip(keys, wids, strict=True):
                        values[k] = wid
                        dirty[k // kpp] = True
                    oracle.acknowledge(keys, wids, commit_ts)
                    active.pop(txn, None)
                    self.applied_ts = commit_ts
                    c_writes.inc(len(keys))
                    c_txns.inc()
                    c_bytes.inc(vbytes)
                batch.succeed()
        except simpy.Interrupt:
            return

    def _wait_durable(self):
        """Wait until everything appended so far is on storage."""
        self._wake_log_writer()
        yield self._batch_event

    def page_writer(self):
        """Flush cycles: dirty pages captured at one commit timestamp, then their mapping changes."""
        env = self.env
        p = self.params
        try:
            while True:
                yield env.timeout(p.page_flush_interval)
                ts = self.applied_ts
                oldest = min(next(iter(self.active.values()), ts), ts)
                t = env.now
                idx = np.flatnonzero(self.dirty)
                if len(idx) == 0:
                    continue
                self.dirty[idx] = False
                images = self.pages[idx].copy()
                nbytes = len(idx) * p.page_size
                yield from self.ssd.write(nbytes)
                first = self.fstream.append(images)
                self.c["page_bytes_written"].inc(nbytes)
                locs = np.arange(first, first + len(idx), dtype=np.int64)
                sbytes = (len(idx) + 1) * p.system_record_size
                yield from self.ssd.write(sbytes)
                self.syslog.append_flush(idx, locs, ts, oldest, t, p.system_record_size, p.system_record_size)
                self.c["system_log_bytes_written"].inc(sbytes)
                self.c["page_flushes"].inc()
                self.mapping[idx] = locs
                self.boundary = (ts, oldest, t)
        except simpy.Interrupt:
            return

    def checkpointer(self):
        """User checkpoint record, then the mapping table over time, then the metadata record."""
        env = self.env
        p = self.params
        next_at = env.now + p.checkpoint_interval
        try:
            while True:  # one checkpoint starts every interval (none while the previous one is still writing)
                yield env.timeout(max(0.0, next_at - env.now))
                next_at = max(next_at + p.checkpoint_interval, env.now)
                ts, oldest, _t = self.boundary
                self.ulog.append(UserLog.CHECKPOINT, ts, oldest, 0, p.log_record_header + 16)
                ucp = len(self.ulog) - 1
                yield from self._wait_durable()
                ck = Checkpoint(len(self.checkpoints), self.mapping.copy(), len(self.syslog), ucp, self.mapping_bytes)
                self.checkpoints.append(ck)
                left = self.mapping_bytes
                while left > 0:
                    chunk = min(left, p.checkpoint_chunk)
                    t_chunk = env.now
                    yield from self.ssd.write(chunk)
                    if p.checkpoint_write_rate is not None:
                        pause = chunk / p.checkpoint_write_rate - (env.now - t_chunk)
                        if pause > 0:
                            yield env.timeout(pause)
                    ck.bytes_written += chunk
                    self.c["checkpoint_bytes_written"].inc(chunk)
                    left -= chunk
                ck.complete = True
                yield from self.ssd.write(p.metadata_record_size)
                self.metadata.append(ck.id)
                self.c["metadata_bytes_written"].inc(p.metadata_record_size)
                self.c["checkpoints_completed"].inc()
        except simpy.Interrupt:
            return

    # --- recovery --------------------------------------------------------------------------------
    def open_read_only(self, recovering: bool):
        """Metadata log -> newest valid checkpoint -> mapping -> system-log replay.

        Returns (mapping, system-log position, latest flush boundary (L, oldest, time), checkpoint).
        """
        p = self.params
        md = self.metadata.records
        yield from self.ssd.read(len(md) * p.metadata_record_size)
        chosen = None
        skipped = 0
        for rec in reversed(md):
            ck = self.checkpoints[rec.checkpoint_id]
            if rec.corrupt or not ck.valid:
                skipped += 1  # corrupt record, or a torn/corrupt checkpoint: fall back to the previous one
                continue
            chosen = ck
            break
        if chosen is None:  # every metadata record corrupt: the load-time checkpoint's fixed location
            chosen = self.checkpoints[0]
        if recovering:
            self.c["checkpoint_fallbacks"].inc(skipped)
        yield from self.ssd.read(chosen.nbytes)
        mapping = chosen.mapping.copy()
        start, end = chosen.system_replay_start, len(self.syslog)
        if end > start:
            nbytes = self.syslog.end[end - 1] - self.syslog.offset(start)
            yield from self.ssd.read(nbytes)
            if p.system_apply_cost > 0:
                yield self.env.timeout(p.system_apply_cost * (end - start))
            if recovering:
                self.c["replayed_log_bytes"].inc(nbytes)
                self.c["replayed_records"].inc(end - start)
        found, pos = self.apply_system_log(mapping, start, end)
        if found is None:  # no flush since the checkpoint: the last boundary before it
            found = self._last_boundary_before(start) or (0, 0, 0.0)
        return mapping, pos, found, chosen

    def _last_boundary_before(self, end: int):
        kind = self.syslog.kind
        for i in range(end - 1, -1, -1):
            if kind[i] == SystemLog.BOUNDARY:
                return self.syslog.a[i], self.syslog.b[i], self.syslog.t[i]
        return None

    def apply_system_log(self, mapping: np.ndarray, lo: int, hi: int):
        """Apply mapping changes of records [lo, hi) up to the last flush boundary among them.

        Returns (that boundary (L, oldest, time) or None, the position after it).
        """
        if hi <= lo:
            return None, lo
        kind, a, b, t = self.syslog.columns(lo, hi)
        bnd = np.flatnonzero(kind == SystemLog.BOUNDARY)
        if len(bnd) == 0:
            return None, lo
        last = int(bnd[-1])
        m = kind[:last] == SystemLog.MAP
        rp, rl = a[:last][m][::-1], b[:last][m][::-1]
        uniq, first = np.unique(rp, return_index=True)  # the last change of each page wins
        mapping[uniq] = rl[first]
        return (int(a[last]), int(b[last]), float(t[last])), lo + last + 1

    def restart_recovery(self):
        """Restart: mapping from the checkpoint, system-log replay, then user-log replay."""
        env = self.env
        p = self.params
        epoch = self.epoch
        t_restart = env.now
        try:
            mapping, _pos, boundary, ck = yield from self.open_read_only(recovering=True)
            # the latest user checkpoint record: the one the chosen checkpoint names
            if ck.user_checkpoint >= 0:
                replay_point = self.ulog.a[ck.user_checkpoint]
                oldest = self.ulog.b[ck.user_checkpoint]
            else:
                replay_point = oldest = 0
            start_ts = min(oldest, replay_point) if p.user_replay_start == "min_uncommitted" else replay_point
            ulog = self.ulog
            lo, hi = ulog.first_after(start_ts), ulog.durable_n
            values = self.fstream.page_values(mapping)
            touched = np.empty(0, dtype=np.int64)
            if hi > lo:
                nbytes = ulog.durable_end - (ulog.end[lo - 1] if lo > 0 else 0)
                yield from self.ssd.read(nbytes)
                kind, txn, key, wid, end = ulog.columns(lo, hi)
                is_commit = kind == UserLog.COMMIT
                c_txn, c_ts = txn[is_commit], end[is_commit]
                replay = c_ts > replay_point  # skip transactions already in the pages
                c_txn, c_ts = c_txn[replay], c_ts[replay]
                order = np.argsort(c_txn, kind="stable")
                st, sts = c_txn[order], c_ts[order]
                is_write = kind == UserLog.WRITE
                w_txn, w_key, w_wid = txn[is_write], key[is_write], wid[is_write]
                pos = np.searchsorted(st, w_txn)
                posc = np.minimum(pos, max(len(st) - 1, 0))
                committed = (pos < len(st)) & (st[posc] == w_txn) if len(st) else np.zeros(len(w_txn), bool)
                w_key, w_wid, w_ts = w_key[committed], w_wid[committed], sts[posc][committed]
                applied = len(w_key) + len(c_ts)
                if p.apply_cost > 0 and applied:
                    yield env.timeout(p.apply_cost * applied)
                if len(w_key):
                    seq = np.lexsort((np.arange(len(w_key)), w_ts))  # commit order, then log order
                    rk, rw = w_key[seq][::-1], w_wid[seq][::-1]
                    uniq, first = np.unique(rk, return_index=True)
                    values[uniq] = rw[first]
                    touched = uniq
                self.c["replayed_log_bytes"].inc(nbytes)
                self.c["replayed_records"].inc(hi - lo)
        except simpy.Interrupt:
            return
        if self.epoch != epoch:
            return
        # writable: install the recovered state
        self.values[:] = values
        self.mapping = mapping
        self.dirty[:] = False
        if len(touched):
            self.dirty[touched // self.kpp] = True
        self.applied_ts = self._last_commit_ts()  # every durable commit is now applied
        self.boundary = boundary
        self.active.clear()
        self._check_recovered()
        self.writable = True
        self.c["recoveries"].inc()
        o = self._outage
        if o is not None:
            self.m_recovery.record(env.now - o["crash"])
            self._close_outage()
        self.m_restart_recovery.record(env.now - t_restart)
        self.sim.note("recovered", recovery_time_s=env.now - (o["crash"] if o else env.now),
                      replayed_from=int(start_ts), checkpoint=int(ck.id))
        self._start_primary()
        ev, self._writable_event = self._writable_event, env.event()
        ev.succeed()
        self.read_server_ready()

    def _last_commit_ts(self) -> int:
        kind = self.ulog.kind
        for i in range(self.ulog.durable_n - 1, -1, -1):
            if kind[i] == UserLog.COMMIT:
                return self.ulog.end[i]
        return 0

    def _check_recovered(self) -> None:
        bad = self.oracle.missing_after_recovery(self.values)
        if len(bad):
            k = int(bad[0])
            self.violation("acknowledged_write_visible",
                           f"{len(bad)} key(s) lost acknowledged writes after recovery; key {k} has "
                           f"{int(self.values[k])}, last acknowledged {int(self.oracle.latest()[k])}",
                           data={"keys": int(len(bad))})

    # --- availability bookkeeping ------------------------------------------------------------------
    def _read_service_available(self) -> bool:
        return self.writable or any(r.ready for r in self.replicas)

    def read_server_ready(self) -> None:
        """A replica became ready or the primary writable: wake waiting reads."""
        o = self._outage
        if o is not None and o["avail_since"] is None and self._read_service_available():
            o["avail_since"] = self.env.now
        ev, self._read_ready_event = self._read_ready_event, self.env.event()
        ev.succeed()

    def _close_outage(self) -> None:
        o = self._outage
        now = self.env.now
        self._outage = None
        if now < self.sim.warmup:  # over before the warm-up ends: left out, like the recovery-time tallies
            return
        self._outage_time += now - o["crash"]
        self._outage_avail += o["avail"]
        if o["avail_since"] is not None:
            self._outage_avail += now - o["avail_since"]

    # --- faults --------------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, Any]:
        return {"node": self, "primary": self, "storage": self}

    def fault_kinds(self, target: str) -> tuple[str, ...]:
        return {"node": ("crash",), "primary": ("crash",), "storage": ("corrupt_data",)}.get(target, ())

    def inject(self, fault: Any) -> None:
        kind, target = fault.kind, fault.target
        if kind == "crash" and target in ("node", "primary"):
            self.crash(node=target == "node")
        elif kind == "corrupt_data" and target == "storage":
            self.corrupt((fault.params or {}).get("what") or "newest_metadata_record")
        else:
            raise ValueError(f"kv_recovery: target {target!r} cannot take fault {kind!r}")

    def heal(self, fault: Any) -> None:
        if fault.kind == "crash":
            self.restart(node=fault.target == "node")

    def crash(self, node: bool = True) -> None:
        """The primary (and, for a node crash, its replicas) lose all volatile state."""
        self.c["crashes"].inc()
        for ck in self.checkpoints:
            if not ck.complete and not ck.torn:  # its writer dies with the node: torn for good
                ck.torn = True
                self.c["checkpoints_torn"].inc()
        if node:
            for r in self.replicas:
                r.crash()
        o = self._outage
        if o is not None and o["avail_since"] is not None and not self._read_service_available():
            o["avail"] += self.env.now - o["avail_since"]  # the replicas serving during the outage are gone
            o["avail_since"] = None
        if not self.primary_up:
            return
        now = self.env.now
        self.epoch += 1
        self.primary_up = False
        self.writable = False
        for proc in self._procs:
            if proc.is_alive:
                proc.interrupt("crash")
        self._procs = []
        self.c["lost_buffered_records"].inc(self.ulog.lose_volatile())
        self._commit_queue = []
        self._batch_event = self.env.event()  # waiters of the lost batch are never acknowledged
        self._log_wakeup = None
        self.active.clear()
        self.dirty[:] = False
        if self._outage is None:
            self._outage = {"crash": now, "avail_since": None, "avail": 0.0}
            self._first_read_after = now
            if self._read_service_available():
                self._outage["avail_since"] = now
        self.sim.note("crash", node=node)

    def restart(self, node: bool = True) -> None:
        if node:
            for r in self.replicas:
                if not r.ready and not r.procs:
                    r.start()
        if self.primary_up:
            return
        self.primary_up = True
        self._procs = [self.env.process(self.restart_recovery())]

    CORRUPTIBLE = ("newest_metadata_record", "newest_checkpoint")

    def check_fault_params(self, kind: str, target: str, params: dict[str, Any]) -> None:
        what = params.get("what")
        if kind == "corrupt_data" and what is not None and what not in self.CORRUPTIBLE:
            raise ValueError(f"what: {what!r} is not something kv_recovery can corrupt "
                             f"(known: {', '.join(self.CORRUPTIBLE)})")

    def corrupt(self, what: str) -> None:
        if what == "newest_metadata_record":
            self.metadata.records[-1].corrupt = True
        elif what == "newest_checkpoint":
            done = [ck for ck in self.checkpoints[1:] if ck.complete]  # the load-time one is kept safe
            if not done:
                return
            done[-1].corrupt = True
        else:
            raise ValueError(f"kv_recovery: corrupt_data what={what!r} (known: newest_metadata_record, "
                             "newest_checkpoint)")
        self.sim.note("corrupt", what=what)

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

    # --- results -----------------------------------------------------------------------------------
    def violation(self, invariant: str, detail: str, data: dict | None = None) -> None:
        self._violation_count += 1
        if len(self._violations) < 20:
            self._violations.append(Violation(invariant, detail, self.env.now, data or {}))

    def violations(self) -> list[Violation]:
        out = list(self._violations)
        n, bad, first = self.oracle.check_snapshot_reads()
        if bad:
            k, ts, got, exp = first
            out.append(Violation("replica_snapshot_read", f"{bad} of {n} replica reads returned a value the key "
                                 f"did not have at the snapshot; first: key {k} at {ts} got {got}, expected {exp}",
                                 data={"bad_reads": bad}))
        if self.writable:
            bad_keys = self.oracle.missing_after_recovery(self.values)
            if len(bad_keys):
                out.append(Violation("acknowledged_write_visible", f"{len(bad_keys)} key(s) differ from the "
                                     "acknowledged writes at the end of the run", self.env.now))
        return out

    def metrics(self) -> dict[str, float]:
        c = {k: v.value for k, v in self.c.items()}
        t = max(self.sim.recorder.measured_time(), 1e-12)
        written = (c["log_bytes_written"] + c["page_bytes_written"] + c["system_log_bytes_written"]
                   + c["checkpoint_bytes_written"] + c["metadata_bytes_written"])
        nan = math.nan
        outage_time = self._outage_time
        avail = self._outage_avail
        o = self._outage
        if o is not None:  # still down at the end
            now = self.env.now
            outage_time += now - o["crash"]
            avail += o["avail"]
            if o["avail_since"] is not None:
                avail += now - o["avail_since"]
        out = {
            "recovery_time_s": self.m_recovery.mean if self.m_recovery.n else nan,
            "recovery_time_max_s": self.m_recovery.max if self.m_recovery.n else nan,
            "restart_recovery_s": self.m_restart_recovery.mean if self.m_restart_recovery.n else nan,
            "first_read_s": self.m_first_read.mean if self.m_first_read.n else nan,
            "read_availability_during_recovery": avail / outage_time if outage_time > 0 else nan,
            **self.m_stale.summary("replica_staleness", "s"),
            "recovery_read_staleness_mean_s": self.m_stale_rec.mean if self.m_stale_rec.n else nan,
            "read_wait_mean_s": self.m_read_wait.mean if self.m_read_wait.n else nan,
            **self.m_commit.summary("commit_latency", "s"),
            "throughput_ops_s": (c["reads_served"] + c["writes_acked"]) / t,
            "checkpoint_bytes_written": c["checkpoint_bytes_written"],
            "log_bytes_written": c["log_bytes_written"],
            "page_bytes_written": c["page_bytes_written"],
            "storage_bytes_written": written,
            "write_amplification": written / c["value_bytes_acked"] if c["value_bytes_acked"] else nan,
            "checkpoints_completed": c["checkpoints_completed"],
            "replayed_log_bytes": c["replayed_log_bytes"],
            "replayed_records": c["replayed_records"],
            "checkpoint_fallbacks": c["checkpoint_fallbacks"],
            "checkpoints_torn": c["checkpoints_torn"],
            "recoveries": c["recoveries"],
            "crashes": c["crashes"],
            "reads_served": c["reads_served"],
            "replica_reads": c["replica_reads"],
            "reads_delayed": c["reads_delayed"],
            "writes_acked": c["writes_acked"],
            "txns_aborted": c["txns_aborted"],
            "lost_buffered_records": c["lost_buffered_records"],
            "replica_reads_checked": float(len(self.oracle.read_key)),
            "replica_reads_unchecked": float(self.oracle.reads_unchecked),  # beyond the oracle's read-log cap
            "violations_found": float(self._violation_count),
        }
        return {k: float(v) for k, v in out.items()}
