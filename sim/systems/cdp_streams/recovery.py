"""Recovery: after a drill or the loss of the production site, instances are started (instance
start), each builds a volume at its point through the variant's mechanism (volume restore: take
over the replica and roll forward/back, restore a snapshot, or download the chunks) and the
result is verified block by block against the oracle (verification, `oracle.verify_recovery`).

Abstracted away: the recovery instances' cost (recovery is rare; cost is that of protection).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import simpy

from sim.components.base import RecordsExpired, ServiceUnavailable, Throttled
from sim.components.cloud import CloudVolume, ComputeInstance
from sim.systems.cdp_streams import repair as chunk_repair
from sim.systems.cdp_streams.apply import bulk_io, io_cmds_of, new_volume, retry_io, start_instance
from sim.systems.cdp_streams.data import DoRecord, UndoChunk, do_payload, roll_back
from sim.systems.cdp_streams.errors import CannotRecover
from sim.systems.cdp_streams.limits import InstanceLink
from sim.systems.cdp_streams.objects import obj_request, parallel
from sim.systems.cdp_streams.oracle import check_replica, verify_recovery

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


class Recovery:
    """Outcome of one recovery to one point."""

    __slots__ = ("kind", "started", "target_time", "target_seq", "point_seq", "point_time", "done",
                 "rto", "ok", "reason", "matched", "differing", "link")

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
        self.link: InstanceLink | None = None  # the recovery instance's network and EBS limits


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


def recovery_drill(m: CdpStreams, at: float) -> Generator:
    """The recovery drill at `recovery_at` (unless the site was lost earlier)."""
    if at > m.env.now:
        yield m.env.timeout(at)
    if not m.recovery_started:
        yield from recover_all(m, "drill")


def recover_all(m: CdpStreams, why: str) -> Generator:
    """Recover to the latest durable point and to `past_points` random past points T, all from the
    replica as it is now: one after another, each measured alone (its RTO from its own start), or
    all at once with `concurrent_recoveries` (they then share the streams' read limits)."""
    m.recovery_started = True
    env = m.env
    p = m.params
    v = m.variant
    now = env.now
    m.recovery_start = now
    if m.instance is not None:
        m.recovery_phase = now - (m.apply_started_at if m.apply_started_at is not None else 0.0)
    check_replica(m, f"taken over by the {why} recovery")
    clone = v.clone(m)
    latest = m.durable
    points = [("latest", m.log.time_of(latest), latest)]
    rng = m.sim.rng("cdp.recovery_points")
    lo_t = max(0.0, now - p.protection_window)
    hi_t = m.log.time_of(latest)
    for _ in range(p.past_points):
        t = float(rng.uniform(lo_t, max(lo_t, hi_t)))
        points.append(("past", t, m.log.seq_at(t)))
    m.sim.note("recovery_started", reason=why, latest_write=latest)
    m.sim.fault_point("cdp.recovery.after_clone")
    rs = [Recovery(k, now, t, seq) for k, t, seq in points]
    m.recoveries.extend(rs)  # counted (as unfinished) from now on
    try:
        if p.concurrent_recoveries:
            yield simpy.AllOf(env, [env.process(recover(m, r, clone)) for r in rs])
        else:
            for r in rs:  # separate drills from the same taken-over replica, each timed from its start
                r.started = env.now
                yield from recover(m, r, clone)
    finally:
        v.release_clone(m)
    m.recovery_done_at = env.now
    m.sim.note("recovery_done", reason=why)


def recover(m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
    """One recovery: start an instance, build the volume at the point, verify it against the oracle."""
    env = m.env
    v = m.variant
    if clone.lost_from is not None and r.target_seq >= clone.lost_from and not v.recovers_past_from_snapshot(r):
        r.reason = "writes lost before apply (do records expired)"
        r.done = True
        return
    inst = ComputeInstance(m.sim, v.recovery_compute(m), f"recovery_{m.recoveries.index(r) + 1}")
    r.link = InstanceLink(env, v.recovery_limits(m), m.params.object_store.connection_throughput)
    yield from start_instance(m, inst)
    data: dict | None = None
    m.sim.fault_point("cdp.recovery.before_restore")
    try:
        data = yield from v.restore(m, r, clone)
    except CannotRecover as e:
        r.reason = str(e)
    inst.stop()
    r.done = True
    if data is None:
        return
    r.ok = True
    r.rto = env.now - r.started
    r.point_time = m.log.time_of(r.point_seq) if r.point_seq != r.target_seq else r.target_time
    verify_recovery(m, r, data)


def recover_volume(m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
    """Take over the replica volume, then roll forward (do stream / journal) or back (undo)."""
    vol = yield from new_volume(m, "recovered", dict(clone.data), r.link)
    m.sim.fault_point("cdp.recovery.before_roll")
    yield from roll(m, r, clone, vol)
    return vol.data


def roll(m: CdpStreams, r: Recovery, clone: Clone, vol: CloudVolume) -> Generator:
    """Bring `vol` (the replica at `clone.applied`) to the point: forward with do data, back with undo."""
    a, s = clone.applied, r.target_seq
    v = m.variant
    if s > a:
        recs = yield from v.read_do(m, clone, s)
        blocks, versions, sizes = do_payload(recs, a + 1, s)  # what the do records carry
        d = dict(vol.data)
        d.update(zip(blocks.tolist(), versions.tolist(), strict=True))
        yield from retry_io(m, bulk_io, m, vol, io_cmds_of(sizes), float(sizes.sum()))
        vol.data = d
    elif s < a:
        chunks = yield from v.read_undo(m, clone, s, r.link)
        entries = sum(len(c.blocks) for c in chunks)
        cmds = entries  # one block-size write per restored block
        restored = dict(vol.data)
        roll_back(restored, chunks, s)
        yield from retry_io(m, bulk_io, m, vol, cmds, entries * m.params.block_size, items=None)
        vol.data = restored


def recover_chunks(m: CdpStreams, r: Recovery, clone: Clone) -> Generator:
    """chunks: download every chunk of the committed manifest into a new volume, then roll forward/back."""
    if m.damaged_chunks:
        raise CannotRecover("chunk objects unreadable (lost or corrupt), not yet repaired")
    if r.target_seq < m.repair_seq:
        raise CannotRecover("point before a chunk repair (the repaired chunk's history is gone)")
    chunk_size = m.params.chunk_size
    link = r.link
    vol = yield from new_volume(m, "recovered", {}, link)

    def write_chunk():
        if link is not None:
            link.cap_volume(vol)  # the instance's EBS limit, shared by the parallel writes
        yield from vol.write(chunk_size)
        if link is not None:
            link.ebs.add(chunk_size)

    def fetch(key: str):
        obj = yield from obj_request(m, "get", key, recovery=True, link=link)
        yield from retry_io(m, write_chunk)
        return obj

    m.gc.pin()
    try:
        objs, errors = yield from parallel(m, clone.keys, fetch)
        if errors:
            chunk_repair.damaged(m, [k for k, o in zip(clone.keys, objs, strict=True) if isinstance(o, BaseException)])
            raise CannotRecover("chunk objects unreadable (lost or corrupt)")
        data: dict = {}
        for o in objs:
            if isinstance(o.value, dict):  # chunk contents (the manifest names them)
                data.update(o.value)
        vol.data = data
        m.sim.fault_point("cdp.recovery.before_roll")
        yield from roll(m, r, clone, vol)
    finally:
        m.gc.unpin()
    return vol.data


def read_do_range(m: CdpStreams, clone: Clone, s: int) -> Generator:
    """GetRecords of writes clone.applied+1..s from the do stream; they must all still be there."""
    env = m.env
    n = len(clone.do_pos)
    pos = list(clone.do_pos)
    have = clone.applied
    got: list[DoRecord] = []
    finished = [False] * n
    attempt = 0
    while not all(finished):
        for sh in range(n):
            if finished[sh]:
                continue
            try:
                recs = yield from m.stream.get_records(sh, after_seq=pos[sh])
            except Throttled:
                yield env.timeout(m.params.read_backoff)
                continue
            except ServiceUnavailable:  # next shard after the backoff; attempts never reset
                yield env.timeout(m.backoff.delay(attempt))
                attempt += 1
                continue
            except RecordsExpired:
                raise CannotRecover("do records needed for roll-forward have expired") from None
            for rec in recs:
                pos[sh] = rec.seq
                got.append(rec.value)
                if rec.value.hi >= s:
                    finished[sh] = True
                    break
            if not recs or pos[sh] >= m.stream.latest_seq(sh):
                finished[sh] = True
    got.sort(key=lambda r: (r.lo, r.hi))
    for r in got:
        if r.hi <= have:
            continue
        if r.lo > have + 1:
            break
        have = r.hi
    if have < s:
        raise CannotRecover(f"do records for writes {have + 1}..{s} are missing")
    return got


def read_undo_stream(m: CdpStreams, clone: Clone, s: int) -> Generator:
    """do_undo: GetRecords from the undo stream, starting at the first record covering s+1."""
    env = m.env
    p = m.params
    a = clone.applied
    chunks: list[UndoChunk] = []
    for sh, index in enumerate(m.undo_index):
        starts = [seq for seq, lo, hi in index if hi > s and lo <= a]
        if not starts:
            continue
        pos = starts[0] - 1
        last = starts[-1]
        attempt = 0
        while pos < last:
            try:
                recs = yield from m.undo_stream.get_records(sh, after_seq=pos)
            except Throttled:
                yield env.timeout(p.read_backoff)
                continue
            except ServiceUnavailable:  # attempts count over the whole shard's read
                yield env.timeout(m.backoff.delay(attempt))
                attempt += 1
                continue
            except RecordsExpired:
                raise CannotRecover("undo records needed for roll-back have expired") from None
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
            raise CannotRecover("undo records do not reach back to the point")
    chunks.sort(key=lambda c: (c.lo, c.hi))
    return chunks
