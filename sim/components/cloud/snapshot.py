"""Snapshot service for cloud volumes (Amazon EBS snapshots by default).

`create(volume)` returns at once with a `Snapshot` holding the volume's contents at that instant
(point-in-time, like EBS); it completes asynchronously after `base_time` plus the bytes changed
since the volume's previous snapshot at `copy_throughput` (incremental: the first snapshot copies
every written block). Snapshots of one volume complete in creation order. A volume restored from
a completed snapshot is available after `restore_time` plus its written bytes at
`restore_throughput` (a fully initialised volume; EBS's lazy loading is abstracted away into this
time). Storage cost: the incremental bytes of the kept snapshots, per GB-month.

Faults: `outage` (create and restore raise `ServiceUnavailable`), `lose_data` (a snapshot is
gone: `params.snapshot` id or the newest one).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy
from pydantic import Field

from sim.components.base import BilledStorage, CloudService, ServiceUnavailable, fault_param
from sim.components.cloud.volume import CloudVolume, VolumeParams
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration


class SnapshotParams(Params):
    """EBS snapshots, standard tier (us-east-1 prices; see docs/calibration.md)."""

    base_time: Duration = Field(10.0, description="fixed time from request to completion, s")
    copy_throughput: ByteRate = Field(100e6, description="changed bytes copied to the snapshot store per s")
    restore_time: Duration = Field(30.0, description="time to create a volume from a snapshot, s")
    restore_throughput: ByteRate = Field(300e6, description="bytes/s to initialise a restored volume")
    price_gb_month_usd: float = Field(0.05, ge=0, description="standard tier, per GB-month of snapshot data")


@dataclass
class Snapshot:
    """A point-in-time copy of a volume's contents; `completed` triggers when it is usable."""

    id: int
    volume: str
    created_at: float
    data: dict[Any, Any]
    changed_bytes: float
    completed: simpy.Event
    completed_at: float | None = None
    deleted: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.completed_at is not None


@register("components", "snapshot_service")
class SnapshotService(BilledStorage, CloudService):
    """Incremental volume snapshots: instant point-in-time capture, completion time growing with changed data."""

    fault_kinds = ("outage", "lose_data")
    Params = SnapshotParams

    def __init__(self, sim, params: SnapshotParams | None = None, name: str = "snapshots") -> None:
        params = params if params is not None else SnapshotParams()
        super().__init__(sim, params, name)
        self.snapshots: list[Snapshot] = []
        self._last_done: dict[str, simpy.Event] = {}
        self._next_id = 0
        self._start_storage_meter()

    def create(self, volume: CloudVolume, **meta: Any) -> Snapshot:
        """Capture `volume` now; returns the snapshot (wait on `snap.completed` before restoring)."""
        if self.outage:
            raise ServiceUnavailable(f"{self.name}: service unavailable")
        changed = volume.changed_bytes()
        volume.reset_changed()
        self._next_id += 1
        snap = Snapshot(self._next_id, volume.name, self.env.now, dict(volume.data), changed,
                        self.env.event(), meta=dict(meta))
        self.snapshots.append(snap)
        self._account_storage()
        self.stored_bytes += changed
        prev = self._last_done.get(volume.name)
        self._last_done[volume.name] = snap.completed
        self.env.process(self._copy(snap, prev))
        return snap

    def _copy(self, snap: Snapshot, prev: simpy.Event | None):
        """The asynchronous copy of the changed blocks (after the volume's previous snapshot)."""
        if prev is not None and not prev.triggered:
            yield prev
        p = self.params
        yield self.env.timeout(p.base_time + snap.changed_bytes / p.copy_throughput)
        snap.completed_at = self.env.now
        snap.completed.succeed(snap)

    def restore(self, snap: Snapshot, name: str, params: VolumeParams | None = None) -> Generator[Any, Any, CloudVolume]:
        """A new volume with the snapshot's contents (waits for the snapshot to complete)."""
        if snap.deleted:
            raise ValueError(f"snapshot {snap.id} was deleted or lost")
        if self.outage:
            raise ServiceUnavailable(f"{self.name}: service unavailable")
        if not snap.done:
            yield snap.completed
        p = self.params
        vp = params if params is not None else VolumeParams()
        nbytes = min(len(snap.data) * vp.block_size, vp.capacity)
        yield self.env.timeout(p.restore_time + nbytes / p.restore_throughput)
        if snap.deleted:
            raise ValueError(f"snapshot {snap.id} was deleted or lost during the restore")
        vol = CloudVolume(self.sim, vp, name)
        vol.data = dict(snap.data)
        return vol

    def delete(self, snap: Snapshot) -> None:
        """Delete a snapshot; its blocks still needed move to the volume's next snapshot (EBS semantics)."""
        if snap.deleted:
            return
        snap.deleted = True
        later = [s for s in self.snapshots if s.volume == snap.volume and s.id > snap.id and not s.deleted]
        if later:
            later[0].changed_bytes += snap.changed_bytes
        else:
            self._account_storage()
            self.stored_bytes -= snap.changed_bytes
        self.snapshots = [s for s in self.snapshots if not s.deleted]

    def latest(self, volume: str, completed: bool = True) -> Snapshot | None:
        for s in reversed(self.snapshots):
            if s.volume == volume and (s.done or not completed):
                return s
        return None

    def cost_usd(self) -> dict[str, float]:
        return {"snapshot_storage_usd": self.storage_gb_months() * self.params.price_gb_month_usd}

    # --- faults --------------------------------------------------------------------------------
    # `outage`: CloudService
    def _inject_lose_data(self, fault: Any) -> None:
        """A snapshot is lost: `params.snapshot` (id) or the newest one."""
        sid = fault_param(fault, "snapshot")
        live = [s for s in self.snapshots if not s.deleted]
        victims = [s for s in live if s.id == sid] if sid is not None else live[-1:]
        for s in victims:
            s.deleted = True
            s.data = {}
            self._account_storage()
            self.stored_bytes -= s.changed_bytes
        self.snapshots = [s for s in self.snapshots if not s.deleted]
