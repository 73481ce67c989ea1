"""Continuous data protection in the cloud with do and undo streams (system `cdp_streams`).

A splitter on the production site intercepts every write of the production volume and sends it,
batched into stream records, to a cloud stream service (the *do stream*) instead of to an
always-running replication appliance. Variants (`params.variant`):

- `periodic_apply`: a compute instance is powered on every `apply_interval`, reads the do stream,
  applies the records to a cloud volume replicating the production volume, snapshots that volume
  and powers off. Recoverable points: the snapshots (and the latest point, by roll-forward).
- `do_undo`: before a do record overwrites blocks of the replica volume, the overwritten versions
  are written to an *undo stream*: any point in time is recovered from the volume, the do stream
  (roll forward) and the undo stream (roll back) while their records are retained.
- `chunks`: the replica lives as fixed-size chunk objects in object storage. The instance reads
  the do records, reads the chunks they touch, updates them and writes them back (copy-on-write,
  committed by a manifest), sending the overwritten data to the undo stream and archiving it as an
  undo segment object, so the undo history outlives the stream's retention.
- `appliance` (baseline, classic CDP): an always-on appliance receives the writes, journals them
  on a journal volume, applies them to a replica volume every few seconds keeping undo data in
  the journal for `journal_window`.

Real data versions: the oracle (`WriteLog`) keeps every production write; every recovery
materialises a volume (`{block: version}`) through the variant's own mechanism and compares it
block by block with the oracle at the recovered point. Records that expire from the do stream
before they are applied are detected (sequence gap) and reported (`records_expired`,
`data_lost_bytes`); recoveries to points after such a loss are reported as impossible, never
claimed. Monthly cost is extrapolated using the components' prices: time-billed items over the
simulated span, usage items over the span the completed apply cycles protect (`_record_cycle`).

Abstracted away: the bytes of blocks (a block is identified by the write that wrote it last),
partial-block writes, the initial full synchronisation (the replica starts equal to production),
resynchronisation after a loss, the instance's NIC limit, KCL leases (the apply checkpoint is
assumed durable), and recovery-instance costs (recovery is rare; cost is that of protection).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any, Literal

import numpy as np
import simpy
from pydantic import Field, model_validator

from sim.components.base import (
    GB,
    SECONDS_PER_MONTH,
    Component,
    CorruptData,
    NoSuchKey,
    NotRunning,
    RecordsExpired,
    ServiceUnavailable,
    Throttled,
)
from sim.components.cloud import (
    CloudVolume,
    ComputeInstance,
    ComputeParams,
    ObjectStore,
    ObjectStoreParams,
    SnapshotParams,
    SnapshotService,
    StreamParams,
    StreamService,
    VolumeParams,
)
from sim.components.host import HostDown, ProcessGroup
from sim.components.network import WanLink, WanLinkParams
from sim.core.registry import register_metric, register_system
from sim.core.system import Params, System, Violation
from sim.core.units import Duration, PositiveDuration, PositiveSize, Size
from sim.systems.cdp_data import (
    UndoChunk,
    WriteLog,
    capture_undo,
    roll_back,
    roll_forward,
    same_state,
    state_of_dict,
)
from sim.workloads import KeyDist, PeriodicArrivals, PoissonArrivals, SizeDist

VARIANTS = ("periodic_apply", "do_undo", "chunks", "appliance")
WRITER_TICK = 10.0  # s: the production writer draws this much of its Poisson process at a time
VOLUME_IO_UNIT = 16 * 2**10  # gp3 counts an I/O of up to 16 KiB as one IOPS


def _default_volume() -> VolumeParams:
    return VolumeParams(capacity=32 * 2**30, attached=False)


class CdpParams(Params):
    """Parameters of `cdp_streams` (defaults and their sources: docs/models/cdp_streams.md)."""

    variant: Literal["periodic_apply", "do_undo", "chunks", "appliance"] = Field(
        "do_undo", description="mechanism, or the `appliance` baseline")
    block_size: PositiveSize = Field(4096, description="tracking granularity of block versions, bytes")
    # splitter (production side)
    flush_interval: PositiveDuration = Field(0.1, description="splitter buffering before a put (KPL 100 ms)")
    record_header: Size = Field(64, description="per-write header in a do record, bytes")
    backoff_base: PositiveDuration = Field(0.1, description="first retry delay after throttling, s")
    backoff_cap: PositiveDuration = Field(10.0, description="longest retry delay, s")
    # streams
    stream: StreamParams = Field(default_factory=StreamParams, description="do stream (Kinesis)")
    undo_shards: int = Field(1, ge=1, description="shards of the undo stream (same limits as the do stream)")
    read_backoff: PositiveDuration = Field(1.0, description="wait after a throttled GetRecords (1 s poll), s")
    # apply
    apply_interval: PositiveDuration = Field(3600.0, description="time between instance power-ons")
    start_retry: PositiveDuration = Field(60.0, description="wait before retrying a failed instance start")
    compute: ComputeParams = Field(default_factory=ComputeParams, description="apply/recovery instance")
    volume: VolumeParams = Field(default_factory=_default_volume, description="replica volume (its capacity "
                                 "is the production volume size)")
    snapshots: SnapshotParams = Field(default_factory=SnapshotParams)
    object_store: ObjectStoreParams = Field(default_factory=ObjectStoreParams)
    chunk_size: PositiveSize = Field(4 * 2**20, description="chunk object size (chunks variant), bytes")
    chunk_workers: int = Field(8, ge=1, description="parallel object requests of the instance")
    # appliance baseline
    appliance: ComputeParams = Field(default_factory=lambda: ComputeParams(vcpus=4, price_per_hour_usd=0.192),
                                     description="always-on appliance (m5.xlarge)")
    journal: VolumeParams = Field(default_factory=lambda: VolumeParams(capacity=64 * 2**30, attached=True),
                                  description="appliance journal volume")
    appliance_apply_interval: PositiveDuration = Field(5.0, description="journal checkpoint (Zerto: 5 s)")
    journal_window: PositiveDuration = Field(24 * 3600.0, description="journal history kept (Zerto default 1 d)")
    wan: WanLinkParams = Field(default_factory=WanLinkParams, description="production site to cloud region")
    # recovery
    recovery_at: Duration | None = Field(None, description="recovery drill time (default 3/4 of the run); a "
                                         "permanent crash of `production` triggers one at once")
    past_points: int = Field(3, ge=0, le=20, description="random past points T recovered per recovery")
    protection_window: PositiveDuration = Field(24 * 3600.0, description="T is drawn within this window")
    # deliberately broken variants, to show that the invariant catches them
    undo_capture: bool = Field(True, description="False: skip undo capture (a broken do_undo)")
    detect_expiry: bool = Field(True, description="False: ignore sequence gaps (hides data loss)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.volume.capacity < self.block_size:
            raise ValueError("volume.capacity must be at least one block")
        if self.chunk_size < self.block_size or self.chunk_size % self.block_size:
            raise ValueError("chunk_size must be a multiple of block_size")
        if self.block_size + self.record_header > self.stream.max_record_size:
            raise ValueError("block_size + record_header exceeds the stream's max_record_size")
        return self


class CdpWorkload(Params):
    """Production writes: arrivals, sizes (rounded up to blocks) and block locality of the start."""

    arrivals: PoissonArrivals | PeriodicArrivals = Field(default_factory=lambda: PoissonArrivals(rate=10.0))
    size: SizeDist = Field(default_factory=lambda: SizeDist(dist="lognormal", mean=16 * 2**10, sigma=0.8))
    max_size: PositiveSize = Field(256 * 2**10, description="largest write, bytes")
    keys: KeyDist = Field(default_factory=lambda: KeyDist(dist="hotset", hot_fraction=0.05, hot_access=0.9))


class ProductionSite(Component):
    """The production site (host + splitter): `crash` stops its writes; without `restart_after` it is lost."""

    FAULTS = ("crash",)

    def __init__(self, sim, system: CdpStreams) -> None:
        super().__init__(sim, None, "production")
        self.system = system

    def _inject_crash(self, fault: Any) -> None:
        self.system.production_crash(permanent=(fault.params or {}).get("restart_after") is None)

    def _heal_crash(self, fault: Any) -> None:
        self.system.production_restart()


class Recovery:
    """Outcome of one recovery to one point."""

    __slots__ = ("kind", "started", "target_time", "target_seq", "point_seq", "point_time", "done",
                 "rto", "ok", "reason", "matched", "differing")

    def __init__(self, kind: str, started: float, target_time: float, target_seq: int) -> None:
        self.kind = kind
        self.started = started
        self.target_time = target_time
        self.target_seq = target_seq
        self.point_seq = target_seq
        self.point_time = target_time
        self.done = False
        self.rto = math.nan
        self.ok = False
        self.reason = ""
        self.matched: bool | None = None
        self.differing = 0


class Clone:
    """The replica as recovery takes it over: contents, applied write and stream positions."""

    __slots__ = ("data", "applied", "do_pos", "lost_from", "time", "keys", "archive")

    def __init__(self, data: dict, applied: int, do_pos: list[int], lost_from: int | None, time: float):
        self.keys: list[str] = []
        self.archive: list[tuple[int, int, str]] = []
        self.data = data
        self.applied = applied
        self.do_pos = do_pos
        self.lost_from = lost_from
        self.time = time


@register_system("cdp_streams")
class CdpStreams(System):
    """CDP in the cloud with do/undo streams (periodic_apply, do_undo, chunks) vs an always-on appliance."""

    Params = CdpParams
    Workload = CdpWorkload

    def __init__(self, sim, params: CdpParams, workload: CdpWorkload | None = None) -> None:
        super().__init__(sim, params, workload if workload is not None else CdpWorkload())
        p = self.params
        env = self.env
        self.variant = p.variant
        self.nblocks = int(p.volume.capacity // p.block_size)
        self.log = WriteLog()
        self.writes_drawn = env.event()  # triggered when the writer draws its next writes
        self.production = ProductionSite(sim, self)
        self.production_up = True
        self.production_procs = ProcessGroup(env)
        self.wan = WanLink(sim, p.wan, "wan")
        self.durable = 0  # last write durable at the protection target (stream or journal)
        self.applied = 0  # last write applied to the replica
        self.lost_from: int | None = None  # first write lost before it was applied
        self._lost_upto = 0
        self.rpo = sim.recorder.tally("rpo")
        self.records_expired = 0
        self.writes_lost = 0
        self.data_lost_bytes = 0.0
        self.disaster: dict[str, float] = {}
        self.recoveries: list[Recovery] = []
        self.violations_found: list[Violation] = []
        self.recovery_started = False
        self.apply_runs = 0
        self.apply_crashed = 0
        self.apply_durations: list[float] = []
        self.apply_lag_max = 0.0
        self.failed_starts = 0
        self.put_retries = 0
        self.undo_put_retries = 0
        self.object_errors = 0
        self.chunks_damaged = 0
        self.instance_outage = False
        self.seed_puts = 0
        self.recovery_gets = 0  # object GETs of recoveries (not a protection cost)
        self._usage: dict[str, float] | None = None  # usage costs of the apply cycles (_record_cycle)
        self._usage_frozen = False  # a recovery overlapped an apply: later cycles are not steady state
        self.recovery_done_at: float | None = None
        self._next_shard = 0
        self._next_undo_shard = 0
        self._bk = sim.rng("cdp.backoff")
        vol_params = p.volume.model_copy(update={"attached": False, "block_size": p.block_size})
        if self.variant == "appliance":
            self.appliance = ComputeInstance(sim, p.appliance, "appliance")
            self.journal_volume = CloudVolume(sim, p.journal.model_copy(update={"attached": True}), "journal")
            self.replica = CloudVolume(sim, vol_params.model_copy(update={"attached": True}), "replica")
            self.journal: list[UndoChunk] = []  # undo history, oldest first
            self.journal_bytes = 0.0
        else:
            self.stream = StreamService(sim, p.stream, "stream")
            self.instance = ComputeInstance(sim, p.compute, "instance")
            self.do_pos = [-1] * p.stream.shards  # stream seq of the last applied record per shard
            if self.variant in ("do_undo", "chunks"):
                self.undo_stream = StreamService(sim, p.stream.model_copy(update={"shards": p.undo_shards}),
                                                 "undo_stream")
                self.undo_index: list[list[tuple[int, int, int]]] = [[] for _ in range(p.undo_shards)]
                # client-side rate limit (as KPL's RateLimit): puts paced at the shard's byte limit
                self.undo_pace = [_Pacer(p.stream.write_bytes_per_shard) for _ in range(p.undo_shards)]
            if self.variant == "chunks":
                self.store = ObjectStore(sim, p.object_store, "object_store")
                self.chunk_blocks = int(p.chunk_size // p.block_size)
                self.nchunks = math.ceil(self.nblocks / self.chunk_blocks)
                self.chunk_keys: dict[int, str] = {}
                self.chunk_values: dict[int, dict] = {}  # committed contents (what the objects hold)
                self.undo_archive: list[tuple[int, int, str]] = []  # (lo, hi, key) per apply epoch
                self.epoch = 0
                self.epoch_committed = 0
                self.seeded = env.event()
                self.garbage: list[str] = []  # superseded objects, deleted when no recovery pins them
                self.pins = 0
                self.archive_bytes = 0.0
            else:
                self.replica = CloudVolume(sim, vol_params, "replica")
            if self.variant == "periodic_apply":
                self.snapshots = SnapshotService(sim, p.snapshots, "snapshots")
                self.snap_first_bytes = 0.0
        w = self.workload
        rng = sim.rng("cdp.production")
        self._rng_prod = rng
        self._size = w.size.sampler(sim.rng("cdp.sizes"))
        self._key = w.keys.sampler(sim.rng("cdp.keys"), self.nblocks)
        sim.add_probe("apply_lag_s", self._apply_lag)
        sim.add_probe("durable_lag_s", self._durable_lag)

    # --- probes --------------------------------------------------------------------------------------
    def _apply_lag(self) -> float:
        written = self.log.seq_at(self.env.now)
        return self.env.now - self.log.time_of(self.applied + 1) if written > self.applied else 0.0

    def _durable_lag(self) -> float:
        written = self.log.seq_at(self.env.now)
        return self.env.now - self.log.time_of(self.durable + 1) if written > self.durable else 0.0

    # --- start -----------------------------------------------------------------------------------------
    def start(self) -> None:
        env = self.env
        self._start_production()
        if self.variant == "appliance":
            env.process(self.appliance_boot())
        else:
            if self.variant == "chunks":
                env.process(self.seed_chunks())
            env.process(self.apply_scheduler())
        at = self.params.recovery_at
        if at is None:
            at = 0.75 * self.sim.duration
        env.process(self._recovery_timer(at))

    def _start_production(self) -> None:
        self.production_procs.start(self.production_writer())
        if self.variant == "appliance":
            self.production_procs.start(self.splitter_to_appliance())
        else:
            self.production_procs.start(self.splitter())

    # --- production ------------------------------------------------------------------------------------
    def production_writer(self) -> Generator:
        """Poisson writes of random size and locality, drawn a second at a time into the oracle log."""
        env = self.env
        w = self.workload
        rng = self._rng_prod
        bs = self.params.block_size
        while True:
            t0 = env.now
            if isinstance(w.arrivals, PoissonArrivals):
                n = int(rng.poisson(w.arrivals.rate * WRITER_TICK))
                times = np.sort(t0 + rng.uniform(0.0, WRITER_TICK, n))
            else:
                gap = 1.0 / w.arrivals.rate
                times = t0 + gap * np.arange(1, int(WRITER_TICK / gap + 1e-9) + 1)
                n = len(times)
            if n:
                size = self._size
                sizes = np.fromiter((size() for _ in range(n)), dtype=float, count=n)
                nblk = np.clip(np.ceil(np.minimum(sizes, w.max_size) / bs), 1, self.nblocks).astype(np.int64)
                key = self._key
                starts = np.fromiter((key() for _ in range(n)), dtype=np.int64, count=n)
                starts = np.minimum(starts, self.nblocks - nblk)
                self.log.append(times, starts, nblk, nblk * float(bs))
                ev, self.writes_drawn = self.writes_drawn, env.event()
                ev.succeed()
            yield env.timeout(WRITER_TICK)

    def _record_rpo(self, lo: int, hi: int) -> None:
        now = self.env.now
        rec = self.rpo.record
        for t in self.log.times[lo - 1:hi].tolist():
            rec(now - t)

    def _pack(self, lo: int, hi: int, limit: float) -> tuple[int, float]:
        """The last write k in lo..hi such that writes lo..k fit one record of `limit` bytes, and its size."""
        hdr = self.params.record_header
        if hi == lo:
            return lo, float(self.log.nbytes[lo - 1]) + hdr
        sizes = self.log.nbytes[lo - 1:min(hi, lo - 1 + 4096)] + hdr
        csum = np.cumsum(sizes)
        k = max(1, int(np.searchsorted(csum, limit, side="right")))
        return lo + k - 1, float(csum[k - 1])

    def _backoff(self, attempt: int) -> float:
        p = self.params
        return min(p.backoff_cap, p.backoff_base * 2.0 ** min(attempt, 30)) * (0.5 + 0.5 * self._bk.random())

    def _next_write_time(self) -> float | None:
        """Issue time of the first write not yet durable (None if none is drawn yet)."""
        return self.log.time_of(self.durable + 1) if self.log.count > self.durable else None

    def _next_batch(self) -> Generator:
        """Wait until the first write not yet durable has been buffered for `flush_interval`; return
        the last write issued by then (None, after waiting for one, if no write was drawn yet)."""
        env = self.env
        t1 = self._next_write_time()
        if t1 is None:
            yield self.writes_drawn
            return None
        wait = t1 + self.params.flush_interval - env.now
        if wait > 0:
            yield env.timeout(wait)
        return self.log.seq_at(env.now)

    def _wan_send(self, nbytes: float) -> Generator:
        """Carry `nbytes` to the cloud over the WAN; False if the link is down.

        The splitter is the only sender on the link, one transfer at a time, so the transfer
        takes latency + bytes/bandwidth (the link's current, possibly degraded, figures).
        """
        wan = self.wan
        if not wan.up:
            return False
        yield self.env.timeout(wan.latency + nbytes / wan.forward.capacity)
        return wan.up

    def splitter(self) -> Generator:
        """Buffer writes for `flush_interval` after the first one arrives (KPL RecordMaxBufferedTime),
        pack them into do records and put them, in order, to the do stream (retry with backoff)."""
        env = self.env
        p = self.params
        limit = p.stream.max_record_size
        shards = p.stream.shards
        while True:
            hi = yield from self._next_batch()
            if hi is None:
                continue
            while self.durable < hi:
                lo = self.durable + 1
                k, nbytes = self._pack(lo, hi, limit)
                attempt = 0
                while True:
                    ok = yield from self._wan_send(nbytes)
                    if ok:
                        try:
                            yield from self.stream.put(nbytes, value=(lo, k), shard=self._next_shard)
                            break
                        except (Throttled, ServiceUnavailable):
                            pass
                    self.put_retries += 1
                    yield env.timeout(self._backoff(attempt))
                    attempt += 1
                self._next_shard = (self._next_shard + 1) % shards
                self.durable = k
                self._record_rpo(lo, k)

    def production_crash(self, permanent: bool) -> None:
        now = self.env.now
        if self.production_up:
            self.production_up = False
            self.production_procs.interrupt_all(HostDown("production", "crash"))
            self.log.truncate_after(now)
        if permanent and not self.disaster:
            written = self.log.count
            lost = written - self.durable
            self.disaster = {
                "time": now,
                "writes_lost": float(lost),
                "bytes_lost": self.log.bytes_between(self.durable + 1, written),
                "rpo": now - self.log.time_of(self.durable + 1) if lost > 0 else 0.0,
            }
            self.sim.note("production_site_lost", writes_not_protected=lost)
            if not self.recovery_started:
                self.env.process(self.recover_all("disaster"))

    def production_restart(self) -> None:
        """The site is back: writes resume and the splitter resends what was not yet durable."""
        if self.production_up:
            return
        self.production_up = True
        self._start_production()

    # --- appliance baseline -------------------------------------------------------------------------
    def appliance_boot(self) -> Generator:
        """Power the appliance on (again after a crash) and run its apply loop on it."""
        yield from self._start_instance(self.appliance)
        self.appliance.process(self.appliance_apply())

    def splitter_to_appliance(self) -> Generator:
        """Send new writes over the WAN to the appliance, which journals them before acknowledging."""
        env = self.env
        p = self.params
        attempt = 0
        while True:
            hi = yield from self._next_batch()
            if hi is None:
                continue
            lo = self.durable + 1
            nbytes = self.log.bytes_between(lo, hi) + p.record_header * (hi - lo + 1)
            ok = self.appliance.running and (yield from self._wan_send(nbytes)) and self.appliance.running
            if ok:
                try:
                    yield from self.journal_volume.write(nbytes)  # one sequential journal append
                except NotRunning:
                    ok = False
            if not ok:  # appliance down, WAN cut or journal impaired: writes wait at the splitter
                self.put_retries += 1
                yield env.timeout(self._backoff(attempt))
                attempt += 1
                continue
            attempt = 0
            self.journal_bytes += nbytes
            self.durable = hi
            self._record_rpo(lo, hi)

    def appliance_apply(self) -> Generator:
        """Every checkpoint interval: apply journalled writes to the replica, keeping undo in the journal."""
        env = self.env
        p = self.params
        while True:
            yield env.timeout(p.appliance_apply_interval)
            lo, hi = self.applied + 1, self.durable
            if hi >= lo:
                blocks, versions = self.log.expand(lo, hi)
                nbytes = self.log.bytes_between(lo, hi)
                cmds = self._io_cmds(lo, hi)
                try:
                    yield from self._bulk_io(self.replica, cmds, nbytes, read=True)
                    undo = capture_undo(lo, hi, blocks, versions, self.replica.data)
                    yield from self.journal_volume.write(len(blocks) * p.block_size)
                    yield from self._bulk_io(self.replica, cmds, nbytes,
                                             items=dict(zip(blocks.tolist(), versions.tolist(), strict=True)))
                except NotRunning:
                    continue
                if p.undo_capture:
                    self.journal.append(undo)
                self.applied = hi
            self._trim_journal()

    def _trim_journal(self) -> None:
        horizon = self.env.now - self.params.journal_window
        j = self.journal
        while j and self.log.time_of(j[0].hi) < horizon:
            j.pop(0)

    # --- apply (stream variants) ------------------------------------------------------------------
    def apply_scheduler(self) -> Generator:
        """Power the instance on every apply interval, run `apply_do_stream` on it, power it off."""
        env = self.env
        p = self.params
        if self.variant == "chunks":
            yield self.seeded
        nxt = p.apply_interval
        while True:
            if env.now < nxt:
                yield env.timeout(nxt - env.now)
            nxt = max(nxt + p.apply_interval, env.now)
            power_on = env.now
            yield from self._start_instance(self.instance)
            t0 = env.now
            do_puts_usd = self.stream.cost_usd()["put_units_usd"]
            written = self.log.seq_at(t0)
            if written > self.applied:
                self.apply_lag_max = max(self.apply_lag_max, t0 - self.log.time_of(self.applied + 1))
            try:
                proc = self.instance.process(self.apply_do_stream())
            except NotRunning:
                continue
            done = yield proc
            if done:
                self.apply_runs += 1
                self.apply_durations.append(env.now - t0)
            else:
                self.apply_crashed += 1
            if self.variant != "chunks":
                self.replica.detach()
            self.instance.stop()
            self._record_cycle(power_on, t0, do_puts_usd)

    def _record_cycle(self, power_on: float, t0: float, do_puts_usd: float) -> None:
        """Usage costs (instance, puts, requests, new snapshot/archive bytes) of the apply cycles so
        far, which protect the writes issued up to `t0` (this apply's read of the stream tip). The
        monthly cost divides them by that span, not by the whole run: the writes after the last
        completed apply have not been paid for yet, and after a site loss the instance has nothing
        left to protect. Cycles from the first one a recovery overlapped on are left out (the
        recovery's reads share the streams' read limits and slow that apply down: not steady state)."""
        if self.recovery_started and (self.recovery_done_at is None or self.recovery_done_at > power_on):
            self._usage_frozen = True
        if not self._usage_frozen and t0 <= self.disaster.get("time", math.inf):
            self._usage = self._usage_until(t0, do_puts_usd)

    def _usage_until(self, span: float, do_puts_usd: float) -> dict[str, float]:
        """Cumulative usage costs now, taken to protect the writes of the first `span` seconds."""
        u = {"span": span, "compute_usd": self.instance.cost_usd()["compute_usd"],
             "do_puts_usd": do_puts_usd}
        if self.variant in ("do_undo", "chunks"):
            u["undo_puts_usd"] = self.undo_stream.cost_usd()["put_units_usd"]
        if self.variant == "chunks":
            u["object_puts"] = float(self.store.put_requests - self.seed_puts)
            u["object_gets"] = float(self.store.get_requests - self.recovery_gets)
            u["archive_bytes"] = self.archive_bytes
        if self.variant == "periodic_apply":
            u["snapshot_incr_bytes"] = max(0.0, self.snapshots.stored_bytes - self.snap_first_bytes)
        return u

    def _start_instance(self, inst: ComputeInstance) -> Generator:
        while True:
            try:
                if inst is not getattr(self, "instance", None):
                    inst.start_failures_pending = self.instance_outage
                yield from inst.start()
                if inst.running:
                    return
            except ServiceUnavailable:
                self.failed_starts += 1
            yield self.env.timeout(self.params.start_retry)

    def apply_do_stream(self) -> Generator:
        """Read the do stream up to its tip at start and apply it (variant-specific); True when done."""
        if self.variant != "chunks":
            yield from self._retry_io(self.replica.attach)
        tip = [self.stream.latest_seq(s) for s in range(len(self.do_pos))]
        # the splitter's acknowledged position: every write up to it is in a record at or before `tip`
        tip_write = self.durable
        if self.variant == "chunks":
            ranges, pos = yield from self.read_do_records(tip, tip_write)
            # nothing to apply (no new writes, or all of them expired): the position still advances,
            # so the expired records are not counted again by the next apply
            if not ranges or (yield from self.apply_chunks(ranges)):
                self.do_pos = pos
            return True
        # volume variants: each GetRecords round is applied as soon as it is contiguous
        yield from self.read_do_records(tip, tip_write, apply=True)
        if self.variant == "periodic_apply" and self.applied > 0:
            yield from self.take_snapshot()
        return True

    def read_do_records(self, tip: list[int], tip_write: int, apply: bool = False) -> Generator:
        """GetRecords from every shard after the applied position up to `tip`; detect gaps (expiry).

        A gap is seen when a later record arrives (`lo > nxt`); writes up to `tip_write` (the last
        write acknowledged by the stream when `tip` was read) that no record delivered once every
        shard is read to `tip` expired at the tail, with nothing after them: lost as well.
        Returns (contiguous write ranges read, in order; the shard positions reached). With
        `apply`, each range is applied to the replica volume as soon as it is contiguous.
        """
        env = self.env
        p = self.params
        n = len(tip)
        pos = list(self.do_pos)
        buf: list[tuple[int, int, int, int]] = []  # (lo, hi, shard, seq)
        last_lo = [-1] * n
        out: list[tuple[int, int]] = []
        nxt = self.applied + 1
        attempt = 0
        while True:
            for s in [s for s in range(n) if pos[s] < tip[s]]:
                try:
                    recs = yield from self.stream.get_records(s, after_seq=pos[s])
                    attempt = 0
                except Throttled:
                    yield env.timeout(p.read_backoff)
                    continue
                except ServiceUnavailable:
                    yield env.timeout(self._backoff(attempt))
                    attempt += 1
                    continue
                except RecordsExpired as e:
                    # the records after our position are gone; the call returns what follows them
                    self.records_expired += int(e.lost)  # type: ignore[attr-defined]
                    recs = list(getattr(e, "records", []))
                    pos[s] = int(e.next_seq) - 1  # type: ignore[attr-defined]
                for r in recs:
                    if r.seq > tip[s]:
                        break
                    lo, hi = r.value
                    buf.append((lo, hi, s, r.seq))
                    pos[s] = r.seq
                    last_lo[s] = lo
                if not recs:
                    pos[s] = tip[s]
            done = all(pos[s] >= tip[s] for s in range(n))
            buf.sort()
            ranges: list[list[int]] = []
            used: list[tuple[int, int]] = []
            i = 0
            while i < len(buf):
                lo, hi, s, seq = buf[i]
                if hi < nxt:  # already applied (resent after a production restart)
                    used.append((s, seq))
                    i += 1
                    continue
                if lo > nxt:
                    # a gap: lost for good once no shard can still deliver an earlier record
                    if not (done or all(pos[t] >= tip[t] or last_lo[t] >= lo for t in range(n))):
                        break
                    self._lost(nxt, lo - 1)
                    ranges.append([lo, hi])
                elif ranges:
                    ranges[-1][1] = hi
                else:
                    ranges.append([nxt, hi])
                used.append((s, seq))
                nxt = hi + 1
                i += 1
            del buf[:i]
            for lo, hi in ranges:
                out.append((lo, hi))
                if apply:
                    yield from self.apply_volume(lo, hi)
            if apply:
                for s, seq in used:
                    self.do_pos[s] = max(self.do_pos[s], seq)
            if done and not buf:
                if nxt <= tip_write:  # the records holding writes nxt..tip_write expired, none follows
                    self._lost(nxt, tip_write)
                if apply:
                    for s in range(n):
                        self.do_pos[s] = max(self.do_pos[s], pos[s])
                return out, pos

    def _lost(self, lo: int, hi: int) -> None:
        """Writes lo..hi expired from the do stream before they were applied: data loss, reported."""
        lo = max(lo, self._lost_upto + 1)  # a gap seen again after an apply that did not commit
        if hi < lo:
            return
        self._lost_upto = hi
        self.writes_lost += hi - lo + 1
        self.data_lost_bytes += self.log.bytes_between(lo, hi)
        if self.params.detect_expiry:
            if self.lost_from is None:
                self.lost_from = lo
            self.sim.note("do_records_expired", first_write=lo, last_write=hi)

    def _io_cmds(self, lo: int, hi: int) -> int:
        return int(np.ceil(self.log.nbytes[lo - 1:hi] / VOLUME_IO_UNIT).sum()) if hi >= lo else 0

    def _bulk_io(self, vol: CloudVolume, cmds: int, nbytes: float, items: dict | None = None,
                 read: bool = False) -> Generator:
        """`cmds` I/Os of `nbytes` in total at high queue depth: max(cmds/IOPS, bytes/throughput)."""
        vp = vol.params
        extra = cmds / vp.iops - nbytes / vp.throughput
        if extra > 0:
            yield self.env.timeout(extra)
        if read:
            yield from vol.read(nbytes)
        else:
            yield from vol.write(nbytes, items)

    def _retry_io(self, fn, *args, **kw) -> Generator:
        """Run a volume operation, waiting out an impaired volume (NotRunning)."""
        attempt = 0
        while True:
            try:
                return (yield from fn(*args, **kw))
            except NotRunning:
                yield self.env.timeout(self._backoff(attempt))
                attempt += 1

    def apply_volume(self, lo: int, hi: int) -> Generator:
        """Apply writes lo..hi to the replica volume; `do_undo` first puts the overwritten versions."""
        if self.applied >= lo:
            lo = self.applied + 1
        if hi < lo:
            return
        p = self.params
        blocks, versions = self.log.expand(lo, hi)
        nbytes = self.log.bytes_between(lo, hi)
        cmds = self._io_cmds(lo, hi)
        if self.variant == "do_undo":
            yield from self._retry_io(self._bulk_io, self.replica, cmds, nbytes, read=True)
            undo = capture_undo(lo, hi, blocks, versions, self.replica.data)
            if p.undo_capture:
                yield from self.put_undo(undo)
        items = dict(zip(blocks.tolist(), versions.tolist(), strict=True))
        yield from self._retry_io(self._bulk_io, self.replica, cmds, nbytes, items=items)
        self.applied = hi

    def put_undo(self, undo: UndoChunk) -> Generator:
        """Put undo entries to the undo stream in records of at most max_record_size (retry with backoff)."""
        p = self.params
        per = max(1, int((p.stream.max_record_size - p.record_header) // p.block_size))
        n = undo.entries
        for i in range(0, max(n, 1), per):
            j = min(n, i + per)
            if j <= i:
                break
            piece = UndoChunk(int(undo.seqs[i]), int(undo.seqs[j - 1]), undo.blocks[i:j], undo.old[i:j],
                              undo.seqs[i:j])
            nbytes = (j - i) * p.block_size + p.record_header
            shard = self._next_undo_shard
            pace = self.undo_pace[shard]
            wait = pace.delay(self.env.now, nbytes)
            if wait > 0:
                yield self.env.timeout(wait)
            attempt = 0
            while True:
                try:
                    rec = yield from self.undo_stream.put(nbytes, value=piece, shard=shard)
                    break
                except (Throttled, ServiceUnavailable):
                    self.undo_put_retries += 1
                    yield self.env.timeout(self._backoff(attempt))
                    attempt += 1
            self.undo_index[rec.shard].append((rec.seq, piece.lo, piece.hi))
            self._next_undo_shard = (shard + 1) % p.undo_shards

    def take_snapshot(self) -> Generator:
        """Snapshot the replica volume: a recovery point at the last applied write (retry on outage)."""
        attempt = 0
        while True:
            try:
                first = not self.snapshots.snapshots
                snap = self.snapshots.create(self.replica, point=self.applied,
                                             consistent=self.lost_from is None or self.applied < self.lost_from)
                if first:
                    self.snap_first_bytes = snap.changed_bytes
                return
            except ServiceUnavailable:
                if attempt >= 5:
                    return
                yield self.env.timeout(self._backoff(attempt))
                attempt += 1

    # --- chunks variant -------------------------------------------------------------------------------
    def _chunk_key(self, cid: int, epoch: int) -> str:
        return f"chunks/{cid:07d}/{epoch:06d}"

    def _obj(self, op: str, key: str, nbytes: float = 0.0, value: Any = None, recovery: bool = False
             ) -> Generator:
        """An object request with retries on throttling/outage; lost or corrupt objects raise."""
        attempt = 0
        while True:
            try:
                if op == "get":
                    self.recovery_gets += recovery
                    return (yield from self.store.get(key))
                return (yield from self.store.put(key, nbytes, value))
            except (Throttled, ServiceUnavailable):
                self.object_errors += 1
                yield self.env.timeout(self._backoff(attempt))
                attempt += 1

    def _parallel(self, items: list, fn, workers: int) -> Generator:
        """Run `fn(item)` generators with `workers` concurrent requests; returns their results in order."""
        results: list[Any] = [None] * len(items)
        errors: list[BaseException] = []
        it = iter(range(len(items)))

        def worker():
            for i in it:
                try:
                    results[i] = yield from fn(items[i])
                except (NoSuchKey, CorruptData) as e:
                    errors.append(e)
                    results[i] = e

        procs = [self.env.process(worker()) for _ in range(min(workers, len(items)))]
        if procs:
            yield simpy.AllOf(self.env, procs)
        return results, errors

    def seed_chunks(self) -> Generator:
        """The initial copy of the production volume as chunk objects (before protection starts)."""
        p = self.params

        def put(cid: int):
            key = self._chunk_key(cid, 0)
            yield from self._obj("put", key, p.chunk_size, {})
            self.chunk_keys[cid] = key
            self.chunk_values[cid] = {}

        yield from self._parallel(list(range(self.nchunks)), put, p.chunk_workers)
        self.seed_puts = self.store.put_requests
        self.seeded.succeed()

    def apply_chunks(self, ranges: list[tuple[int, int]]) -> Generator:
        """Read-modify-write the chunks the writes in `ranges` touch; undo to the stream and the archive;
        commit with a manifest. Returns True once committed."""
        ranges = [(max(lo, self.applied + 1), hi) for lo, hi in ranges if hi > self.applied]
        if not ranges:
            return True
        p = self.params
        parts = [self.log.expand(lo, hi) for lo, hi in ranges]
        blocks = np.concatenate([b for b, _ in parts])
        versions = np.concatenate([v for _, v in parts])
        lo, hi = ranges[0][0], ranges[-1][1]
        cids = blocks // self.chunk_blocks
        dirty = np.unique(cids).tolist()

        def get(cid: int):
            return (yield from self._obj("get", self.chunk_keys[cid]))

        got, errors = yield from self._parallel(dirty, get, p.chunk_workers)
        if errors:
            self.chunks_damaged += len(errors)
            self.sim.note("chunk_unreadable", count=len(errors))
            return False  # cannot update what cannot be read: nothing is committed
        current: dict = {}
        for obj in got:
            current.update(obj.value)
        undo = capture_undo(lo, hi, blocks, versions, current)
        self.epoch += 1
        epoch = self.epoch
        akey = f"undo/{epoch:06d}"
        if p.undo_capture:
            yield from self.put_undo(undo)
            yield from self._obj("put", akey, undo.entries * p.block_size, undo)
            self.archive_bytes += undo.entries * p.block_size
        # new chunk contents (copy-on-write: new keys; the manifest commits them)
        order = np.argsort(cids, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(cids[order])) + 1)
        new_values: dict[int, dict] = {}
        for cid, obj, idx in zip(dirty, got, groups, strict=True):
            d = dict(obj.value)
            d.update(zip(blocks[idx].tolist(), versions[idx].tolist(), strict=True))
            new_values[cid] = d

        def put(cid: int):
            return (yield from self._obj("put", self._chunk_key(cid, epoch), p.chunk_size, new_values[cid]))

        yield from self._parallel(dirty, put, p.chunk_workers)
        yield from self._obj("put", f"manifest/{epoch:06d}", 16.0 * len(dirty), (hi, dirty))
        # committed: switch the chunk map; superseded objects go once no recovery reads them
        for cid in dirty:
            self.garbage.append(self.chunk_keys[cid])
            self.chunk_keys[cid] = self._chunk_key(cid, epoch)
            self.chunk_values[cid] = new_values[cid]
        if epoch > 1:
            self.garbage.append(f"manifest/{epoch - 1:06d}")
        if p.undo_capture:
            self.undo_archive.append((lo, hi, akey))
        self.applied = hi
        self.epoch_committed = epoch
        self._collect_garbage()
        self._trim_archive()
        return True

    def _collect_garbage(self) -> None:
        if self.pins == 0:
            for k in self.garbage:
                self.store.remove(k)
            self.garbage = []

    def _trim_archive(self) -> None:
        horizon = self.env.now - self.params.protection_window
        a = self.undo_archive
        while a and self.log.time_of(a[0][1]) < horizon:
            self.garbage.append(a.pop(0)[2])
        self._collect_garbage()

    # --- recovery -------------------------------------------------------------------------------------
    def _recovery_timer(self, at: float) -> Generator:
        if at > self.env.now:
            yield self.env.timeout(at)
        if not self.recovery_started:
            yield from self.recover_all("drill")

    def _clone(self) -> Clone:
        if self.variant == "chunks":
            # hold the committed objects now: an apply committing while the recovery instances
            # boot must not garbage-collect the chunks and undo segments this clone names
            self.pins += 1
            c = Clone({}, self.applied, list(self.do_pos), self.lost_from, self.env.now)
            c.keys = [self.chunk_keys[i] for i in range(self.nchunks)]
            if self.epoch_committed:
                c.keys.append(f"manifest/{self.epoch_committed:06d}")
            c.archive = list(self.undo_archive)
            return c
        pos = list(self.do_pos) if self.variant != "appliance" else []
        return Clone(dict(self.replica.data), self.applied, pos, self.lost_from, self.env.now)

    def recover_all(self, why: str) -> Generator:
        """Recover to the latest durable point and to `past_points` random past points, in parallel."""
        self.recovery_started = True
        env = self.env
        p = self.params
        now = env.now
        clone = self._clone()
        latest = self.durable
        procs = [env.process(self.recover(Recovery("latest", now, self.log.time_of(latest), latest), clone))]
        rng = self.sim.rng("cdp.recovery_points")
        lo_t = max(0.0, now - p.protection_window)
        hi_t = self.log.time_of(latest)
        for _ in range(p.past_points):
            t = float(rng.uniform(lo_t, max(lo_t, hi_t)))
            seq = self.log.seq_at(t)
            procs.append(env.process(self.recover(Recovery("past", now, t, seq), clone)))
        self.sim.note("recovery_started", reason=why, latest_write=latest)
        try:
            yield simpy.AllOf(env, procs)
        finally:
            if self.variant == "chunks":
                self.pins -= 1  # taken by _clone
                self._collect_garbage()
        self.recovery_done_at = env.now
        self.sim.note("recovery_done", reason=why)

    def recover(self, r: Recovery, clone: Clone) -> Generator:
        """One recovery: start an instance, build the volume at the point, verify it against the oracle."""
        self.recoveries.append(r)
        env = self.env
        p = self.params
        via_snapshot = self.variant == "periodic_apply" and r.kind == "past"
        if clone.lost_from is not None and r.target_seq >= clone.lost_from and not via_snapshot:
            r.reason = "writes lost before apply (do records expired)"
            r.done = True
            return
        inst = ComputeInstance(self.sim, p.compute if self.variant != "appliance" else p.appliance,
                               f"recovery_{len(self.recoveries)}")
        yield from self._start_instance(inst)
        data: dict | None = None
        try:
            if self.variant == "periodic_apply" and r.kind == "past":
                data = yield from self._recover_from_snapshot(r)
            elif self.variant == "chunks":
                data = yield from self._recover_chunks(r, clone)
            else:
                data = yield from self._recover_volume(r, clone)
        except _CannotRecover as e:
            r.reason = str(e)
        inst.stop()
        r.done = True
        if data is None:
            return
        r.ok = True
        r.rto = env.now - r.started
        r.point_time = self.log.time_of(r.point_seq) if r.point_seq != r.target_seq else r.target_time
        ok, ndiff = same_state(state_of_dict(data), self.log.state(r.point_seq))
        r.matched, r.differing = ok, ndiff
        if not ok:
            self.violations_found.append(Violation(
                "recovered_volume_equals_oracle",
                f"{self.variant}: volume recovered to write {r.point_seq} (t={r.point_time:.3f} s, {r.kind}) "
                f"differs from the oracle in {ndiff} blocks", env.now,
                {"point_seq": r.point_seq, "differing_blocks": ndiff}))
        self.sim.note("recovered", kind=r.kind, point_write=r.point_seq, rto_s=r.rto, matches_oracle=ok)

    def _new_volume(self, name: str, data: dict) -> Generator:
        vol = CloudVolume(self.sim, self.params.volume.model_copy(update={"attached": False}), name)
        vol.data = data
        yield from vol.attach()
        return vol

    def _recover_volume(self, r: Recovery, clone: Clone) -> Generator:
        """Take over the replica volume, then roll forward (do stream / journal) or back (undo)."""
        data = dict(clone.data)
        vol = yield from self._new_volume("recovered", data)
        yield from self._roll(r, clone, vol)
        return vol.data

    def _roll(self, r: Recovery, clone: Clone, vol: CloudVolume) -> Generator:
        a, s = clone.applied, r.target_seq
        if s > a:
            yield from self._roll_forward(clone, vol, s)
        elif s < a:
            if self.variant == "periodic_apply":
                raise _CannotRecover("periodic_apply keeps no undo data")
            chunks = yield from self._read_undo(clone, s)
            entries = sum(len(c.blocks) for c in chunks)
            cmds = entries  # one block-size write per restored block
            restored = dict(vol.data)
            roll_back(restored, chunks, s)
            yield from self._retry_io(self._bulk_io, vol, cmds, entries * self.params.block_size,
                                      items=None)
            vol.data = restored

    def _roll_forward(self, clone: Clone, vol: CloudVolume, s: int) -> Generator:
        a = clone.applied
        if self.variant == "appliance":
            nbytes = self.log.bytes_between(a + 1, s)
            yield from self._retry_io(self.journal_volume.read, nbytes)
        else:
            yield from self._read_do_range(clone, s)
        cmds = self._io_cmds(a + 1, s)
        d = dict(vol.data)
        roll_forward(d, self.log, a + 1, s)
        yield from self._retry_io(self._bulk_io, vol, cmds, self.log.bytes_between(a + 1, s))
        vol.data = d

    def _read_do_range(self, clone: Clone, s: int) -> Generator:
        """GetRecords of writes clone.applied+1..s from the do stream; they must all still be there."""
        env = self.env
        n = len(clone.do_pos)
        pos = list(clone.do_pos)
        have = clone.applied
        got: list[tuple[int, int]] = []
        finished = [False] * n
        attempt = 0
        while not all(finished):
            for sh in range(n):
                if finished[sh]:
                    continue
                try:
                    recs = yield from self.stream.get_records(sh, after_seq=pos[sh])
                except Throttled:
                    yield env.timeout(self.params.read_backoff)
                    continue
                except ServiceUnavailable:
                    yield env.timeout(self._backoff(attempt))
                    attempt += 1
                    continue
                except RecordsExpired:
                    raise _CannotRecover("do records needed for roll-forward have expired") from None
                for rec in recs:
                    pos[sh] = rec.seq
                    got.append(rec.value)
                    if rec.value[1] >= s:
                        finished[sh] = True
                        break
                if not recs or pos[sh] >= self.stream.latest_seq(sh):
                    finished[sh] = True
        got.sort()
        for lo, hi in got:
            if hi <= have:
                continue
            if lo > have + 1:
                break
            have = hi
        if have < s:
            raise _CannotRecover(f"do records for writes {have + 1}..{s} are missing")

    def _read_undo(self, clone: Clone, s: int) -> Generator:
        """The undo chunks covering writes s+1..clone.applied, read from where the variant keeps them."""
        p = self.params
        a = clone.applied
        if self.variant == "appliance":
            chunks = [c for c in self.journal if c.hi > s and c.lo <= a]
            if not chunks or chunks[0].lo > s + 1:
                raise _CannotRecover("point is older than the journal window")
            nbytes = sum(len(c.blocks) for c in chunks) * p.block_size
            yield from self._retry_io(self.journal_volume.read, nbytes)
            return chunks
        if self.variant == "chunks":
            keys = [(lo, hi, k) for lo, hi, k in clone.archive if hi > s and lo <= a]
            if p.undo_capture and (not keys or keys[0][0] > s + 1):
                raise _CannotRecover("undo archive does not reach back to the point")
            objs, errors = yield from self._parallel([k for _, _, k in keys],
                                                     lambda k: self._obj("get", k, recovery=True),
                                                     p.chunk_workers)
            if errors:
                raise _CannotRecover("undo segment lost or corrupt in the object store")
            return [o.value for o in objs]
        # do_undo: GetRecords from the undo stream, starting at the first record covering s+1
        env = self.env
        chunks: list[UndoChunk] = []
        for sh, index in enumerate(self.undo_index):
            starts = [seq for seq, lo, hi in index if hi > s and lo <= a]
            if not starts:
                continue
            pos = starts[0] - 1
            last = starts[-1]
            attempt = 0
            while pos < last:
                try:
                    recs = yield from self.undo_stream.get_records(sh, after_seq=pos)
                except Throttled:
                    yield env.timeout(p.read_backoff)
                    continue
                except ServiceUnavailable:
                    yield env.timeout(self._backoff(attempt))
                    attempt += 1
                    continue
                except RecordsExpired:
                    raise _CannotRecover("undo records needed for roll-back have expired") from None
                if not recs:
                    break
                for rec in recs:
                    if rec.seq > last:
                        break
                    chunks.append(rec.value)
                    pos = rec.seq
        if p.undo_capture:
            covered = sorted((c.lo, c.hi) for c in chunks)
            if not covered or covered[0][0] > s + 1:
                raise _CannotRecover("undo records do not reach back to the point")
        chunks.sort(key=lambda c: (c.lo, c.hi))
        return chunks

    def _recover_from_snapshot(self, r: Recovery) -> Generator:
        """periodic_apply: restore the newest completed, consistent snapshot at or before T."""
        env = self.env
        snaps = [s for s in self.snapshots.snapshots
                 if s.done and not s.deleted and s.created_at <= r.started and s.meta.get("consistent")
                 and s.meta["point"] <= r.target_seq]
        if not snaps:
            if self.lost_from is not None and r.target_seq >= self.lost_from:
                raise _CannotRecover("no consistent snapshot before the point")
            r.point_seq = 0  # the initial full copy
            vol = yield from self._new_volume("recovered", {})
            return vol.data
        snap = snaps[-1]
        r.point_seq = int(snap.meta["point"])
        attempt = 0
        while True:
            try:
                vol = yield from self.snapshots.restore(snap, "recovered", self.params.volume)
                break
            except ServiceUnavailable:
                yield env.timeout(self._backoff(attempt))
                attempt += 1
            except ValueError:
                raise _CannotRecover("snapshot lost during restore") from None
        return vol.data

    def _recover_chunks(self, r: Recovery, clone: Clone) -> Generator:
        """Download every chunk of the committed manifest into a new volume, then roll forward/back."""
        p = self.params
        if self.chunks_damaged:
            raise _CannotRecover("chunk objects unreadable (lost or corrupt)")
        vol = yield from self._new_volume("recovered", {})

        def fetch(key: str):
            obj = yield from self._obj("get", key, recovery=True)
            yield from self._retry_io(vol.write, p.chunk_size)
            return obj

        self.pins += 1
        try:
            objs, errors = yield from self._parallel(clone.keys, fetch, p.chunk_workers)
            if errors:
                raise _CannotRecover("chunk objects unreadable (lost or corrupt)")
            data: dict = {}
            for o in objs:
                if isinstance(o.value, dict):  # chunk contents (the manifest names them)
                    data.update(o.value)
            vol.data = data
            yield from self._roll(r, clone, vol)
        finally:
            self.pins -= 1
            self._collect_garbage()
        return vol.data

    # --- faults ---------------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, Any]:
        t: dict[str, Any] = {"production": self.production, "wan": self.wan}
        if self.variant == "appliance":
            t["appliance"] = self.appliance
        else:
            t["stream"] = self.stream
            t["instance"] = self.instance
            if self.variant in ("do_undo", "chunks"):
                t["undo_stream"] = self.undo_stream
            if self.variant == "chunks":
                t["object_store"] = self.store
            else:
                t["replica_volume"] = self.replica
            if self.variant == "periodic_apply":
                t["snapshots"] = self.snapshots
        return t

    def fault_kinds(self, target: str) -> tuple[str, ...] | None:
        kinds = {
            "production": ("crash",),
            "wan": ("link_down", "slow_link"),
            "appliance": ("crash",),
            "stream": ("outage", "throttle", "lose_data"),
            "undo_stream": ("outage", "throttle", "lose_data"),
            "instance": ("outage", "crash"),
            "object_store": ("outage", "throttle", "lose_data", "corrupt_data"),
            "replica_volume": ("outage",),
            "snapshots": ("outage", "lose_data"),
        }
        return kinds.get(target) if target in self.fault_targets() else None

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Fault templates for `sim campaign`: the faults the issue names, per variant."""
        w = self.sim.duration

        def u(a: float, b: float) -> dict[str, Any]:
            return {"dist": "uniform", "low": a * w, "high": b * w}

        out = [
            {"kind": "crash", "target": "production"},  # loss of the site (healed only in the heal phase)
            {"kind": "crash", "target": "production", "restart_after": u(0.01, 0.1)},
            {"kind": "link_down", "target": "wan", "duration": u(0.01, 0.1)},
        ]
        if self.variant == "appliance":
            out.append({"kind": "crash", "target": "appliance", "restart_after": u(0.01, 0.1)})
            return out
        out += [
            {"kind": "throttle", "target": "stream", "duration": u(0.01, 0.2), "factor": {"dist": "uniform",
                                                                                          "low": 0.05, "high": 0.5}},
            {"kind": "outage", "target": "stream", "duration": u(0.005, 0.05)},
            {"kind": "outage", "target": "instance", "duration": u(0.01, 0.2)},
            {"kind": "crash", "target": "instance"},
            {"kind": "lose_data", "target": "stream"},
        ]
        if self.variant in ("do_undo", "chunks"):
            out += [{"kind": "throttle", "target": "undo_stream", "duration": u(0.01, 0.2), "factor": 0.2},
                    {"kind": "lose_data", "target": "undo_stream"}]
        if self.variant == "chunks":
            out += [{"kind": "outage", "target": "object_store", "duration": u(0.005, 0.05)},
                    {"kind": "throttle", "target": "object_store", "duration": u(0.01, 0.1), "factor": 0.1},
                    {"kind": "lose_data", "target": "object_store", "count": 1},
                    {"kind": "corrupt_data", "target": "object_store", "count": 1}]
        if self.variant == "periodic_apply":
            out += [{"kind": "outage", "target": "snapshots", "duration": u(0.01, 0.1)},
                    {"kind": "lose_data", "target": "snapshots"}]
        if self.variant != "chunks":
            out.append({"kind": "outage", "target": "replica_volume", "duration": u(0.005, 0.05)})
        return out

    def inject(self, fault: Any) -> None:
        if fault.target == "instance" and fault.kind == "outage":
            self.instance_outage = True
        if fault.target == "appliance" and fault.kind == "crash":
            self.appliance.stop("crash")
            return
        super().inject(fault)

    def heal(self, fault: Any) -> None:
        if fault.target == "instance" and fault.kind == "outage":
            self.instance_outage = False
        if fault.target == "appliance" and fault.kind == "crash":
            self.env.process(self.appliance_boot())
            return
        super().heal(fault)

    # --- results --------------------------------------------------------------------------------------
    def violations(self) -> list[Violation]:
        return list(self.violations_found)

    def converged(self) -> str | None:
        unfinished = [r for r in self.recoveries if not r.done]
        if unfinished:
            return f"{len(unfinished)} recoveries still running at the end of the run"
        return None

    def _storage(self) -> dict[str, float]:
        p = self.params
        out = {"storage_volume_bytes": 0.0, "storage_snapshot_bytes": 0.0, "storage_stream_bytes": 0.0,
               "storage_object_bytes": 0.0, "storage_journal_bytes": 0.0}
        if self.variant == "appliance":
            out["storage_volume_bytes"] = p.volume.capacity
            out["storage_journal_bytes"] = p.journal.capacity
        else:
            out["storage_stream_bytes"] = self.stream.retained_bytes()
            if self.variant in ("do_undo", "chunks"):
                out["storage_stream_bytes"] += self.undo_stream.retained_bytes()
            if self.variant == "chunks":
                out["storage_object_bytes"] = self.store.stored_bytes
            else:
                out["storage_volume_bytes"] = p.volume.capacity
            if self.variant == "periodic_apply":
                out["storage_snapshot_bytes"] = p.volume.capacity + self.snapshots.stored_bytes
        out["storage_bytes"] = sum(out.values())
        return out

    def _monthly_cost(self) -> dict[str, float]:
        """Monthly cost: component costs per simulated second times a 730 h month (steady-state storage)."""
        p = self.params
        span = max(self.env.now, 1e-9)
        scale = SECONDS_PER_MONTH / span
        c = {k: 0.0 for k in ("compute", "stream_shards", "stream_puts", "volumes", "snapshots",
                              "object_storage", "object_requests")}
        if self.variant == "appliance":
            c["compute"] = self.appliance.cost_usd()["compute_usd"] * scale
            for vol in (self.replica, self.journal_volume):
                vc = vol.cost_usd()
                c["volumes"] += (vc["volume_storage_usd"] + vc["volume_performance_usd"]) * scale
        else:
            # time-billed items (shard-hours, volumes) over the run; usage items (instance, puts,
            # requests, new snapshot and archive bytes) over the span the completed apply cycles
            # protect (see _record_cycle)
            u = self._usage
            if u is None:  # no apply cycle to measure: what was used so far, over the run
                u = self._usage_until(min(self.env.now, self.disaster.get("time", math.inf)),
                                      self.stream.cost_usd()["put_units_usd"])
            uscale = SECONDS_PER_MONTH / max(u["span"], 1e-9)
            c["compute"] = u["compute_usd"] * uscale
            c["stream_puts"] = (u["do_puts_usd"] + u.get("undo_puts_usd", 0.0)) * uscale
            streams = [self.stream] + ([self.undo_stream] if self.variant in ("do_undo", "chunks") else [])
            for st in streams:
                c["stream_shards"] += st.cost_usd()["shard_hours_usd"] * scale
            if self.variant == "chunks":
                op = p.object_store
                c["object_requests"] = (u["object_puts"] / 1000 * op.price_put_per_1000_usd
                                        + u["object_gets"] / 1000 * op.price_get_per_1000_usd) * uscale
                # steady state: every chunk plus one protection window of undo archive
                archive = u["archive_bytes"] / max(u["span"], 1e-9) * p.protection_window
                c["object_storage"] = (self.nchunks * p.chunk_size + archive) / GB * op.price_gb_month_usd
            else:
                vc = self.replica.cost_usd()
                c["volumes"] = (vc["volume_storage_usd"] + vc["volume_performance_usd"]) * scale
            if self.variant == "periodic_apply":
                # steady state: a full base copy plus the increments of one protection window
                window_incr = u["snapshot_incr_bytes"] * p.protection_window / max(u["span"], 1e-9)
                c["snapshots"] = (p.volume.capacity + window_incr) / GB * p.snapshots.price_gb_month_usd
        out = {f"monthly_cost_{k}_usd": v for k, v in c.items()}
        out["monthly_cost_usd"] = sum(c.values())
        return out

    def metrics(self) -> dict[str, float]:
        nan = math.nan
        latest = [r for r in self.recoveries if r.kind == "latest"]
        past = [r for r in self.recoveries if r.kind == "past"]
        past_ok = [r for r in past if r.ok]
        lat_ok = [r for r in latest if r.ok]
        m: dict[str, float] = {
            **self.rpo.summary("rpo", "s"),
            "rpo_max_s": self.rpo.max if self.rpo.n else nan,
            "writes": float(self.log.count),
            "rto_latest_s": float(np.mean([r.rto for r in lat_ok])) if lat_ok else nan,
            "rto_past_s": float(np.mean([r.rto for r in past_ok])) if past_ok else nan,
            "rto_past_max_s": float(np.max([r.rto for r in past_ok])) if past_ok else nan,
            "recovery_point_gap_s": float(np.mean([r.target_time - r.point_time for r in past_ok])) if past_ok else nan,
            "past_points_recovered": float(len(past_ok)),
            "past_points_exact": float(sum(1 for r in past_ok if r.point_seq == r.target_seq)),
            "past_points_not_recoverable": float(sum(1 for r in past if r.done and not r.ok)),
            "latest_recovered": float(len(lat_ok)),
            "recoveries_verified": float(sum(1 for r in self.recoveries if r.matched)),
            "recoveries_unfinished": float(sum(1 for r in self.recoveries if not r.done)),
            # the mechanism offers any point, nothing was lost, and no past point drawn was refused,
            # recovered to another point or found different from the oracle
            "any_point_recoverable": float(self.variant != "periodic_apply" and self.lost_from is None
                                           and self.params.detect_expiry
                                           and all(r.ok and r.matched and r.point_seq == r.target_seq
                                                   for r in past if r.done)),
            "recoverable_points": float(self._recoverable_points()),
            "records_expired": float(self.records_expired),
            "writes_lost": float(self.writes_lost),
            "data_lost_bytes": self.data_lost_bytes,
            "disaster": float(bool(self.disaster)),
            "rpo_at_disaster_s": self.disaster.get("rpo", nan),
            "data_lost_at_disaster_bytes": self.disaster.get("bytes_lost", nan),
            "apply_runs": float(self.apply_runs),
            "apply_crashed": float(self.apply_crashed),
            "apply_duration_mean_s": float(np.mean(self.apply_durations)) if self.apply_durations else nan,
            "apply_lag_max_s": self.apply_lag_max,
            "instance_failed_starts": float(self.failed_starts),
            "put_retries": float(self.put_retries),
            "undo_put_retries": float(self.undo_put_retries),
            "object_errors": float(self.object_errors),
            "chunks_unreadable": float(self.chunks_damaged),
        }
        m.update(self._storage())
        m.update(self._monthly_cost())
        return m

    def _recoverable_points(self) -> int:
        """Distinct points in time recoverable now within the protection window."""
        now = self.env.now
        lo = self.log.seq_at(max(0.0, now - self.params.protection_window))
        if self.variant == "periodic_apply":
            snaps = [s for s in self.snapshots.snapshots if s.done and not s.deleted and s.meta.get("consistent")]
            return len(snaps) + (1 if self.lost_from is None else 0)
        if self.lost_from is not None:
            return max(0, self.lost_from - 1 - lo)
        return self.durable - lo + 1


class _Pacer:
    """Client-side pacing of puts to one shard at `rate` bytes/s (avoids provoking throttling)."""

    __slots__ = ("rate", "_next")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    def delay(self, now: float, nbytes: float) -> float:
        start = max(now, self._next)
        self._next = start + nbytes / self.rate
        return start - now


class _CannotRecover(Exception):
    """The mechanism knows it cannot reach the point (reported, not claimed)."""


for _name, _desc in [
    ("rpo_mean_s", "mean time from a production write to its durability at the protection target"),
    ("rto_latest_s", "recovery time to the latest durable point (instance start to verified volume)"),
    ("rto_past_s", "mean recovery time to random past points T"),
    ("recovery_point_gap_s", "mean T minus the point actually recovered (0: any point in time)"),
    ("records_expired", "do records that expired from the stream before they were applied"),
    ("data_lost_bytes", "bytes of production writes lost because their do records expired"),
    ("monthly_cost_usd", "monthly cost of protection, extrapolated from the simulated span"),
    ("storage_bytes", "bytes stored by the protection (volumes, snapshots, streams, objects, journal)"),
]:
    register_metric(_name, _desc)
