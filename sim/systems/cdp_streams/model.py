"""Continuous data protection in the cloud with do and undo streams (system `cdp_streams`).

A splitter on the production site intercepts every write of the production volume and sends it,
batched into stream records, to a cloud stream service (the *do stream*) instead of to an
always-running replication appliance. The mechanisms (`params.variant`, `variants.VARIANTS`):
`periodic_apply`, `do_undo`, `chunks`, and the `appliance` baseline (classic CDP).

This module composes the shared state, the components and the actors: `production`
(`ProductionSite`, a Host, and `production_writer`), `splitter`, `apply` (`apply_scheduler`,
`apply_do_stream`), `undo` (undo stream puts), `snapshots`, `chunks` (chunk uploads), `garbage`
(garbage collection), `appliance`, `recovery` (instance start, volume restore, verification
against `oracle`). Real data versions: the oracle (`data.WriteLog`) keeps every production write;
every recovery materialises a volume (`{block: version}`) through the variant's own mechanism and
compares it block by block with the oracle at the recovered point. Records that expire from the
do stream before they are applied are detected (sequence gap) and reported; recoveries to points
after such a loss are reported as impossible, never claimed.

Abstracted away: the bytes of blocks (a block is identified by the write that wrote it last),
partial-block writes, the initial full synchronisation (the replica starts equal to production),
resynchronisation after records expired unread, KCL leases (the apply checkpoint is
assumed durable), and recovery-instance costs (recovery is rare; cost is that of protection).
"""

from __future__ import annotations

import math
from typing import Any

from sim.components.network import WanLink
from sim.core.process import Backoff
from sim.core.registry import register_system
from sim.core.system import FaultPoint, System
from sim.systems.cdp_streams import repair
from sim.systems.cdp_streams.data import WriteLog
from sim.systems.cdp_streams.metrics import METRICS_SPEC, Costs, run_metrics
from sim.systems.cdp_streams.oracle import check_replica
from sim.systems.cdp_streams.params import CdpParams, CdpWorkload
from sim.systems.cdp_streams.production import ProductionSite, production_writer
from sim.systems.cdp_streams.recovery import Recovery, recover_all, recovery_drill
from sim.systems.cdp_streams.variants import VARIANTS

_APPLY = ("instance",)
_SITE = ("production",)

#: the instants the model's correctness depends on (docs/models/cdp_streams.md, "Fault points")
FAULT_POINTS = (
    FaultPoint("cdp.splitter.before_do_put", "a batch of writes packed, before its put to the do stream "
               "(a crash of the site loses it unless resent)", _SITE),
    FaultPoint("cdp.splitter.after_do_put", "a do record acknowledged and the durable position advanced",
               _SITE),
    FaultPoint("cdp.apply.before_undo_put", "do_undo: replica blocks read and the overwritten versions "
               "captured, before their put to the undo stream", _APPLY),
    FaultPoint("cdp.apply.after_undo_put", "do_undo: undo records acknowledged, before the replica volume "
               "write", _APPLY),
    FaultPoint("cdp.apply.before_volume_write", "the replica volume write about to be issued (a crash "
               "during it: the write does not complete; `applied` must not have moved)", _APPLY),
    FaultPoint("cdp.apply.after_volume_write", "the replica volume write completed and `applied` advanced, "
               "before the next range or the consumer checkpoint", _APPLY),
    FaultPoint("cdp.apply.after_checkpoint", "the consumer position (do stream shard positions) advanced "
               "past the applied records", _APPLY),
    FaultPoint("cdp.snapshot.before_create", "periodic_apply: apply finished, before the replica snapshot",
               _APPLY),
    FaultPoint("cdp.snapshot.after_create", "periodic_apply: snapshot requested (its copy is asynchronous)",
               _APPLY),
    FaultPoint("cdp.chunks.after_read", "chunks: dirty chunks read and undo captured, before the undo puts",
               _APPLY),
    FaultPoint("cdp.chunks.after_undo_put", "chunks: undo records in the undo stream, before the undo "
               "segment object", _APPLY),
    FaultPoint("cdp.chunks.after_archive_put", "chunks: undo segment object stored, before the chunk uploads",
               _APPLY),
    FaultPoint("cdp.chunks.before_manifest", "chunks: new chunk objects uploaded (copy-on-write), before the "
               "manifest that commits them", _APPLY),
    FaultPoint("cdp.chunks.after_manifest", "chunks: manifest committed, chunk map switched and `applied` "
               "advanced, before garbage collection", _APPLY),
    FaultPoint("cdp.gc.after_collect", "chunks: superseded objects deleted (no recovery pinning them)",
               _APPLY),
    FaultPoint("cdp.appliance.before_journal_write", "appliance: replica blocks read, before the undo "
               "journal write", ("appliance",)),
    FaultPoint("cdp.appliance.before_replica_write", "appliance: undo journalled, before the replica write",
               ("appliance",)),
    FaultPoint("cdp.appliance.after_replica_write", "appliance: replica written and `applied` advanced",
               ("appliance",)),
    FaultPoint("cdp.recovery.after_clone", "a recovery took the replica over (contents, applied, positions), "
               "before its instances start", ("instance", "production", "appliance")),
    FaultPoint("cdp.recovery.before_restore", "a recovery instance started, before it builds its volume",
               ("instance", "production", "appliance")),
    FaultPoint("cdp.recovery.before_roll", "a recovery volume holds the replica (or the chunks), before the "
               "roll forward (do) or back (undo)", ("instance", "production", "appliance")),
)


@register_system("cdp_streams")
class CdpStreams(System):
    """CDP in the cloud with do/undo streams (periodic_apply, do_undo, chunks) vs an always-on appliance."""

    Params = CdpParams
    Workload = CdpWorkload
    metrics_spec = METRICS_SPEC
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: CdpParams, workload: CdpWorkload | None = None) -> None:
        super().__init__(sim, params, workload if workload is not None else CdpWorkload())
        p = self.params
        env = self.env
        self.variant = VARIANTS[p.variant]()
        # the points this mechanism's actors pass (the class lists every variant's, for validation
        # and `sim list faultpoints`); a campaign strikes only these
        self.fault_points = tuple(fp for fp in FAULT_POINTS if fp.name.startswith(self.variant.points))
        self.nblocks = int(p.volume.capacity // p.block_size)
        self.log = WriteLog()
        self.writes_drawn = env.event()  # triggered when the writer draws its next writes
        self.production = ProductionSite(sim, self)
        self.production.on_restart.append(self._start_production)
        self.wan = WanLink(sim, p.wan, "wan")
        self.backoff = Backoff(p.backoff_base, p.backoff_cap, sim.rng("cdp.backoff"))
        # positions: last write durable at the protection target, last applied to the replica,
        # first write lost before it was applied
        self.durable = 0
        self.applied = 0
        self.lost_from: int | None = None
        self._lost_upto = 0
        self.rpo = sim.recorder.tally("rpo")
        self.records_expired = self.writes_lost = 0
        self.data_lost_bytes = 0.0
        self.disaster: dict[str, float] = {}
        self.recoveries: list[Recovery] = []
        self.recovery_started = False
        self.recovery_start: float | None = None  # when the (drill or site-loss) recovery began
        self.recovery_phase = math.nan  # its time since the last apply power-on (stream variants)
        self.recovery_done_at: float | None = None
        self.apply_runs = self.apply_crashed = self.failed_starts = 0
        self.apply_active = False  # an apply run is on the instance
        self.apply_started_at: float | None = None  # power-on of the latest apply cycle
        self.replica_checks = 0  # comparisons of the replica with the oracle (oracle.check_replica)
        self.apply_durations: list[float] = []
        self.apply_lag_max = 0.0
        self.put_retries = self.undo_put_retries = self.object_errors = self.chunks_damaged = 0
        self.seed_puts = 0
        self.load_max_ratio = 0.0  # largest offered load / do stream write limit over a minute
        self.load_warnings = 0  # minutes above splitter.LOAD_WARN of the limit
        self.recovery_gets = 0  # object GETs of recoveries (not a protection cost)
        # chunk repair (chunks variant, `repair.py`): damaged chunk id -> (key, found at)
        self.damaged_chunks: dict[int, tuple[str, float]] = {}
        self.manifest_damaged = self.repairing = False
        self.repair_seq = 0  # points before this write are refused (a repaired chunk's history is gone)
        self.repairs = 0
        self.repair_bytes = 0.0
        self.repair_times: list[float] = []
        self._next_shard = self._next_undo_shard = 0
        self.costs = Costs(self)
        self.variant.build(self)
        w = self.workload
        self._rng_prod = sim.rng("cdp.production")
        self._size = w.size.sampler(sim.rng("cdp.sizes"))
        self._key = w.keys.sampler(sim.rng("cdp.keys"), self.nblocks)
        sim.add_probe("apply_lag_s", lambda: self._lag(self.applied))
        sim.add_probe("durable_lag_s", lambda: self._lag(self.durable))

    def replica_params(self):
        """The replica volume's parameters (the production volume's size, tracked in blocks)."""
        return self.params.volume.model_copy(update={"attached": False, "block_size": self.params.block_size})

    def _lag(self, upto: int) -> float:
        written = self.log.seq_at(self.env.now)
        return self.env.now - self.log.time_of(upto + 1) if written > upto else 0.0

    # --- actors -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._start_production()
        self.variant.start(self)
        p = self.params
        if p.recovery_at is None and self.site_loss_scheduled():
            return  # the recovery starts at the site loss (`site_lost`), not at a drill before it
        window = p.recovery_window if p.recovery_window is not None else (
            p.apply_interval if p.recovery_at is None else 0.0)
        at = p.recovery_at if p.recovery_at is not None else max(0.0, 0.75 * self.sim.duration - window)
        if window > 0:  # the drill's phase in the apply cycle is not something a deployment controls
            at += float(self.sim.rng("cdp.recovery_instant").uniform(0.0, window))
        self.env.process(recovery_drill(self, at))

    def site_loss_scheduled(self) -> bool:
        """A permanent loss of the production site (a `crash` of `production` without `restart_after`)
        is among the run's faults: then no drill is run by default."""
        faults = self.sim.faults
        for spec in (faults.specs if faults is not None else []):
            targets = spec.get("targets") or [spec.get("target")]
            if spec.get("kind") == "crash" and "production" in targets and spec.get("restart_after") is None:
                return True
        return False

    def _start_production(self) -> None:
        self.production.process(production_writer(self))
        self.production.process(self.variant.splitter(self))
        repair.start(self)  # a chunk repair interrupted by a crash of the site resumes

    def site_lost(self) -> None:
        """A crash of `production` without restart: record the disaster and recover at once."""
        if self.disaster:
            return
        now = self.env.now
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
            self.env.process(recover_all(self, "disaster"))

    # --- faults ---------------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, Any]:
        return {"production": self.production, "wan": self.wan, **self.variant.targets(self)}

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Fault templates for `sim campaign`: the faults the issue names, per variant."""
        w = self.sim.duration

        def u(a: float, b: float) -> dict[str, Any]:
            return {"dist": "uniform", "low": a * w, "high": b * w}

        return [
            {"kind": "crash", "target": "production"},  # loss of the site (healed only in the heal phase)
            {"kind": "crash", "target": "production", "restart_after": u(0.01, 0.1)},
            {"kind": "link_down", "target": "wan", "duration": u(0.01, 0.1)},
            *self.variant.campaign_faults(u),
        ]

    # --- results --------------------------------------------------------------------------------------
    def check_at_end(self) -> None:
        check_replica(self, "at the end of the run")

    def progress(self) -> tuple[float, int]:
        """Completed: writes made durable plus writes applied; in progress: writes issued and not yet
        durable (the splitter's backlog), plus one while an apply run is on the instance."""
        pending = self.log.seq_at(self.env.now) - self.durable if self.production.up else 0
        return float(self.durable + self.applied), max(0, pending) + int(self.apply_active)

    def converged(self) -> str | None:
        unfinished = [r for r in self.recoveries if not r.done]
        if unfinished:
            return f"{len(unfinished)} recoveries still running at the end of the run"
        return None

    def metrics(self) -> dict[str, float]:
        return run_metrics(self)
