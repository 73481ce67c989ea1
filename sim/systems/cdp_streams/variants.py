"""The mechanisms of `cdp_streams` and the appliance baseline, as small strategy classes picked
from `VARIANTS` by `params.variant`. Each says which components it builds, which actors it runs,
how its apply works, how a recovery reads do and undo data, and what it stores and costs.

- `periodic_apply`: apply to a replica volume every `apply_interval`, then snapshot it; past
  points are the snapshots (no undo data).
- `do_undo`: before a do record overwrites replica blocks, the overwritten versions go to an undo
  stream: any point is reached by rolling forward (do) or back (undo) while records are retained.
- `chunks`: the replica is chunk objects (copy-on-write, committed by a manifest); undo goes to
  the undo stream and to undo segment objects that outlive the stream's retention.
- `appliance`: the classic always-on appliance with a journal (baseline).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar

from sim.components.base import GB, SECONDS_PER_MONTH
from sim.components.cloud import CloudVolume, ComputeInstance, ObjectStore, SnapshotService, StreamService
from sim.core.process import Pacer
from sim.systems.cdp_streams import appliance as appliance_actor
from sim.systems.cdp_streams import chunks as chunk_actor
from sim.systems.cdp_streams import objects
from sim.systems.cdp_streams.apply import apply_scheduler, apply_volume_records, retry_io
from sim.systems.cdp_streams.errors import CannotRecover
from sim.systems.cdp_streams.garbage import GarbageCollector
from sim.systems.cdp_streams.limits import InstanceLink, attach_link
from sim.systems.cdp_streams.recovery import (
    Clone,
    read_do_range,
    read_undo_stream,
    recover_chunks,
    recover_volume,
)
from sim.systems.cdp_streams.snapshots import recover_from_snapshot, take_snapshot
from sim.systems.cdp_streams.splitter import load_monitor, splitter_to_appliance, splitter_to_streams

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams
    from sim.systems.cdp_streams.recovery import Recovery


class Variant:
    """What every mechanism provides (the defaults are a stream variant with a replica volume)."""

    name: ClassVar[str] = ""
    #: the replica is a cloud volume (attached for each apply), not chunk objects
    volume_replica: ClassVar[bool] = True
    #: overwritten versions go to the undo stream before a do record is applied to the volume
    undo_on_apply: ClassVar[bool] = False
    #: the mechanism offers any point in time (while nothing is lost)
    any_point: ClassVar[bool] = True
    #: the fault points its actors pass (prefixes of `model.FAULT_POINTS` names): a campaign strikes only these
    points: ClassVar[tuple[str, ...]] = ("cdp.splitter.", "cdp.apply.", "cdp.recovery.")

    # --- composition ------------------------------------------------------------------------------
    def build(self, m: CdpStreams) -> None:
        """Create the components of the mechanism on `m`."""
        self.build_do_stream(m)
        m.replica = CloudVolume(m.sim, m.replica_params(), "replica")
        m.replica.fault_kinds = ("outage",)  # the faults the mechanism is studied under

    def build_do_stream(self, m: CdpStreams) -> None:
        """The do stream and the apply instance."""
        p = m.params
        m.stream = StreamService(m.sim, p.stream, "stream")
        m.instance = ComputeInstance(m.sim, p.compute, "instance")
        m.instance.link = InstanceLink(m.env, p.compute_limits, p.object_store.connection_throughput)
        m.do_pos = [-1] * p.stream.shards  # stream seq of the last applied record per shard
        # the producer's client-side rate limit per shard (KPL RateLimit), at `put_pacing` of the limit
        m.do_pace = [Pacer(p.stream.write_bytes_per_shard * p.put_pacing) for _ in range(p.stream.shards)]

    def start(self, m: CdpStreams) -> None:
        m.env.process(apply_scheduler(m))
        m.env.process(load_monitor(m))

    def splitter(self, m: CdpStreams) -> Generator:
        return splitter_to_streams(m)

    def targets(self, m: CdpStreams) -> dict[str, Any]:
        return {"stream": m.stream, "instance": m.instance, "replica_volume": m.replica}

    def campaign_faults(self, u) -> list[dict[str, Any]]:
        out = [
            {"kind": "throttle", "target": "stream", "duration": u(0.01, 0.2), "factor": {"dist": "uniform",
                                                                                          "low": 0.05, "high": 0.5}},
            {"kind": "outage", "target": "stream", "duration": u(0.005, 0.05)},
            {"kind": "outage", "target": "instance", "duration": u(0.01, 0.2)},
            {"kind": "crash", "target": "instance"},
            {"kind": "lose_data", "target": "stream"},
            *self.extra_faults(u),
        ]
        if self.volume_replica:
            out.append({"kind": "outage", "target": "replica_volume", "duration": u(0.005, 0.05)})
        return out

    def extra_faults(self, u) -> list[dict[str, Any]]:
        """Fault templates of the variant's own targets."""
        return []

    # --- apply ------------------------------------------------------------------------------------
    def wait_ready(self, m: CdpStreams) -> Generator:
        """Wait until protection can start (nothing to wait for by default)."""
        return
        yield

    def apply(self, m: CdpStreams, tip: list[int], tip_write: int) -> Generator:
        yield from apply_volume_records(m, tip, tip_write)

    # --- recovery ---------------------------------------------------------------------------------
    def replica_state(self, m: CdpStreams) -> dict | None:
        """The replica's `{block: version}` contents as stored (for `oracle.check_replica`)."""
        return m.replica.data

    def clone(self, m: CdpStreams) -> Clone:
        return Clone(dict(m.replica.data), m.applied, list(m.do_pos), m.lost_from, m.env.now)

    def release_clone(self, m: CdpStreams) -> None:
        return None

    def recovers_past_from_snapshot(self, r: Recovery) -> bool:
        return False

    def recovery_compute(self, m: CdpStreams):
        return m.params.compute

    def recovery_limits(self, m: CdpStreams):
        return m.params.compute_limits

    def restore(self, m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
        return (yield from recover_volume(m, r, clone))

    def read_do(self, m: CdpStreams, clone: Clone, s: int) -> Generator:
        """The do records of writes clone.applied+1..s (roll forward), sorted by first write."""
        return (yield from read_do_range(m, clone, s))

    def read_undo(self, m: CdpStreams, clone: Clone, s: int, link: InstanceLink | None = None) -> Generator:
        """The undo chunks covering writes s+1..clone.applied (roll back)."""
        return (yield from read_undo_stream(m, clone, s))

    # --- storage and cost -------------------------------------------------------------------------
    def streams(self, m: CdpStreams) -> list[StreamService]:
        return [m.stream]

    def storage(self, m: CdpStreams, out: dict[str, float]) -> None:
        out["storage_stream_bytes"] = sum(st.retained_bytes() for st in self.streams(m))
        out["storage_volume_bytes"] = m.params.volume.capacity

    def usage(self, m: CdpStreams, u: dict[str, float]) -> None:
        """Variant-specific cumulative usage (added to `u`)."""
        return None

    def monthly(self, m: CdpStreams, c: dict[str, float], u: dict[str, float], scale: float,
                uscale: float) -> None:
        """Fill the monthly cost items `c` (time-billed: `scale`; usage: `uscale`)."""
        self.stream_costs(m, c, u, scale, uscale)
        vc = m.replica.cost_usd()
        c["volumes"] = (vc["volume_storage_usd"] + vc["volume_performance_usd"]) * scale

    def stream_costs(self, m: CdpStreams, c: dict[str, float], u: dict[str, float], scale: float,
                     uscale: float) -> None:
        """The apply instance, the streams' puts (usage), shard-hours (time-billed, with extended
        retention beyond 24 h) and long-term retention beyond 7 days: the steady-state GB it holds at
        the stream's put rate (do: over the span the site was up; undo: the apply cycles' puts over
        the span they protect), per GB-month — a run shorter than the retention cannot accrue it."""
        c["compute"] = u["compute_usd"] * uscale
        c["stream_puts"] = (u["do_puts_usd"] + u.get("undo_puts_usd", 0.0)) * uscale
        up = max(min(m.env.now, m.disaster.get("time", math.inf)), 1e-9)
        for st in self.streams(m):
            c["stream_shards"] += st.cost_usd()["shard_hours_usd"] * scale
            rate = st.put_bytes / up if st is m.stream else u.get("undo_put_bytes", 0.0) * uscale / SECONDS_PER_MONTH
            c["stream_retention"] += st.long_term_gb_steady(rate) * st.params.price_long_term_retention_gb_month_usd

    def recoverable_points(self, m: CdpStreams, lo: int) -> int:
        """Distinct points recoverable now, `lo` being the first write of the protection window."""
        if m.lost_from is not None:
            return max(0, m.lost_from - 1 - lo)
        return m.durable - lo + 1


class PeriodicApply(Variant):
    name = "periodic_apply"
    any_point = False
    points = ("cdp.splitter.", "cdp.apply.before_volume_write", "cdp.apply.after_volume_write",
              "cdp.apply.after_checkpoint", "cdp.snapshot.", "cdp.recovery.")

    def build(self, m: CdpStreams) -> None:
        super().build(m)
        m.snapshots = SnapshotService(m.sim, m.params.snapshots, "snapshots")
        m.snap_first_bytes = 0.0

    def targets(self, m: CdpStreams) -> dict[str, Any]:
        return {"stream": m.stream, "instance": m.instance, "replica_volume": m.replica, "snapshots": m.snapshots}

    def extra_faults(self, u) -> list[dict[str, Any]]:
        return [{"kind": "outage", "target": "snapshots", "duration": u(0.01, 0.1)},
                {"kind": "lose_data", "target": "snapshots"}]

    def apply(self, m: CdpStreams, tip: list[int], tip_write: int) -> Generator:
        yield from apply_volume_records(m, tip, tip_write)
        if m.applied > 0:
            yield from take_snapshot(m)

    def recovers_past_from_snapshot(self, r: Recovery) -> bool:
        return r.kind == "past"

    def restore(self, m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
        if r.kind == "past":
            return (yield from recover_from_snapshot(m, r))
        return (yield from recover_volume(m, r, clone))

    def read_undo(self, m: CdpStreams, clone: Clone, s: int, link: InstanceLink | None = None) -> Generator:
        raise CannotRecover("periodic_apply keeps no undo data")
        yield

    def storage(self, m: CdpStreams, out: dict[str, float]) -> None:
        super().storage(m, out)
        out["storage_snapshot_bytes"] = m.params.volume.capacity + m.snapshots.stored_bytes

    def usage(self, m: CdpStreams, u: dict[str, float]) -> None:
        u["snapshot_incr_bytes"] = max(0.0, m.snapshots.stored_bytes - m.snap_first_bytes)

    def monthly(self, m: CdpStreams, c: dict[str, float], u: dict[str, float], scale: float,
                uscale: float) -> None:
        super().monthly(m, c, u, scale, uscale)
        p = m.params
        # steady state: a full base copy plus the increments of one protection window
        window_incr = u["snapshot_incr_bytes"] * p.protection_window / max(u["span"], 1e-9)
        c["snapshots"] = (p.volume.capacity + window_incr) / GB * p.snapshots.price_gb_month_usd

    def recoverable_points(self, m: CdpStreams, lo: int) -> int:
        # the snapshots of the window's points (as the stream variants count the window's writes)
        snaps = [s for s in m.snapshots.snapshots if s.done and not s.deleted and s.meta.get("consistent")
                 and s.meta["point"] >= lo]
        return len(snaps) + (1 if m.lost_from is None else 0)


class DoUndo(Variant):
    name = "do_undo"
    undo_on_apply = True

    def build(self, m: CdpStreams) -> None:
        super().build(m)
        self.build_undo_stream(m)

    def build_undo_stream(self, m: CdpStreams) -> None:
        p = m.params
        m.undo_stream = StreamService(m.sim, p.stream.model_copy(update={"shards": p.undo_shards}), "undo_stream")
        m.undo_index = [[] for _ in range(p.undo_shards)]
        # client-side rate limit (as KPL's RateLimit): puts paced at the shard's byte limit
        m.undo_pace = [Pacer(p.stream.write_bytes_per_shard) for _ in range(p.undo_shards)]

    def targets(self, m: CdpStreams) -> dict[str, Any]:
        return {"stream": m.stream, "instance": m.instance, "undo_stream": m.undo_stream, "replica_volume": m.replica}

    def extra_faults(self, u) -> list[dict[str, Any]]:
        return [{"kind": "throttle", "target": "undo_stream", "duration": u(0.01, 0.2), "factor": 0.2},
                {"kind": "lose_data", "target": "undo_stream"}]

    def streams(self, m: CdpStreams) -> list[StreamService]:
        return [m.stream, m.undo_stream]

    def usage(self, m: CdpStreams, u: dict[str, float]) -> None:
        u["undo_puts_usd"] = m.undo_stream.cost_usd()["put_units_usd"]
        u["undo_put_bytes"] = m.undo_stream.put_bytes  # the undo of the writes of u["span"]


class Chunks(DoUndo):
    name = "chunks"
    volume_replica = False
    undo_on_apply = False
    points = ("cdp.splitter.", "cdp.chunks.", "cdp.gc.", "cdp.apply.after_checkpoint", "cdp.recovery.")

    def build(self, m: CdpStreams) -> None:
        p = m.params
        self.build_do_stream(m)
        self.build_undo_stream(m)
        m.store = ObjectStore(m.sim, p.object_store, "object_store")
        m.chunk_blocks = int(p.chunk_size // p.block_size)
        m.nchunks = math.ceil(m.nblocks / m.chunk_blocks)
        m.chunk_keys = {}
        m.chunk_values = {}  # committed contents (what the objects hold)
        m.undo_archive = []  # (lo, hi, key) per apply epoch
        m.epoch = 0
        m.epoch_committed = 0
        m.seeded = m.env.event()
        m.gc = GarbageCollector(m)
        m.archive_bytes = 0.0

    def start(self, m: CdpStreams) -> None:
        m.env.process(chunk_actor.seed_chunks(m))
        super().start(m)

    def targets(self, m: CdpStreams) -> dict[str, Any]:
        return {"stream": m.stream, "instance": m.instance, "undo_stream": m.undo_stream, "object_store": m.store}

    def extra_faults(self, u) -> list[dict[str, Any]]:
        return [*super().extra_faults(u), {"kind": "outage", "target": "object_store", "duration": u(0.005, 0.05)},
                {"kind": "throttle", "target": "object_store", "duration": u(0.01, 0.1), "factor": 0.1},
                {"kind": "lose_data", "target": "object_store", "count": 1},
                {"kind": "corrupt_data", "target": "object_store", "count": 1}]

    def wait_ready(self, m: CdpStreams) -> Generator:
        yield m.seeded

    def apply(self, m: CdpStreams, tip: list[int], tip_write: int) -> Generator:
        yield from chunk_actor.apply_chunk_records(m, tip, tip_write)

    def replica_state(self, m: CdpStreams) -> dict | None:
        """The chunk objects the committed chunk map names, read from the store (None: one is
        missing or corrupt, seeding has not finished, or a repaired chunk is newer than `applied`)."""
        if m.applied < m.repair_seq:
            return None
        data: dict = {}
        objects = m.store.objects
        for cid in range(m.nchunks):
            obj = objects.get(m.chunk_keys.get(cid, ""))
            if obj is None or obj.corrupt or not isinstance(obj.value, dict):
                return None
            data.update(obj.value)
        return data

    def clone(self, m: CdpStreams) -> Clone:
        # hold the committed objects now: an apply committing while the recovery instances
        # boot must not garbage-collect the chunks and undo segments this clone names
        m.gc.pin()
        c = Clone({}, m.applied, list(m.do_pos), m.lost_from, m.env.now)
        c.keys = [m.chunk_keys[i] for i in range(m.nchunks)]
        if m.epoch_committed:
            c.keys.append(f"manifest/{m.epoch_committed:06d}")
        c.archive = list(m.undo_archive)
        return c

    def release_clone(self, m: CdpStreams) -> None:
        m.gc.unpin()  # taken by clone

    def restore(self, m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
        """Download every chunk of the committed manifest into a new volume, then roll forward/back."""
        return (yield from recover_chunks(m, r, clone))

    def read_undo(self, m: CdpStreams, clone: Clone, s: int, link: InstanceLink | None = None) -> Generator:
        a = clone.applied
        keys = [(lo, hi, k) for lo, hi, k in clone.archive if hi > s and lo <= a]
        if m.params.undo_capture and (not keys or keys[0][0] > s + 1):
            raise CannotRecover("undo archive does not reach back to the point")
        objs, errors = yield from objects.parallel(
            m, [k for _, _, k in keys], lambda k: objects.obj_request(m, "get", k, recovery=True, link=link))
        if errors:
            raise CannotRecover("undo segment lost or corrupt in the object store")
        return [o.value for o in objs]

    def storage(self, m: CdpStreams, out: dict[str, float]) -> None:
        out["storage_stream_bytes"] = sum(st.retained_bytes() for st in self.streams(m))
        out["storage_object_bytes"] = m.store.stored_bytes

    def usage(self, m: CdpStreams, u: dict[str, float]) -> None:
        super().usage(m, u)
        u["object_puts"] = float(m.store.put_requests - m.seed_puts)
        u["object_gets"] = float(m.store.get_requests - m.recovery_gets)
        u["archive_bytes"] = m.archive_bytes

    def monthly(self, m: CdpStreams, c: dict[str, float], u: dict[str, float], scale: float,
                uscale: float) -> None:
        p = m.params
        self.stream_costs(m, c, u, scale, uscale)
        op = p.object_store
        c["object_requests"] = (u["object_puts"] / 1000 * op.price_put_per_1000_usd
                                + u["object_gets"] / 1000 * op.price_get_per_1000_usd) * uscale
        # steady state: every chunk plus one protection window of undo archive
        archive = u["archive_bytes"] / max(u["span"], 1e-9) * p.protection_window
        c["object_storage"] = (m.nchunks * p.chunk_size + archive) / GB * op.price_gb_month_usd


class Appliance(Variant):
    name = "appliance"
    points = ("cdp.appliance.", "cdp.recovery.")

    def build(self, m: CdpStreams) -> None:
        p = m.params
        m.instance = None
        m.appliance = appliance_actor.ApplianceInstance(m.sim, p.appliance, m)
        m.journal_volume = CloudVolume(m.sim, p.journal.model_copy(update={"attached": True}), "journal")
        m.replica = CloudVolume(m.sim, m.replica_params().model_copy(update={"attached": True}), "replica")
        m.appliance.link = InstanceLink(m.env, p.appliance_limits, p.object_store.connection_throughput)
        attach_link(m.replica, m.appliance.link)
        attach_link(m.journal_volume, m.appliance.link)
        largest = m.workload.max_size + p.record_header
        if p.journal.capacity < largest:
            raise ValueError(f"journal.capacity {p.journal.capacity:g} B cannot hold the largest write "
                             f"({largest:g} B): the appliance could never accept it")
        m.journal = []  # undo history (UndoChunk per checkpoint), oldest first
        m.do_journal = []  # the do records received (DoRecord) and not yet applied, oldest first
        # the journal's hard limit (appliance.make_room): bytes held, peak, history dropped, refusals
        m.journal_do_bytes = m.journal_undo_bytes = m.journal_peak_bytes = 0.0
        m.journal_checkpoints_dropped = m.journal_full_alerts = m.journal_refusals = 0
        m.journal_limited = m.journal_below_sla = False
        m.journal_pin = None  # first write a running recovery's roll forward needs from the journal
        m.journal_window_n = 0  # the recovery window held, sampled at each checkpoint (sample_window)
        m.journal_window_sum = 0.0
        m.journal_window_min = math.inf

    def start(self, m: CdpStreams) -> None:
        m.env.process(appliance_actor.appliance_boot(m))

    def splitter(self, m: CdpStreams) -> Generator:
        return splitter_to_appliance(m)

    def targets(self, m: CdpStreams) -> dict[str, Any]:
        return {"appliance": m.appliance}

    def campaign_faults(self, u) -> list[dict[str, Any]]:
        return [{"kind": "crash", "target": "appliance", "restart_after": u(0.01, 0.1)}]

    def clone(self, m: CdpStreams) -> Clone:
        m.journal_pin = m.applied + 1  # the journal keeps the do records this clone rolls forward with
        return Clone(dict(m.replica.data), m.applied, [], m.lost_from, m.env.now)

    def release_clone(self, m: CdpStreams) -> None:
        m.journal_pin = None

    def recovery_compute(self, m: CdpStreams):
        return m.params.appliance

    def recovery_limits(self, m: CdpStreams):
        return m.params.appliance_limits

    def read_do(self, m: CdpStreams, clone: Clone, s: int) -> Generator:
        recs = appliance_actor.journal_records(m, clone.applied + 1)
        yield from retry_io(m, m.journal_volume.read, sum(float(r.sizes.sum()) for r in recs if r.lo <= s))
        return recs

    def read_undo(self, m: CdpStreams, clone: Clone, s: int, link: InstanceLink | None = None) -> Generator:
        a = clone.applied
        chunks = [c for c in m.journal if c.hi > s and c.lo <= a]
        if not chunks or chunks[0].lo > s + 1:  # beyond journal_window, or dropped at the hard limit
            raise CannotRecover("point is older than the journal holds")
        yield from retry_io(m, m.journal_volume.read, sum(len(c.blocks) for c in chunks) * m.params.block_size)
        return chunks

    def storage(self, m: CdpStreams, out: dict[str, float]) -> None:
        out["storage_volume_bytes"] = m.params.volume.capacity
        out["storage_journal_bytes"] = m.journal_peak_bytes  # used at peak (billed: the volume's capacity)

    def recoverable_points(self, m: CdpStreams, lo: int) -> int:
        """Points from the oldest the journal can roll back to (or the window's first) to the latest."""
        return max(0, m.durable - max(lo, appliance_actor.oldest_point(m)) + 1)

    def monthly(self, m: CdpStreams, c: dict[str, float], u: dict[str, float], scale: float,
                uscale: float) -> None:
        c["compute"] = m.appliance.cost_usd()["compute_usd"] * scale
        for vol in (m.replica, m.journal_volume):
            vc = vol.cost_usd()
            c["volumes"] += (vc["volume_storage_usd"] + vc["volume_performance_usd"]) * scale


#: `params.variant` -> its strategy class
VARIANTS: dict[str, type[Variant]] = {v.name: v for v in (PeriodicApply, DoUndo, Chunks, Appliance)}
