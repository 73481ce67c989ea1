"""Persistent-memory image capture with linked indexes (system `pmem_image`), and the copy-checkpoint baseline.

An application keeps its working memory as pages in DRAM and/or persistent memory (PMEM). Capturing a
memory image copies no data: the `image_capturer` pauses the application, records an index of the
page versions that make up memory at that instant, and write-protects them so that a later write
goes to a fresh frame (copy-on-write) and the image's version survives in place. Images are
linked with one of two index schemes (`schemes.py`): `full_index` (each image maps every page, like
copying the page table as fork does) and `diff_index` (each image maps only the pages changed since
the previous one; resolving a page walks back along the chain; the oldest retained image is full).
The baseline (`copy_whole`, `copy_dirty`) is a stop-the-world checkpoint copying the whole memory or
the dirty pages to an SSD or an object store.

Actors: `application_writer` and `log_flusher` (application.py), `image_capturer` (capture.py) or
`copy_checkpointer` (copy_checkpoint.py), `reclaimer`, `restore_checker` (restore.py) and the
`recoverer` (recovery.py) the process's `Host` starts when it restarts after a crash or power loss.
The oracle (oracle.py) is the application's own view of its memory, kept apart from frames, indexes
and checkpoints.

Abstracted away: page contents beyond a version number, the application's compute (only its
stalls are modelled: capture pauses, copy-on-write faults), TLB and cache effects, multi-level
page tables, interference of restores with the running application, and the ordering of writes
within one `write_tick` (a tick's writes are applied together, in arrival order, at its end).
"""

from __future__ import annotations

import math
from typing import Any

import simpy

from sim.components.cloud.object_store import ObjectStore
from sim.components.memory import DRAM, PMEM
from sim.components.storage import SSD
from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.pmem_image.application import Application, application_writer, log_flusher
from sim.systems.pmem_image.frames import FRAME, PageFrames
from sim.systems.pmem_image.metrics import METRICS, collect
from sim.systems.pmem_image.oracle import MemoryOracle
from sim.systems.pmem_image.params import PmemImageParams, PmemImageWorkload
from sim.systems.pmem_image.reclaimer import reclaimer
from sim.systems.pmem_image.recovery import node_memory_lost, process_failed, recoverer
from sim.systems.pmem_image.restore import restore_checker
from sim.systems.pmem_image.schemes import SCHEMES
from sim.systems.pmem_image.store import AppLog, CheckpointChain, ImageChain
from sim.systems.pmem_image.targets import ApplicationProcess, ImageIndex, Node
from sim.systems.pmem_image.write_queue import LatencyHistogram, WriteQueue, log_service_time

_DOWN = ("node", "process")
#: the instants crash consistency depends on (docs/models/pmem_image.md, "Fault points and swarm campaigns")
FAULT_POINTS = (
    FaultPoint("pmem.capture.start", "capture: application paused, index built, nothing stored yet", _DOWN),
    FaultPoint("pmem.capture.index_written",
               "capture: index record and frame contents stored, before their persist (clwb + sfence)", _DOWN),
    FaultPoint("pmem.capture.index_persisted", "capture: index and frames durable, log not forced, no commit",
               _DOWN),
    FaultPoint("pmem.capture.log_forced",
               "capture or copy: log records up to the point's position written, before their fence", _DOWN),
    FaultPoint("pmem.capture.commit_written", "capture: commit record stored, before its persist", _DOWN),
    FaultPoint("pmem.capture.committed", "capture: commit record durable, before the capture is reported", _DOWN),
    FaultPoint("pmem.reclaim.dropped", "full-index reclaim: oldest image's records deleted, before the persist",
               _DOWN),
    FaultPoint("pmem.reclaim.merged_written",
               "diff-index merge: successor's merged full index stored, before its persist", _DOWN),
    FaultPoint("pmem.reclaim.merged_persisted",
               "diff-index merge: merged index durable, chain not yet changed (oldest still held)", _DOWN),
    FaultPoint("pmem.reclaim.base_dropped", "diff-index merge applied, oldest image's records deleted, "
               "before the persist (a rolled-back delete leaves garbage)", _DOWN),
    FaultPoint("pmem.log.group_commit_start", "group commit: before the log records are written", _DOWN),
    FaultPoint("pmem.log.group_commit_written", "group commit: log records written, before their fence", _DOWN),
    FaultPoint("pmem.copy.start", "copy checkpoint: application paused, contents taken, nothing written", _DOWN),
    FaultPoint("pmem.copy.data_read", "copy checkpoint: memory read, before the device write", _DOWN),
    FaultPoint("pmem.copy.data_written", "copy checkpoint: data on the device, before the log force and manifest",
               _DOWN),
    FaultPoint("pmem.copy.manifest_written", "copy checkpoint: manifest written, before it is reported", _DOWN),
)
#: the points only group commit passes (`log_flush_interval > 0`; every scheme's captures force it)
GROUP_COMMIT_POINTS = ("pmem.log.group_commit_start", "pmem.log.group_commit_written", "pmem.capture.log_forced")


@register_system("pmem_image")
class PmemImage(System):
    """Persistent-memory image capture (full or difference-only index) vs copy checkpoints."""

    Params = PmemImageParams
    Workload = PmemImageWorkload
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: PmemImageParams, workload: PmemImageWorkload | None = None) -> None:
        super().__init__(sim, params, workload)
        p = params
        self.w = workload if workload is not None else PmemImageWorkload()
        self.n_pages = int(round(p.memory_size / p.page_size))
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
        self.shadow = None  # mixed placement: PMEM frame of each page's latest image copy
        self.chain = ImageChain(self.n_pages)
        self.ckpts = CheckpointChain(self.n_pages)
        self.log = AppLog()
        self.oracle = MemoryOracle(self.n_pages)
        self.scheme = SCHEMES[p.scheme](self)
        # the points this scheme's actors pass (the class lists every scheme's, for validation and
        # `sim list faultpoints`): a swarm campaign strikes only these
        group_commit = p.log_flush_interval > 0
        self.fault_points = tuple(fp for fp in FAULT_POINTS if (group_commit if fp.name in GROUP_COMMIT_POINTS
                                                                else fp.name.startswith(self.scheme.fault_prefixes)))
        self._seq = 0
        self.need_full = True  # the next image/checkpoint must be full (no usable predecessor)
        self.epoch = 0  # one more at every failure: actors in flight notice and abandon their work
        self.expected_at_failure = None
        self.rpo_log_pending = math.nan
        self.reclaim_ev: simpy.Event | None = None
        # the process (restarted by its Host when its last down cause heals) and the node it runs on
        self.process = ApplicationProcess(sim, None, "process")
        self.process.on_crash.append(self._process_crashed)
        self.process.on_restart.append(self._process_restarted)
        self.node = Node(sim, "node", self.process, self._node_memory_lost)
        self.image_index = ImageIndex(self)
        rec = sim.recorder
        self.pause_tally = rec.tally("capture_pause")
        self.capture_time_tally = rec.tally("capture_time")
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
        self.app = Application(self.env, self.paused_gauge)
        self.down_gauge = rec.gauge("down")
        self.writes = rec.counter("writes")
        self.writes_refused = rec.counter("writes_refused")
        self.wq = WriteQueue(p.write_queue_depth)
        self.latency = LatencyHistogram(rec)
        self.write_service_s = log_service_time(self)
        self.cow_faults = rec.counter("cow_faults")
        self.captures = rec.counter("captures")
        self.capture_overruns = rec.counter("capture_overruns")
        self.captures_failed = rec.counter("captures_failed")
        self.meta_written = rec.counter("metadata_bytes_written")  # index bytes: captures + merged indexes
        self.restores_verified = rec.counter("restores_verified")
        self.images_lost = rec.counter("images_lost")
        self.corruption_detected = rec.counter("corruption_detected")
        self.recoveries = rec.counter("recoveries")
        self.recoveries_failed = rec.counter("recoveries_failed")
        self.writes_lost = rec.counter("writes_lost")
        sim.add_probe("kept_version_bytes", lambda: self.kept_gauge.level)
        sim.add_probe("metadata_bytes_held", lambda: self.meta_gauge.level)
        sim.add_probe("images_retained", lambda: float(len(self.scheme.items())))
        sim.add_probe("app_up", lambda: float(self.app.up))

    def start(self) -> None:
        env = self.env
        self.page_sampler = self.w.keys.vector_sampler(self.sim.rng("pmem_image.pages"), self.n_pages, FRAME)
        env.process(application_writer(self))
        if self.params.log_flush_interval > 0:
            env.process(log_flusher(self))
        env.process(self.scheme.capturer())
        env.process(reclaimer(self))
        env.process(restore_checker(self))

    # --- shared steps of the actors ---------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def lost_newest(self) -> None:
        """The newest image/checkpoint is gone: the dirty set no longer counts from a kept point."""
        self.need_full = True
        self.shadow = None  # mixed placement: write every page back at the next capture

    def request_reclaim(self) -> None:
        if self.reclaim_ev is not None and not self.reclaim_ev.triggered:
            self.reclaim_ev.succeed()

    # --- failures (the Hosts call these) ------------------------------------------------------------
    def _process_crashed(self, reason: str) -> None:
        process_failed(self)

    def _process_restarted(self) -> None:
        self.env.process(recoverer(self, self.epoch))

    def _node_memory_lost(self, power: bool) -> None:
        node_memory_lost(self, power)

    def fault_targets(self) -> dict[str, FaultTarget]:
        return {"process": self.process, "node": self.node, "image_index": self.image_index}

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

    # --- results ----------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        if self.pmem.params.persistent:  # keep pmem's unpersisted set small (no content dicts are used)
            self.pmem.persist_now()
        return collect(self)

    def check_at_end(self) -> None:
        """Liveness of the pauses: a capture still pausing the application past `pause_limit` is stuck."""
        app, now = self.app, self.env.now
        if app.up and app.pauses > 0 and now - app.paused_at > self.params.pause_limit:
            self.violation_log.add("capture_pause_within_limit",
                                   f"the application has been paused since t={app.paused_at:.6g}s", now)

    def progress(self) -> tuple[float, int]:
        """(writes applied + captures + recoveries, 1 while the application is up or recovering)."""
        done = self.writes.value + self.captures.value + self.recoveries.value + self.recoveries_failed.value
        return float(done), int(self.app.up or self.process.up)

    def converged(self) -> str | None:
        """None when the application runs again after the faults (liveness check of the heal phase)."""
        if not self.app.up:
            return f"application still down since t={self.app.failed_at}"
        return None
