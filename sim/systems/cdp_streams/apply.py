"""The apply side of the stream variants: an instance powered on every `apply_interval` reads the
do stream from the applied position up to its tip and applies the records (`apply_do_stream`).

Gaps in the record sequence (records that expired before they were read) are detected and
reported as data loss (`records_expired`, `writes_lost`, `data_lost_bytes`), never applied over.
Abstracted away: KCL leases and checkpoints (the applied position is assumed durable and is
advanced in the same instant the replica write completes; `advance_applied_early` breaks that on
purpose). After an apply the instance crashed in, the replica is compared with the oracle at the
applied position (`oracle.check_replica`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from sim.components.base import NotRunning, RecordsExpired, ServiceUnavailable, Throttled
from sim.components.cloud import CloudVolume, ComputeInstance
from sim.core.process import retry
from sim.systems.cdp_streams.data import DoRecord, capture_undo, do_payload
from sim.systems.cdp_streams.limits import InstanceLink, attach_link
from sim.systems.cdp_streams.oracle import check_replica
from sim.systems.cdp_streams.params import VOLUME_IO_UNIT
from sim.systems.cdp_streams.undo import put_undo

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


# --- volume I/O shared by apply, appliance and recovery ------------------------------------------
def io_cmds_of(sizes: np.ndarray) -> int:
    """I/O commands of writes of `sizes` bytes on a gp3 volume (one per started 16 KiB)."""
    return int(np.ceil(sizes / VOLUME_IO_UNIT).sum())


def bulk_io(m: CdpStreams, vol: CloudVolume, cmds: int, nbytes: float, items: dict | None = None,
            read: bool = False) -> Generator:
    """`cmds` I/Os of `nbytes` in total at high queue depth: max(cmds/IOPS, bytes/throughput), the
    IOPS and throughput being the volume's gp3 limits capped by its instance's EBS limits."""
    link = getattr(vol, "link", None)  # the instance the volume is attached to (limits.attach_link)
    if link is None:
        iops, thr = vol.params.iops, vol.params.throughput
    else:
        iops, thr = link.cap_volume(vol)  # the volume's channel then runs at `thr`
    extra = cmds / iops - nbytes / thr
    if extra > 0:
        yield m.env.timeout(extra)
    if read:
        yield from vol.read(nbytes)
    else:
        yield from vol.write(nbytes, items)
    if link is not None:
        link.ebs.add(nbytes)


def retry_io(m: CdpStreams, fn, *args, **kw) -> Generator:
    """Run a volume operation, waiting out an impaired volume (NotRunning) with backoff."""
    return (yield from retry(m.env, lambda: fn(*args, **kw), (NotRunning,), m.backoff))


def new_volume(m: CdpStreams, name: str, data: dict, link: InstanceLink | None = None) -> Generator:
    """A new volume of the replica's size holding `data`, attached to the recovery instance (whose
    EBS limits, `link`, then cap its I/O)."""
    vol = CloudVolume(m.sim, m.params.volume.model_copy(update={"attached": False}), name)
    vol.data = data
    yield from vol.attach()
    if link is not None:
        attach_link(vol, link)
    return vol


def start_instance(m: CdpStreams, inst: ComputeInstance) -> Generator:
    """Power `inst` on, retrying every `start_retry` while the region cannot start instances
    (an `outage` of `instance` fails the starts of every instance, recovery ones included)."""
    while True:
        try:
            if inst is not m.instance:
                inst.start_failures_pending = m.instance is not None and m.instance.start_failures_pending
            yield from inst.start()
            if inst.running:
                return
        except ServiceUnavailable:
            m.failed_starts += 1
        yield m.env.timeout(m.params.start_retry)


# --- the apply instance ------------------------------------------------------------------------
def apply_scheduler(m: CdpStreams) -> Generator:
    """Power the instance on every apply interval, run `apply_do_stream` on it, power it off."""
    env = m.env
    p = m.params
    v = m.variant
    yield from v.wait_ready(m)
    nxt = p.apply_interval
    while True:
        if env.now < nxt:
            yield env.timeout(nxt - env.now)
        if m.disaster:  # the site is lost: its recovery has taken the replica over, nothing more to apply
            return
        nxt = max(nxt + p.apply_interval, env.now)
        power_on = env.now
        m.apply_started_at = power_on
        yield from start_instance(m, m.instance)
        t0 = env.now
        do_puts_usd = m.stream.cost_usd()["put_units_usd"]
        written = m.log.seq_at(t0)
        if written > m.applied:
            m.apply_lag_max = max(m.apply_lag_max, t0 - m.log.time_of(m.applied + 1))
        try:
            proc = m.instance.process(apply_do_stream(m))
        except NotRunning:
            continue
        m.apply_active = True
        done = yield proc
        m.apply_active = False
        if done:
            m.apply_runs += 1
            m.apply_durations.append(env.now - t0)
        else:
            m.apply_crashed += 1
            check_replica(m, "after a crash of the apply instance")
        if v.volume_replica:
            m.replica.detach()
        m.instance.stop()
        m.costs.record_cycle(power_on, t0, do_puts_usd)


def apply_do_stream(m: CdpStreams) -> Generator:
    """Read the do stream up to its tip at start and apply it (variant-specific); True when done."""
    v = m.variant
    if v.volume_replica:
        yield from retry_io(m, m.replica.attach)
        attach_link(m.replica, m.instance.link)
    tip = [m.stream.latest_seq(s) for s in range(len(m.do_pos))]
    # the splitter's acknowledged position: every write up to it is in a record at or before `tip`
    tip_write = m.durable
    yield from v.apply(m, tip, tip_write)
    return True


def apply_volume_records(m: CdpStreams, tip: list[int], tip_write: int) -> Generator:
    """Volume replicas: each GetRecords round is applied as soon as it is contiguous."""
    yield from read_do_records(m, tip, tip_write, apply=True)


def read_do_records(m: CdpStreams, tip: list[int], tip_write: int, apply: bool = False) -> Generator:
    """GetRecords from every shard after the applied position up to `tip`; detect gaps (expiry).

    A gap is seen when a later record arrives (`lo > nxt`); writes up to `tip_write` (the last
    write acknowledged by the stream when `tip` was read) that no record delivered once every
    shard is read to `tip` expired at the tail, with nothing after them: lost as well.
    Returns (contiguous write ranges read, in order; the shard positions reached). With
    `apply`, each range is applied to the replica volume as soon as it is contiguous.
    """
    env = m.env
    p = m.params
    n = len(tip)
    pos = list(m.do_pos)
    buf: list[tuple[int, int, int, int, DoRecord]] = []  # (lo, hi, shard, seq, payload)
    last_lo = [-1] * n
    out: list[tuple[int, int, list[DoRecord]]] = []
    nxt = m.applied + 1
    attempt = 0
    while True:
        for s in [s for s in range(n) if pos[s] < tip[s]]:
            try:
                recs = yield from m.stream.get_records(s, after_seq=pos[s])
                attempt = 0
            except Throttled:
                yield env.timeout(p.read_backoff)
                continue
            except ServiceUnavailable:  # next shard after the backoff; attempts count across shards
                yield env.timeout(m.backoff.delay(attempt))
                attempt += 1
                continue
            except RecordsExpired as e:
                # the records after our position are gone; the call returns what follows them
                m.records_expired += int(e.lost)  # type: ignore[attr-defined]
                recs = list(getattr(e, "records", []))
                pos[s] = int(e.next_seq) - 1  # type: ignore[attr-defined]
            for r in recs:
                if r.seq > tip[s]:
                    break
                rec: DoRecord = r.value
                lo = rec.lo
                buf.append((lo, rec.hi, s, r.seq, rec))
                pos[s] = r.seq
                last_lo[s] = lo
            if not recs:
                pos[s] = tip[s]
        done = all(pos[s] >= tip[s] for s in range(n))
        buf.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
        ranges: list[list] = []  # [lo, hi, payloads]
        used: list[tuple[int, int]] = []
        i = 0
        while i < len(buf):
            lo, hi, s, seq, rec = buf[i]
            if hi < nxt:  # already applied (resent after a production restart)
                used.append((s, seq))
                i += 1
                continue
            if lo > nxt:
                # a gap: lost for good once no shard can still deliver an earlier record
                if not (done or all(pos[t] >= tip[t] or last_lo[t] >= lo for t in range(n))):
                    break
                lost(m, nxt, lo - 1)
                ranges.append([lo, hi, [rec]])
            elif ranges:
                ranges[-1][1] = hi
                ranges[-1][2].append(rec)
            else:
                ranges.append([nxt, hi, [rec]])
            used.append((s, seq))
            nxt = hi + 1
            i += 1
        del buf[:i]
        for lo, hi, recs in ranges:
            out.append((lo, hi, recs))
            if apply:
                yield from apply_volume(m, lo, hi, recs)
        if apply:
            for s, seq in used:
                m.do_pos[s] = max(m.do_pos[s], seq)
            if used:
                m.sim.fault_point("cdp.apply.after_checkpoint")
        if done and not buf:
            if nxt <= tip_write:  # the records holding writes nxt..tip_write expired, none follows
                lost(m, nxt, tip_write)
            if apply:
                for s in range(n):
                    m.do_pos[s] = max(m.do_pos[s], pos[s])
            return out, pos


def lost(m: CdpStreams, lo: int, hi: int) -> None:
    """Writes lo..hi expired from the do stream before they were applied: data loss, reported."""
    lo = max(lo, m._lost_upto + 1)  # a gap seen again after an apply that did not commit
    if hi < lo:
        return
    m._lost_upto = hi
    m.writes_lost += hi - lo + 1
    m.data_lost_bytes += m.log.bytes_between(lo, hi)
    if m.params.detect_expiry:
        if m.lost_from is None:
            m.lost_from = lo
        m.sim.note("do_records_expired", first_write=lo, last_write=hi)


def apply_volume(m: CdpStreams, lo: int, hi: int, recs: list[DoRecord]) -> Generator:
    """Apply writes lo..hi, as the do records `recs` carry them, to the replica volume; `do_undo`
    first puts the overwritten versions."""
    if m.applied >= lo:
        lo = m.applied + 1
    if hi < lo:
        return
    blocks, versions, sizes = do_payload(recs, lo, hi)
    nbytes = float(sizes.sum())
    cmds = io_cmds_of(sizes)
    fp = m.sim.fault_point
    if m.variant.undo_on_apply:
        yield from retry_io(m, bulk_io, m, m.replica, cmds, nbytes, read=True)
        undo = capture_undo(lo, hi, blocks, versions, m.replica.data)
        if m.params.undo_capture:
            fp("cdp.apply.before_undo_put")
            yield from put_undo(m, undo)
            fp("cdp.apply.after_undo_put")
    items = dict(zip(blocks.tolist(), versions.tolist(), strict=True))
    if m.params.advance_applied_early:  # BROKEN on purpose: the position runs ahead of the volume
        m.applied = hi
    fp("cdp.apply.before_volume_write")
    yield from retry_io(m, bulk_io, m, m.replica, cmds, nbytes, items=items)
    m.applied = hi
    fp("cdp.apply.after_volume_write")
