"""Persistent-memory image capture with linked indexes (system `pmem_image`), and the copy-checkpoint baseline.

An application keeps its working memory as pages in DRAM and/or persistent memory (PMEM). Capturing a
memory image copies no data: the `image_capturer` pauses the application, records an index of the
page versions that make up memory at that instant, and write-protects them so that a later write
goes to a fresh frame (copy-on-write) and the image's version survives in place. Images are
linked with one of two index schemes:

- `full_index`: each image maps every page (like copying the page table, as fork does);
- `diff_index`: each image maps only the pages changed since the previous one; resolving a page
  walks back along the chain to the nearest image mapping it (the oldest retained image is full).

Images serve restoring a failed process, cloning a process (sharing unchanged pages copy-on-write)
and recovering to the most recent state (restore the latest image, replay the application log).
The baseline (`copy_whole`, `copy_dirty`) is a conventional stop-the-world checkpoint copying the
whole memory or the pages dirtied since the previous checkpoint to an SSD or an object store.

Processes: `application_writer` (Poisson page writes with the workload's key popularity, one log
record per write), `log_flusher` (group commit, when configured), `image_capturer` or
`copy_checkpointer`, `reclaimer` (drops images beyond the retention and frees their page versions,
merging difference chains), `restore_checker` (restores the latest image and clones a random
one, checking both against the oracle), and `recoverer` (after a crash or power loss).

The oracle is the application's own view of its memory (page -> version), kept apart from frames,
indexes and checkpoints; it records memory at every capture instant and at every failure.

Abstracted away: page contents beyond a version number, the application's compute (only its
stalls are modelled: capture pauses, copy-on-write faults), TLB and cache effects, multi-level
page tables, interference of restores with the running application, and the ordering of writes
within one `write_tick` (a tick's writes are applied together, in arrival order, at its end).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import simpy
from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.components.base import ComponentError
from sim.components.cloud.object_store import ObjectStore, ObjectStoreParams
from sim.components.memory import DRAM, PMEM, DramParams, PmemParams
from sim.components.storage import SSD, SsdParams
from sim.core.registry import register_metric, register_system
from sim.core.system import Params, System, Violation
from sim.core.units import Duration, PositiveDuration, PositiveRate, PositiveSize
from sim.systems.pmem_image_store import (
    FRAME,
    AppLog,
    ChainBroken,
    CheckpointChain,
    CopyCheckpoint,
    Image,
    ImageChain,
    PageFrames,
    last_writes,
    per_write_versions,
)
from sim.workloads import KeyDist

MAX_PAGES = 1 << 25  # 32 Mi pages (128 GiB of 4 KiB pages): the numpy state stays below a few GB
MAX_VIOLATIONS = 20
IMAGE_SCHEMES = ("full_index", "diff_index")
GARBAGE = -1  # the version a corrupted index entry resolves to


class PmemImageParams(Params):
    """Mechanism and baseline settings; defaults and their sources are in docs/models/pmem_image.md."""

    scheme: Literal["full_index", "diff_index", "copy_whole", "copy_dirty"] = Field(
        "diff_index", description="image index scheme, or the copy-checkpoint baseline"
    )
    page_size: PositiveSize = Field(4096, description="bytes per page (x86-64 base page)")
    memory_size: PositiveSize = Field(4 * 2**30, description="application working memory, bytes")
    placement: Literal["dram", "pmem", "mixed"] = Field(
        "pmem",
        description="dram: pages and images in DRAM; pmem: both in PMEM; "
        "mixed: pages in DRAM, images written back to PMEM at capture",
    )
    capture_interval: PositiveDuration = Field(1.0, description="time between images / checkpoints")
    images_retained: int = Field(8, ge=1, description="images (or checkpoints) kept")
    reclaim_interval: Duration = Field(0.0, description="reclaimer period; 0: right after each capture")
    copy_target: Literal["ssd", "object_store"] = Field("ssd", description="where the baseline copies")
    copy_full_every: int = Field(
        8, ge=1, description="copy_dirty: every k-th checkpoint copies the whole memory"
    )
    object_part_size: PositiveSize = Field(64 * 2**20, description="object-store part (one PUT/GET) size")
    object_connections: int = Field(16, ge=1, description="parallel object-store requests")
    index_entry_size: PositiveSize = Field(8, description="bytes per full-index entry (one 64-bit PTE)")
    diff_entry_size: PositiveSize = Field(16, description="bytes per difference entry (page number + PTE)")
    entry_capture_cost: Duration = Field(61e-9, description="CPU time to copy and write-protect one entry, s")
    entry_map_cost: Duration = Field(61e-9, description="CPU time to install one page mapping at restore, s")
    capture_fixed_cost: Duration = Field(50e-6, description="stopping and resuming the application, s")
    cow_fault_cost: Duration = Field(1.0e-6, description="kernel cost of one copy-on-write fault, s")
    log_device: Literal["pmem", "ssd"] = Field("pmem", description="where the application log is persisted")
    log_flush_interval: Duration = Field(0.0, description="group commit period; 0: every write persisted")
    log_replay_rate: PositiveRate = Field(118e3, description="log records replayed per second at recovery")
    restore_probe_interval: PositiveDuration = Field(5.0, description="period of the restore/clone checks")
    write_tick: PositiveDuration = Field(1e-3, description="writes arriving in a tick are applied together")
    copy_on_write: bool = Field(True, description="false: the broken variant writing kept versions in place")
    verify_checksums: bool = Field(True, description="false: the broken variant trusting damaged indexes")
    dram: DramParams = Field(default_factory=DramParams)
    pmem: PmemParams = Field(default_factory=PmemParams)
    ssd: SsdParams = Field(default_factory=SsdParams)
    object_store: ObjectStoreParams = Field(default_factory=ObjectStoreParams)

    @field_validator("memory_size")
    @classmethod
    def _whole_pages(cls, v: float, info: ValidationInfo) -> float:
        page = info.data.get("page_size")
        if page is None:
            return v
        pages = v / page
        if pages < 1 or abs(pages - round(pages)) > 1e-9 * pages:
            raise ValueError(f"must be a whole number of pages (a multiple of page_size = {page:g} B)")
        if round(pages) > MAX_PAGES:
            raise ValueError(f"{round(pages)} pages of {page:g} B; at most {MAX_PAGES} pages are supported")
        return v

    @model_validator(mode="after")
    def _tick(self):
        if self.write_tick >= self.capture_interval:
            raise ValueError("write_tick must be shorter than capture_interval")
        return self


class PmemImageWorkload(Params):
    """The application: page writes (Poisson), which pages they hit, and its log records."""

    write_rate: PositiveRate = Field(100e3, description="page writes per second (Poisson)")
    keys: KeyDist = Field(
        default_factory=lambda: KeyDist(dist="zipf", zipf_s=0.99), description="which page a write hits"
    )
    log_record_size: PositiveSize = Field(128, description="bytes per application log record")


for _name, _desc in {
    "capture_pause_mean_s": "mean time the application is paused per image or copy checkpoint",
    "metadata_bytes_per_image": "index bytes written per image (entries x entry size)",
    "metadata_bytes_total": "index bytes held by the retained images (time average)",
    "kept_version_bytes": "memory held by page versions only images reference (time average)",
    "restore_time_s": "time to restore the latest image (or checkpoint) into a process",
    "clone_time_s": "time to clone a process from a random retained image",
    "recovery_time_s": "restart-to-running time: restore the latest usable image + replay the log",
    "rpo_s": "age of the image recovery started from, at the failure",
    "rpo_with_log_s": "age of the oldest write lost with the unpersisted log tail, at the failure (0: nothing lost)",
    "cow_slowdown": "application running time with / without copy-on-write fault stalls",
    "images_lost": "images destroyed by power loss or a node crash (images kept in DRAM)",
}.items():
    register_metric(_name, _desc)


class MemoryOracle:
    """The application's own view of its memory (page -> version), independent of the mechanism."""

    def __init__(self, n_pages: int) -> None:
        self.truth = np.zeros(n_pages, dtype=FRAME)
        self.snapshots: dict[int, np.ndarray] = {}  # image/checkpoint seq -> memory at its instant

    def snapshot(self, seq: int) -> None:
        self.snapshots[seq] = self.truth.copy()

    def drop(self, seq: int) -> None:
        self.snapshots.pop(seq, None)

    def forget_unacknowledged(self, pages: np.ndarray, versions: np.ndarray) -> None:
        """Writes whose log records were lost never happened for the application's clients."""
        if len(pages) == 0:
            return
        first_pages, first_idx = np.unique(pages, return_index=True)
        self.truth[first_pages] = versions[first_idx] - 1


@register_system("pmem_image")
class PmemImage(System):
    """Persistent-memory image capture (full or difference-only index) vs copy checkpoints."""

    Params = PmemImageParams
    Workload = PmemImageWorkload

    def __init__(self, sim, params: PmemImageParams, workload: PmemImageWorkload | None = None) -> None:
        super().__init__(sim, params, workload)
        p = params
        self.w = workload if workload is not None else PmemImageWorkload()
        self.n_pages = int(round(p.memory_size / p.page_size))
        self.images_mode = p.scheme in IMAGE_SCHEMES
        self.dram = DRAM(sim, p.dram, "dram")
        self.pmem = PMEM(sim, p.pmem, "pmem")
        self.ssd = SSD(sim, p.ssd, "ssd")
        self.object_store = (
            ObjectStore(sim, p.object_store, "object_store") if p.copy_target == "object_store" else None
        )
        self.live_mem = self.pmem if p.placement == "pmem" else self.dram
        self.image_mem = self.dram if p.placement == "dram" else self.pmem
        self.log_mem = self.pmem if p.log_device == "pmem" else self.ssd
        self.frames = PageFrames(self.n_pages, copy_on_write=p.copy_on_write)
        self.shadow: np.ndarray | None = None  # mixed placement: PMEM frame of each page's latest image copy
        self.chain = ImageChain(self.n_pages)
        self.ckpts = CheckpointChain(self.n_pages)
        self.log = AppLog()
        self.oracle = MemoryOracle(self.n_pages)
        self._seq = 0
        self._need_full = True  # the next image/checkpoint must be full (no usable predecessor)
        self._copies_since_full = 0
        # application state
        self.app_up = True
        self.pauses = 0
        self.epoch = 0  # incremented at every failure: processes in flight notice and abandon
        self._resume_ev: simpy.Event | None = None
        self._t_arrivals = 0.0
        self._failed_at: float | None = None
        self._down: set[int] = set()  # failure faults in force (by id)
        self._expected_at_failure: np.ndarray | None = None
        self._rpo_pending = math.nan
        self._rpo_log_pending = math.nan
        self._reclaim_ev: simpy.Event | None = None
        self._violations: list[Violation] = []
        self.violation_count = 0
        rec = sim.recorder
        self.pause_tally = rec.tally("capture_pause")
        self.meta_tally = rec.tally("metadata_bytes_per_image")
        self.copy_bytes_tally = rec.tally("copy_bytes_per_checkpoint")
        self.restore_tally = rec.tally("restore_time")
        self.chain_tally = rec.tally("restore_chain_length")
        self.clone_tally = rec.tally("clone_time")
        self.recovery_tally = rec.tally("recovery_time")
        self.replay_tally = rec.tally("log_replay_time")
        self.rpo_tally = rec.tally("rpo")
        self.rpo_log_tally = rec.tally("rpo_with_log")
        self.reclaim_tally = rec.tally("reclaim_time")
        self.kept_gauge = rec.gauge("kept_version_bytes")
        self.meta_gauge = rec.gauge("metadata_bytes_held")
        self.cow_gauge = rec.gauge("cow_stalled")
        self.paused_gauge = rec.gauge("paused")
        self.down_gauge = rec.gauge("down")
        self.writes = rec.counter("writes")
        self.cow_faults = rec.counter("cow_faults")
        self.captures = rec.counter("captures")
        self.restores_verified = rec.counter("restores_verified")
        self.images_lost = rec.counter("images_lost")
        self.corruption_detected = rec.counter("corruption_detected")
        self.recoveries = rec.counter("recoveries")
        self.recoveries_failed = rec.counter("recoveries_failed")
        self.writes_lost = rec.counter("writes_lost")
        sim.add_probe("kept_version_bytes", lambda: self.kept_gauge.level)
        sim.add_probe("metadata_bytes_held", lambda: self.meta_gauge.level)
        sim.add_probe(
            "images_retained", lambda: float(len(self.chain) if self.images_mode else len(self.ckpts))
        )
        sim.add_probe("app_up", lambda: float(self.app_up))

    # ============================================================================================
    # processes
    # ============================================================================================
    def start(self) -> None:
        env = self.env
        self._page_sampler = self.w.keys.vector_sampler(self.sim.rng("pmem_image.pages"), self.n_pages, FRAME)
        env.process(self.application_writer())
        if self.params.log_flush_interval > 0:
            env.process(self.log_flusher())
        if self.images_mode:
            env.process(self.image_capturer())
        else:
            env.process(self.copy_checkpointer())
        env.process(self.reclaimer())
        env.process(self.restore_checker())

    def _running(self) -> bool:
        return self.app_up and self.pauses == 0

    def _wait_running(self):
        while not self._running():
            if self._resume_ev is None:
                self._resume_ev = self.env.event()
            yield self._resume_ev

    def _wake(self) -> None:
        if self._running() and self._resume_ev is not None:
            ev, self._resume_ev = self._resume_ev, None
            ev.succeed()

    def application_writer(self):
        """The application: Poisson page writes; each write is logged, then stored (copy-on-write if kept)."""
        env, p = self.env, self.params
        rng = self.sim.rng("pmem_image.arrivals")
        rate, tick = self.w.write_rate, p.write_tick
        sync_log = p.log_flush_interval == 0
        cow_cost = p.cow_fault_cost
        page_size = p.page_size
        frames, oracle, log = self.frames, self.oracle, self.log
        while True:
            yield env.timeout(tick)
            if not self._running():
                yield from self._wait_running()
            now = env.now
            n = int(rng.poisson(rate * (now - self._t_arrivals)))
            self._t_arrivals = now
            if n == 0:
                continue
            pages = self._page_sampler(n)
            versions = per_write_versions(oracle.truth, pages)
            up, uv = last_writes(pages, versions)
            oracle.truth[up] = uv
            log.append(pages, versions, now, durable=sync_log)
            cow = frames.write(up, uv)
            self.writes.inc(n)
            if cow:
                self.cow_faults.inc(cow)
                self.kept_gauge.set(frames.kept_frames * page_size)
                self.cow_gauge.set(1.0)
                yield env.timeout(cow * cow_cost)
                yield from self.live_mem.write(cow * page_size)
                self.cow_gauge.set(0.0)

    def log_flusher(self):
        """Group commit: every `log_flush_interval` the records appended so far are persisted."""
        env, p = self.env, self.params
        log = self.log
        while True:
            yield env.timeout(p.log_flush_interval)
            if not self.app_up:
                continue
            epoch, upto = self.epoch, log.end
            nbytes = (upto - log.durable) * self.w.log_record_size
            if nbytes <= 0:
                continue
            yield from self.log_mem.write(nbytes)
            if p.log_device == "pmem":
                yield from self.pmem.persist()
            if epoch == self.epoch:
                log.durable = max(log.durable, min(upto, log.end))

    # --- image capture -----------------------------------------------------------------------------
    def image_capturer(self):
        """Every capture interval: pause the application and record an image index (no data copied)."""
        yield from self._every_capture_interval(self.capture_image)

    def _every_capture_interval(self, capture):
        """Run `capture()` (a generator) every capture interval while the application is up."""
        env = self.env
        while True:
            yield env.timeout(self.params.capture_interval)
            if self.app_up:
                yield from capture()

    def capture_image(self):
        env, p = self.env, self.params
        frames = self.frames
        epoch, t0 = self.epoch, env.now
        self._pause()
        dirty = np.flatnonzero(frames.dirty).astype(FRAME)
        full = p.scheme == "full_index" or self._need_full or self.chain.latest() is None
        written_back = 0
        if p.placement == "mixed":
            # pages live in DRAM: the capture writes the pages dirtied since the last image back to PMEM
            if self.shadow is None:
                self.shadow = np.full(self.n_pages, -1, dtype=FRAME)
                dirty = np.arange(self.n_pages, dtype=FRAME)
            self.shadow[dirty] = frames.copy_out(dirty)
            mapping = self.shadow
            written_back = len(dirty)
        else:
            mapping = frames.page_frame
        if full:
            image = Image(self._next_seq(), t0, self.log.end, mapping.copy())
        else:
            image = Image(self._next_seq(), t0, self.log.end, mapping[dirty], pages=dirty)
        image.seal()
        frames.hold(image.held)
        frames.dirty[:] = False
        self.chain.images.append(image)
        self.oracle.snapshot(image.seq)
        self._need_full = False
        entries = image.entries
        meta = entries * (p.index_entry_size if full else p.diff_entry_size)
        self.meta_gauge.add(meta)
        self.kept_gauge.set(frames.kept_frames * p.page_size)
        # the pause: stop, copy + write-protect the entries, write the index (and dirty pages) durably
        yield env.timeout(p.capture_fixed_cost + entries * p.entry_capture_cost)
        if written_back:
            yield from self.pmem.write(written_back * p.page_size)
        yield from self.image_mem.write(meta)
        if self.image_mem is self.pmem:
            yield from self.pmem.persist()
        yield from self._flush_log_to(image.log_pos, epoch)
        if epoch != self.epoch:
            return  # a failure struck during the pause: the failure handler discarded this image
        self._capture_done(image, t0, meta, written_back * p.page_size)

    def _flush_log_to(self, pos: int, epoch: int):
        """Write-ahead rule of a capture: the log is made durable up to the point's position first.

        An image (or copy) holds every write before its log position; with group commit some of
        those records may not be durable yet, and a failure would then un-acknowledge writes the
        completed point still holds (recovery would resurrect them). The capture forces the group
        commit of those records within its pause.
        """
        log = self.log
        if log.durable >= pos:
            return
        yield from self.log_mem.write((pos - log.durable) * self.w.log_record_size)
        if self.params.log_device == "pmem":
            yield from self.pmem.persist()
        if epoch == self.epoch:
            log.durable = max(log.durable, min(pos, log.end))

    def _capture_done(self, point: Image | CopyCheckpoint, t0: float, meta: float, copied_bytes: float) -> None:
        """A capture that paused the application at `t0` is complete: count it, resume the application."""
        point.complete = True
        self.captures.inc()
        self.pause_tally.record(self.env.now - t0)
        self.meta_tally.record(meta)
        self.copy_bytes_tally.record(copied_bytes)
        self._resume()
        self._request_reclaim()

    # --- copy checkpoint (baseline) ---------------------------------------------------------------------
    def copy_checkpointer(self):
        """Every capture interval: stop the application and copy memory (whole or dirty pages) to the device."""
        yield from self._every_capture_interval(self.copy_checkpoint)

    def copy_checkpoint(self):
        env, p = self.env, self.params
        frames = self.frames
        epoch, t0 = self.epoch, env.now
        self._pause()
        whole = (
            p.scheme == "copy_whole"
            or self._need_full
            or self.ckpts.latest() is None
            or self._copies_since_full + 1 >= p.copy_full_every
        )
        if whole:
            cp = CopyCheckpoint(self._next_seq(), t0, self.log.end, frames.versions())
            cp.data_bytes = self.n_pages * p.page_size
            meta = p.index_entry_size  # one extent
            self._copies_since_full = 0
        else:
            pages = np.flatnonzero(frames.dirty).astype(FRAME)
            cp = CopyCheckpoint(
                self._next_seq(), t0, self.log.end, frames.content[frames.page_frame[pages]], pages=pages
            )
            meta = len(pages) * p.diff_entry_size
            cp.data_bytes = len(pages) * p.page_size + meta
            self._copies_since_full += 1
        cp.seal()
        frames.dirty[:] = False
        self.ckpts.checkpoints.append(cp)
        self.oracle.snapshot(cp.seq)
        self._need_full = False
        self.meta_gauge.add(meta)
        try:
            yield env.timeout(p.capture_fixed_cost)
            yield from self.live_mem.read(cp.data_bytes)
            yield from self._device_write(cp)
            yield from self._flush_log_to(cp.log_pos, epoch)
        except ComponentError:
            if epoch == self.epoch:
                self._abandon_checkpoint(cp)
                self._resume()
            return
        if epoch != self.epoch:
            return
        self._capture_done(cp, t0, meta, cp.data_bytes)

    def _abandon_checkpoint(self, cp: CopyCheckpoint) -> None:
        self.ckpts.checkpoints.remove(cp)
        self._forget_checkpoint(cp)
        self._lost_newest()  # its dirty pages were cleared: the next copy must be whole

    def _lost_newest(self) -> None:
        """The newest image/checkpoint is gone: the dirty set no longer counts from a kept point."""
        self._need_full = True
        self.shadow = None  # mixed placement: write every page back at the next capture

    def _parts(self, nbytes: float) -> list[float]:
        size = self.params.object_part_size
        k = max(1, math.ceil(nbytes / size))
        return [size] * (k - 1) + [nbytes - size * (k - 1)]

    def _device_write(self, cp: CopyCheckpoint):
        if self.object_store is None:
            yield from self.ssd.write(cp.data_bytes)
            return
        store = self.object_store
        yield from self._parallel(
            [store.put(f"ckpt/{cp.seq:08d}/part{i:05d}", b) for i, b in enumerate(self._parts(cp.data_bytes))]
        )

    def _device_read(self, nbytes: float, cps: list[CopyCheckpoint]):
        if self.object_store is None:
            yield from self.ssd.read(nbytes)
            return
        store = self.object_store
        reqs = []
        for cp in cps:
            reqs += [
                store.get(f"ckpt/{cp.seq:08d}/part{i:05d}") for i in range(len(self._parts(cp.data_bytes)))
            ]
        yield from self._parallel(reqs)

    def _parallel(self, gens: list):
        """Run object-store requests `object_connections` at a time; re-raise the first failure."""
        env = self.env
        slots = simpy.Resource(env, capacity=self.params.object_connections)
        errors: list[Exception] = []

        def one(gen):
            with slots.request() as req:
                yield req
                try:
                    yield from gen
                except ComponentError as e:
                    errors.append(e)

        procs = [env.process(one(g)) for g in gens]
        yield env.all_of(procs)
        if errors:
            raise errors[0]

    # --- reclaim ----------------------------------------------------------------------------------------
    def _request_reclaim(self) -> None:
        if self._reclaim_ev is not None and not self._reclaim_ev.triggered:
            self._reclaim_ev.succeed()

    def reclaimer(self):
        """Drops images (checkpoints) beyond the retention, frees their page versions, truncates the log."""
        env, p = self.env, self.params
        while True:
            if p.reclaim_interval > 0:
                yield env.timeout(p.reclaim_interval)
            else:
                self._reclaim_ev = env.event()
                yield self._reclaim_ev
            t0 = env.now
            work = self.reclaim()
            if work > 0:
                yield env.timeout(work)
                self.reclaim_tally.record(env.now - t0)

    def reclaim(self) -> float:
        """Apply the retention now; returns the CPU time the work takes (entries touched x entry cost)."""
        p = self.params
        touched = 0
        if self.images_mode:
            chain = self.chain
            while len(chain.complete_images()) > p.images_retained:
                if p.scheme == "full_index" or len(chain) < 2:
                    gone = chain.drop_oldest(self.frames)
                    touched += gone.entries
                    self._forget_image(gone)
                    continue
                try:
                    nxt_entries = chain.images[1].entries
                    gone = chain.merge_oldest_into_next(self.frames, verify=p.verify_checksums)
                    touched += gone.entries + nxt_entries
                    self._forget_image(gone)
                    self.meta_gauge.add(
                        (self.n_pages - nxt_entries) * p.index_entry_size
                        + nxt_entries * (p.index_entry_size - p.diff_entry_size)
                    )
                except ChainBroken as e:
                    self._quarantine(e.image)
            oldest = chain.complete_images()
            if oldest:
                self.log.truncate(oldest[0].log_pos)
        else:
            for cp in self.ckpts.trim(p.images_retained):
                touched += 1
                self._forget_checkpoint(cp)
            oldest = self.ckpts.complete_checkpoints()
            if oldest:
                self.log.truncate(self.ckpts.chain_of(oldest[0])[0].log_pos)
        self.kept_gauge.set(self.frames.kept_frames * p.page_size)
        return touched * p.entry_map_cost

    def _image_meta(self, im: Image) -> float:
        p = self.params
        return im.entries * (p.index_entry_size if im.full else p.diff_entry_size)

    def _forget_image(self, im: Image) -> None:
        self.oracle.drop(im.seq)
        self.meta_gauge.add(-self._image_meta(im))

    def _forget_checkpoint(self, cp: CopyCheckpoint) -> None:
        self.oracle.drop(cp.seq)
        p = self.params
        self.meta_gauge.add(-(p.index_entry_size if cp.full else len(cp.contents) * p.diff_entry_size))
        if self.object_store is not None:
            for i in range(len(self._parts(cp.data_bytes))):
                self.object_store.remove(f"ckpt/{cp.seq:08d}/part{i:05d}")

    def _quarantine(self, bad) -> None:
        """A damaged image/checkpoint was detected: drop it and every one that depends on it."""
        self.corruption_detected.inc()
        if self.images_mode:
            chain = self.chain
            k = chain.index_of(bad)
            end = k + 1
            while end < len(chain) and not chain.images[end].full:
                end += 1
            newest_gone = end >= len(chain.images)
            for im in chain.images[k:end]:
                self.frames.unhold(im.held)
                self._forget_image(im)
            del chain.images[k:end]
            if newest_gone:
                self._lost_newest()
        else:
            cps = self.ckpts.checkpoints
            k = next(i for i, c in enumerate(cps) if c is bad)
            end = k + 1
            while end < len(cps) and not cps[end].full:
                end += 1
            for cp in cps[k:end]:
                self._forget_checkpoint(cp)
            newest_gone = end >= len(cps)
            del cps[k:end]
            if newest_gone:
                self._lost_newest()
        self.kept_gauge.set(self.frames.kept_frames * self.params.page_size)

    # --- restores and clones ---------------------------------------------------------------------------
    def restore_checker(self):
        """Periodically restore the latest image and clone a random one; both must equal the oracle."""
        env, p = self.env, self.params
        rng = self.sim.rng("pmem_image.restore_checker")
        while True:
            yield env.timeout(p.restore_probe_interval)
            if not self.app_up:
                continue
            usable = self._complete_points()
            if not usable:
                continue
            latest = usable[-1]
            other = usable[int(rng.integers(len(usable)))]
            for target, clone in ((latest, False), (other, True)):
                if not self._still_retained(target):
                    continue
                epoch, t0 = self.epoch, env.now
                expected = self.oracle.snapshots.get(target.seq)  # the reclaimer may drop it meanwhile
                try:
                    versions, chain_len = yield from self.timed_restore(target, clone=clone)
                except ChainBroken as e:
                    self._quarantine(e.image)
                    continue
                except ComponentError:
                    continue
                if epoch != self.epoch:
                    break
                self.check_restore(target, versions, expected, "clone" if clone else "restore")
                (self.clone_tally if clone else self.restore_tally).record(env.now - t0)
                if not clone:
                    self.chain_tally.record(chain_len)

    def _complete_points(self) -> list:
        """The complete images (or copy checkpoints, for the baseline), oldest first."""
        return self.chain.complete_images() if self.images_mode else self.ckpts.complete_checkpoints()

    def _still_retained(self, target) -> bool:
        items = self.chain.images if self.images_mode else self.ckpts.checkpoints
        return any(x is target for x in items)

    def timed_restore(self, target, clone: bool = False):
        """Resolve `target`'s memory map and take the time doing so costs; returns (versions, chain length)."""
        env, p = self.env, self.params
        if self.images_mode:
            res = self.chain.resolve(target, verify=p.verify_checksums)
            # the restore pins the versions it maps (the reclaimer may drop the image meanwhile)
            versions = self.content_at(res.frames)
            k = self.chain.index_of(target)
            index_reads = [self._image_meta(im) for im in self.chain.images[k - res.chain_length + 1 : k + 1]]
            for nbytes in reversed(
                index_reads
            ):  # one index read per image on the chain (each pays the latency)
                yield from self.image_mem.read(nbytes)
            # every entry on the chain is looked up (and installed unless a newer image mapped the page)
            yield env.timeout(res.entries_read * p.entry_map_cost)
            if not clone and p.placement == "mixed":
                yield from self.pmem.read(self.n_pages * p.page_size)  # bring pages back into DRAM
            return versions, res.chain_length
        versions, k, _ = self.ckpts.resolve(target, verify=p.verify_checksums)
        chain = self.ckpts.chain_of(target)
        # every page is read once, from the newest checkpoint on the chain holding it (as CRIU's
        # pagemap entries marked "in parent" direct), plus each increment's page map; superseded
        # copies of a page in older checkpoints are not read back
        nbytes = self.n_pages * p.page_size + sum(
            c.data_bytes - len(c.contents) * p.page_size for c in chain if not c.full
        )
        yield from self._device_read(nbytes, chain)
        yield from self.live_mem.write(self.n_pages * p.page_size)
        return versions, k

    def content_at(self, frames: np.ndarray) -> np.ndarray:
        """Versions stored in `frames`; an entry pointing outside the frame pool reads as garbage."""
        cap = self.frames.capacity
        ok = (frames >= 0) & (frames < cap)
        if ok.all():
            return self.frames.content[frames]
        return np.where(ok, self.frames.content[np.clip(frames, 0, cap - 1)], GARBAGE)

    def check_restore(self, target, versions: np.ndarray, expected: np.ndarray | None, what: str) -> None:
        if expected is None:
            self._violate("oracle_missing", f"no oracle snapshot for {what} of {target.seq}")
            return
        bad = int(np.count_nonzero(versions != expected))
        if bad:
            self._violate(
                f"{what}_equals_oracle",
                f"{what} of image {target.seq} (t={target.time:.6g}s): {bad} pages differ from the oracle",
            )
        else:
            self.restores_verified.inc()

    # --- faults ---------------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, Any]:
        return {"process": self, "node": self, "image_index": self}

    def fault_kinds(self, target: str) -> tuple[str, ...]:
        return {"process": ("crash",), "node": ("crash", "power_loss"), "image_index": ("corrupt_data",)}.get(
            target, ()
        )

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Fault templates a campaign draws from: crashes, power losses and damaged image indexes."""
        short = {"dist": "uniform", "low": 0.05, "high": 2.0}
        return [
            {"kind": "crash", "target": "process", "restart_after": short},
            {"kind": "crash", "target": "node", "restart_after": short},
            {"kind": "power_loss", "target": "node", "restore_after": short},
            {"kind": "corrupt_data", "target": "image_index", "image": "latest", "entries": 8},
            {"kind": "corrupt_data", "target": "image_index", "image": "random", "entries": 64},
            {"kind": "corrupt_data", "target": "image_index", "image": "oldest", "entries": 1},
        ]

    def inject(self, fault: Any) -> None:
        kinds = self.fault_kinds(fault.target)
        if fault.kind not in kinds:
            raise ValueError(
                f"pmem_image target {fault.target!r} cannot take fault {fault.kind!r} "
                f"(it takes: {', '.join(kinds) or 'none'})"
            )
        if fault.kind == "corrupt_data":
            self.corrupt_index(fault)
            return
        self._down.add(id(fault))
        # a node crash reboots the machine: like a power loss, DRAM (and images kept there) is gone
        self.fail(power=fault.kind == "power_loss", dram_lost=fault.target == "node")

    def heal(self, fault: Any) -> None:
        if fault.kind == "corrupt_data" or id(fault) not in self._down:
            return
        self._down.discard(id(fault))
        if not self._down and not self.app_up:
            self.env.process(self.recoverer(self.epoch))

    def fail(self, power: bool, dram_lost: bool = False) -> None:
        """The process (crash) or the whole node (crash: reboot, or power loss) fails now.

        `power`: PMEM loses its unpersisted stores too; `power` or `dram_lost`: DRAM contents are gone.
        """
        now = self.env.now
        first = self.app_up
        self.epoch += 1
        self.app_up = False
        self.pauses = 0
        self.paused_gauge.set(0.0)
        self.cow_gauge.set(0.0)
        self.down_gauge.set(1.0)
        if first:
            self._failed_at = now
        # the capture or copy in progress never completes
        if self.images_mode:
            for im in [im for im in self.chain.images if not im.complete]:
                self.chain.images.remove(im)
                self.frames.unhold(im.held)
                self._forget_image(im)
                self._lost_newest()
        else:
            for cp in [c for c in self.ckpts.checkpoints if not c.complete]:
                self._forget_checkpoint(cp)
                self.ckpts.checkpoints.remove(cp)
                self._lost_newest()
        # log records not yet persisted are lost: those writes were never acknowledged
        lost_pages, lost_versions, lost_times = self.log.lose_unflushed()
        self.writes_lost.inc(len(lost_pages))
        self.oracle.forget_unacknowledged(lost_pages, lost_versions)
        if first:
            self._rpo_log_pending = now - float(lost_times[0]) if len(lost_pages) else 0.0
            self._expected_at_failure = self.oracle.truth.copy()
        if self.frames.mapped:
            self.frames.drop_live()  # the process's address space is gone
        if power or dram_lost:
            self.dram.power_loss()
            if power:
                self.pmem.power_loss()
            if self.images_mode and self.image_mem is self.dram:
                gone = self.chain.drop_all(self.frames)
                for im in gone:
                    self._forget_image(im)
                self.images_lost.inc(len(gone))
                self._lost_newest()

    def recoverer(self, epoch: int):
        """Restore the latest usable image (checkpoint), replay the durable log, resume the application."""
        env, p = self.env, self.params
        t0 = env.now
        fail_t = self._failed_at if self._failed_at is not None else t0
        expected = self._expected_at_failure
        candidates = list(reversed(self._complete_points()))
        chosen = None
        versions = None
        for cand in candidates:
            if not self._still_retained(cand):
                continue
            try:
                versions, _ = yield from self.timed_restore(cand)
            except ChainBroken as e:
                self._quarantine(e.image)
                continue
            except ComponentError:
                continue
            if epoch != self.epoch:
                return
            chosen = cand
            break
        if epoch != self.epoch:
            return
        frames = self.frames
        if chosen is None:
            # nothing to restore from: the application restarts with empty memory
            self.recoveries_failed.inc()
            self._drop_all_points()
            frames.map_copy(np.zeros(self.n_pages, dtype=FRAME))
            frames.dirty[:] = True
            self.oracle.truth[:] = 0
            self.log.truncate(self.log.end)
            self.log.durable = self.log.end
            self._need_full = True
            self.rpo_tally.record(fail_t)
            self.sim.note("recovery_failed", reason="no usable image or checkpoint")
            self._back_up(t0)
            return
        # the restored process: the chosen point's pages, then the durable log since it
        newer = self._drop_newer_than(chosen)
        if self.images_mode:
            res = self.chain.resolve(chosen, verify=False)
            if (
                p.placement == "mixed"
                or not (res.frames >= 0).all()
                or not (res.frames < frames.capacity).all()
            ):
                frames.map_copy(versions)
                if p.placement == "mixed":
                    self.shadow = res.frames.copy()
            else:
                frames.map_shared(res.frames)
        else:
            frames.map_copy(versions)
        frames.dirty[:] = False  # the dirty set now counts from the chosen point, the newest one kept
        self._need_full = False
        if newer:
            self.sim.note("newer_points_dropped", count=newer)
        pages, vers = self.log.records(chosen.log_pos, self.log.durable)
        n_records = len(pages)
        up, uv = last_writes(pages, vers)
        frames.write(up, uv)
        t_replay = env.now
        if n_records:
            yield from self.log_mem.read(n_records * self.w.log_record_size)
            yield env.timeout(n_records / p.log_replay_rate)
        if epoch != self.epoch:
            return
        self.replay_tally.record(env.now - t_replay)
        got = frames.versions()
        bad = int(np.count_nonzero(got != expected)) if expected is not None else 0
        if bad:
            self._violate(
                "recovery_equals_failure_state",
                f"recovery from {chosen.seq} (t={chosen.time:.6g}s) + {n_records} log records: "
                f"{bad} pages differ from memory at the failure (t={fail_t:.6g}s)",
            )
        self.oracle.truth[:] = got if not bad else expected
        self.recoveries.inc()
        self.recovery_tally.record(env.now - t0)
        self.rpo_tally.record(fail_t - chosen.time)
        self.rpo_log_tally.record(self._rpo_log_pending)
        self.kept_gauge.set(frames.kept_frames * p.page_size)
        self.sim.note(
            "recovered", from_seq=chosen.seq, records_replayed=n_records, recovery_time_s=env.now - t0
        )
        self._back_up(t0)

    def _back_up(self, t0: float) -> None:
        self.app_up = True
        self._failed_at = None
        self._t_arrivals = self.env.now  # requests that arrived while down were refused
        self.down_gauge.set(0.0)
        self._wake()

    def _drop_newer_than(self, chosen) -> int:
        if self.images_mode:
            k = self.chain.index_of(chosen)
            gone = self.chain.drop_from(k + 1, self.frames)
            for im in gone:
                self._forget_image(im)
            return len(gone)
        cps = self.ckpts.checkpoints
        k = next(i for i, c in enumerate(cps) if c is chosen)
        gone = cps[k + 1 :]
        for cp in gone:
            self._forget_checkpoint(cp)
        del cps[k + 1 :]
        return len(gone)

    def _drop_all_points(self) -> None:
        if self.images_mode:
            for im in self.chain.drop_all(self.frames):
                self._forget_image(im)
            self.shadow = None
        else:
            for cp in list(self.ckpts.checkpoints):
                self._forget_checkpoint(cp)
            self.ckpts.checkpoints = []

    def check_fault_params(self, kind: str, target: str, params: dict[str, Any]) -> None:
        image = params.get("image")
        if kind == "corrupt_data" and image is not None and image not in ("latest", "oldest", "random"):
            raise ValueError(f"image: {image!r} is not one of latest, oldest, random")
        entries = params.get("entries")
        if kind == "corrupt_data" and entries is not None and (not isinstance(entries, int) or entries < 1):
            raise ValueError(f"entries: must be a whole number >= 1, got {entries!r}")

    def corrupt_index(self, fault: Any) -> None:
        """Damage the index of one retained image (or a checkpoint's page map) without fixing its checksum.

        `params.image`: `latest` (default), `oldest` or `random`; `params.entries`: entries damaged (default 1).
        """
        params = getattr(fault, "params", None) or {}
        which = params.get("image", "latest")
        count = int(params.get("entries", 1))
        items = self._complete_points()
        if not items:
            self.sim.note("corruption_missed", reason="no retained image")
            return
        rng = self.sim.rng("pmem_image.corruption")
        if which == "oldest":
            target = items[0]
        elif which == "random":
            target = items[int(rng.integers(len(items)))]
        else:
            target = items[-1]
        arr = target.frames if self.images_mode else target.contents
        idx = rng.choice(len(arr), size=min(count, len(arr)), replace=False)
        arr[idx] = -2 - np.asarray(arr[idx])  # garbage: points outside the frame pool / a negative version
        target.corrupt = True
        self.sim.note("index_corrupted", seq=target.seq, entries=len(idx))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _pause(self) -> None:
        self.pauses += 1
        self.paused_gauge.set(1.0)

    def _resume(self) -> None:
        self.pauses = max(0, self.pauses - 1)
        if self.pauses == 0:
            self.paused_gauge.set(0.0)
        self._wake()

    def _violate(self, invariant: str, detail: str) -> None:
        self.violation_count += 1
        if len(self._violations) < MAX_VIOLATIONS:
            self._violations.append(Violation(invariant, detail, self.env.now))

    # ============================================================================================
    # results
    # ============================================================================================
    def metrics(self) -> dict[str, float]:
        w = self.w
        span = self.sim.recorder.measured_time()
        paused = self.paused_gauge.mean() * span
        down = self.down_gauge.mean() * span
        cow = self.cow_gauge.mean() * span
        running = span - paused - down
        nan = math.nan

        def mean(t):
            return t.mean if t.n else nan

        if self.pmem.params.persistent:  # keep pmem's unpersisted set small (no content dicts are used)
            self.pmem.persist_now()
        return {
            "captures": self.captures.value,
            "capture_pause_mean_s": mean(self.pause_tally),
            "capture_pause_p50_s": self.pause_tally.percentile(50) if self.pause_tally.n else nan,
            "capture_pause_p99_s": self.pause_tally.percentile(99) if self.pause_tally.n else nan,
            "capture_pause_max_s": self.pause_tally.max if self.pause_tally.n else nan,
            "metadata_bytes_per_image": mean(self.meta_tally),
            "metadata_bytes_per_image_p50": self.meta_tally.percentile(50) if self.meta_tally.n else nan,
            "metadata_bytes_total": self.meta_gauge.mean(),
            "metadata_bytes_total_max": self.meta_gauge.max,
            "copy_bytes_per_checkpoint": mean(self.copy_bytes_tally),
            "kept_version_bytes": self.kept_gauge.mean(),
            "kept_version_bytes_max": self.kept_gauge.max,
            "restore_time_s": mean(self.restore_tally),
            "restore_chain_length": mean(self.chain_tally),
            "clone_time_s": mean(self.clone_tally),
            "recovery_time_s": mean(self.recovery_tally),
            "log_replay_time_s": mean(self.replay_tally),
            "rpo_s": mean(self.rpo_tally),
            "rpo_with_log_s": mean(self.rpo_log_tally),
            "cow_faults": self.cow_faults.value,
            "cow_slowdown": running / (running - cow) if running > cow > 0 else 1.0,
            "app_pause_fraction": paused / span if span > 0 else nan,
            "writes": self.writes.value,
            "write_throughput_ops_s": self.writes.value / span if span > 0 else nan,
            "log_write_rate_bytes_s": self.writes.value * w.log_record_size / span if span > 0 else nan,
            "writes_lost": self.writes_lost.value,
            "images_lost": self.images_lost.value,
            "corruption_detected": self.corruption_detected.value,
            "recoveries": self.recoveries.value,
            "recoveries_failed": self.recoveries_failed.value,
            "restores_verified": self.restores_verified.value,
            "reclaim_time_s": mean(self.reclaim_tally),
            "pages": float(self.n_pages),
        }

    def violations(self) -> list[Violation]:
        out = list(self._violations)
        if self.violation_count > len(out):
            out.append(Violation("more_violations", f"{self.violation_count - len(out)} more not kept"))
        return out

    def converged(self) -> str | None:
        """None when the application runs again after the faults (liveness check of the heal phase)."""
        if not self.app_up:
            return f"application still down since t={self._failed_at}"
        return None

