"""The splitter on the production site: it intercepts every write of the production volume and
sends it, batched, either to the do stream (`splitter_to_streams`) or to the always-on appliance
of the baseline (`splitter_to_appliance`), over the WAN, retrying with capped exponential backoff.

Abstracted away: the write path of the application itself (writes are not delayed by the splitter),
the splitter's own buffer limit (the buffer grows while the target is unreachable).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from sim.components.base import NotRunning, ServiceUnavailable, Throttled
from sim.core.process import retry
from sim.systems.cdp_streams.appliance import journal_used, make_room, note_usage
from sim.systems.cdp_streams.data import DoRecord, pack_do

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


class NotDelivered(Exception):
    """A batch that did not reach its target (WAN cut, appliance down, journal impaired)."""


def record_rpo(m: CdpStreams, lo: int, hi: int) -> None:
    """Writes lo..hi just became durable at the protection target: one RPO sample each."""
    now = m.env.now
    rec = m.rpo.record
    for t in m.log.times[lo - 1:hi].tolist():
        rec(now - t)


def pack(m: CdpStreams, lo: int, hi: int, limit: float) -> tuple[int, float]:
    """The last write k in lo..hi such that writes lo..k fit one record of `limit` bytes, and its size."""
    hdr = m.params.record_header
    if hi == lo:
        return lo, float(m.log.nbytes[lo - 1]) + hdr
    sizes = m.log.nbytes[lo - 1:min(hi, lo - 1 + 4096)] + hdr
    csum = np.cumsum(sizes)
    k = max(1, int(np.searchsorted(csum, limit, side="right")))
    return lo + k - 1, float(csum[k - 1])


def next_batch(m: CdpStreams) -> Generator:
    """Wait until the first write not yet durable has been buffered for `flush_interval`; return
    the last write issued by then (None, after waiting for one, if no write was drawn yet)."""
    env = m.env
    log = m.log
    if log.count <= m.durable:
        yield m.writes_drawn
        return None
    wait = log.time_of(m.durable + 1) + m.params.flush_interval - env.now
    if wait > 0:
        yield env.timeout(wait)
    return log.seq_at(env.now)


def wan_send(m: CdpStreams, nbytes: float) -> Generator:
    """Carry `nbytes` to the cloud over the WAN; False if the link is down.

    The splitter is the only sender on the link, one transfer at a time, so the transfer
    takes latency + bytes/bandwidth (the link's current, possibly degraded, figures).
    """
    wan = m.wan
    if not wan.up:
        return False
    yield m.env.timeout(wan.latency + nbytes / wan.forward.capacity)
    return wan.up


def splitter_to_streams(m: CdpStreams) -> Generator:
    """The producer a practitioner runs (KPL-style): buffer writes for `flush_interval` after the
    first one arrives (RecordMaxBufferedTime), aggregate them into do records of up to 1 MiB, pace
    the puts client-side at `put_pacing` of each shard's write limits (bytes/s and records/s, as
    the KPL's RateLimit) and put them, in order, to the do stream (retry with backoff when a fault
    throttles the shard or the service is unavailable). Pacing keeps a 1 MiB record from meeting
    a token bucket that cannot hold it yet, which with backoff alone collapsed the throughput."""
    env = m.env
    p = m.params
    limit = p.stream.max_record_size
    shards = p.stream.shards
    stream = m.stream
    backoff = m.backoff
    truncate = p.truncate_do_payload

    pace = m.do_pace
    per_record = p.stream.write_bytes_per_shard / p.stream.write_records_per_shard  # bytes a record slot is worth

    def put(rec: DoRecord, nbytes: float) -> Generator:
        ok = yield from wan_send(m, nbytes)
        if not ok:
            raise NotDelivered("wan down")
        shard = m._next_shard
        wait = pace[shard].delay(env.now, max(nbytes, per_record))
        if wait > 0:
            yield env.timeout(wait)
        yield from stream.put(nbytes, value=rec, shard=shard)

    def count(_e: BaseException) -> None:
        m.put_retries += 1

    fp = m.sim.fault_point
    while True:
        hi = yield from next_batch(m)
        if hi is None:
            continue
        while m.durable < hi:
            lo = m.durable + 1
            k, nbytes = pack(m, lo, hi, limit)
            rec = pack_do(m.log, lo, k, truncate)
            fp("cdp.splitter.before_do_put")
            yield from retry(env, lambda rec=rec, nbytes=nbytes: put(rec, nbytes),
                             (Throttled, ServiceUnavailable, NotDelivered), backoff, count)
            m._next_shard = (m._next_shard + 1) % shards
            m.durable = k
            record_rpo(m, lo, k)
            fp("cdp.splitter.after_do_put")


LOAD_WINDOW = 60.0  # s: the offered load is measured over windows of this length
LOAD_WARN = 0.8  # fraction of the do stream's write limit above which the operator is warned


def load_monitor(m: CdpStreams) -> Generator:
    """The operator's capacity alarm (a CloudWatch alarm on IncomingBytes, say): every minute, the
    bytes the production writes offered to the do stream (payload plus a header per write) against
    its write limit; above `LOAD_WARN` the run notes `do_stream_near_limit` (once) with the shards
    that would bring the load back to it, and counts the window."""
    env = m.env
    p = m.params
    log = m.log
    limit = p.stream.shards * p.stream.write_bytes_per_shard
    seen = 0
    while True:
        yield env.timeout(LOAD_WINDOW)
        n = log.seq_at(env.now)
        ratio = (log.bytes_between(seen + 1, n) + p.record_header * (n - seen)) / LOAD_WINDOW / limit
        seen = n
        m.load_max_ratio = max(m.load_max_ratio, ratio)
        if ratio > LOAD_WARN:
            if not m.load_warnings:
                m.sim.note("do_stream_near_limit", offered_ratio=ratio,
                           shards_needed=math.ceil(ratio / LOAD_WARN * p.stream.shards))
            m.load_warnings += 1


def splitter_to_appliance(m: CdpStreams) -> Generator:
    """Send new writes over the WAN to the appliance, which journals them before acknowledging."""
    env = m.env
    header = m.params.record_header
    appliance = m.appliance
    journal = m.journal_volume

    def send_batch() -> Generator:
        hi = yield from next_batch(m)
        if hi is None:
            return
        lo = m.durable + 1
        nbytes = m.log.bytes_between(lo, hi) + header * (hi - lo + 1)
        ok = appliance.running and (yield from wan_send(m, nbytes)) and appliance.running
        if not ok:  # appliance down or WAN cut: writes wait at the splitter
            raise NotDelivered("appliance unreachable")
        # the journal's hard limit: the oldest checkpoints make room; what still does not fit is refused
        # (the splitter holds those writes and resends them after the next checkpoints)
        make_room(m, nbytes)
        free = m.params.journal.capacity - journal_used(m)
        if nbytes > free:
            hi, nbytes = pack(m, lo, hi, free)
            if nbytes > free:
                m.journal_refusals += 1
                raise NotDelivered("journal full")
        m.journal_do_bytes += nbytes  # reserved while the append is written
        try:
            yield from journal.write(nbytes)  # one sequential journal append
        except NotRunning:
            m.journal_do_bytes -= nbytes
            raise NotDelivered("journal impaired") from None
        m.do_journal.append(pack_do(m.log, lo, hi, m.params.truncate_do_payload))
        note_usage(m)
        m.durable = hi
        record_rpo(m, lo, hi)

    def count(_e: BaseException) -> None:
        m.put_retries += 1

    while True:
        yield from retry(env, send_batch, (NotDelivered,), m.backoff, count)
