"""Snapshots of the replica volume (`periodic_apply`): taken after each apply, restored to recover
a past point (the newest consistent snapshot at or before it).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from sim.components.base import ServiceUnavailable
from sim.core.process import retry
from sim.systems.cdp_streams.apply import new_volume
from sim.systems.cdp_streams.errors import CannotRecover
from sim.systems.cdp_streams.limits import attach_link

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams
    from sim.systems.cdp_streams.recovery import Recovery


def take_snapshot(m: CdpStreams) -> Generator:
    """Snapshot the replica volume: a recovery point at the last applied write (gives up after 5 tries)."""
    attempt = 0
    m.sim.fault_point("cdp.snapshot.before_create")
    while True:
        try:
            first = not m.snapshots.snapshots
            snap = m.snapshots.create(m.replica, point=m.applied,
                                      consistent=m.lost_from is None or m.applied < m.lost_from)
            if first:
                m.snap_first_bytes = snap.changed_bytes
            m.sim.fault_point("cdp.snapshot.after_create")
            return
        except ServiceUnavailable:
            if attempt >= 5:
                return
            yield m.env.timeout(m.backoff.delay(attempt))
            attempt += 1


def recover_from_snapshot(m: CdpStreams, r: Recovery) -> Generator:
    """Restore the newest completed, consistent snapshot at or before T (periodic_apply's past points)."""
    snaps = [s for s in m.snapshots.snapshots
             if s.done and not s.deleted and s.created_at <= r.started and s.meta.get("consistent")
             and s.meta["point"] <= r.target_seq]
    if not snaps:
        if m.lost_from is not None and r.target_seq >= m.lost_from:
            raise CannotRecover("no consistent snapshot before the point")
        r.point_seq = 0  # the initial full copy
        from_scratch = yield from new_volume(m, "recovered", {})
        return from_scratch.data
    snap = snaps[-1]
    r.point_seq = int(snap.meta["point"])
    # the replica's parameters: its contents are tracked in `block_size` blocks, so the restore
    # initialises len(data) x block_size bytes (with `params.volume` it counted 16 KiB per 4 KiB block)
    vp = m.replica_params()
    try:
        vol = yield from retry(m.env, lambda: m.snapshots.restore(snap, "recovered", vp),
                               (ServiceUnavailable,), m.backoff)
    except ValueError:
        raise CannotRecover("snapshot lost during restore") from None
    if r.link is not None:  # the initialisation reads pass the recovery instance's EBS limit too
        attach_link(vol, r.link)
        sp = m.params.snapshots
        nbytes = min(len(snap.data) * vp.block_size, vp.capacity)
        _iops, rate = r.link.ebs_limits()
        if rate < sp.restore_throughput:
            yield m.env.timeout(nbytes / rate - nbytes / sp.restore_throughput)
        r.link.ebs.add(nbytes)
    return vol.data
