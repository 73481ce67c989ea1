"""Chunk uploads (`chunks` variant): the replica lives as fixed-size chunk objects in object storage.

The apply instance reads the do records, reads the chunks they touch, updates them and writes them
back under new keys (copy-on-write), commits them with a manifest, and sends the overwritten
versions to the undo stream and to an undo segment object (the undo history outlives the stream's
retention). Requests are retried with backoff when throttled or unavailable; lost or corrupt
objects are detected (nothing is committed over them).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from sim.systems.cdp_streams import repair
from sim.systems.cdp_streams.apply import read_do_records
from sim.systems.cdp_streams.data import DoRecord, capture_undo, do_payload
from sim.systems.cdp_streams.objects import obj_request, parallel
from sim.systems.cdp_streams.undo import put_undo

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams

def chunk_key(cid: int, epoch: int) -> str:
    return f"chunks/{cid:07d}/{epoch:06d}"


def seed_chunks(m: CdpStreams) -> Generator:
    """The initial copy of the production volume as chunk objects (before protection starts)."""
    p = m.params

    def put(cid: int):
        key = chunk_key(cid, 0)
        yield from obj_request(m, "put", key, p.chunk_size, {})
        m.chunk_keys[cid] = key
        m.chunk_values[cid] = {}

    yield from parallel(m, list(range(m.nchunks)), put)
    m.seed_puts = m.store.put_requests
    m.seeded.succeed()


def apply_chunk_records(m: CdpStreams, tip: list[int], tip_write: int) -> Generator:
    """Read the do records up to `tip`, then update the chunks they touch in one committed epoch."""
    ranges, pos = yield from read_do_records(m, tip, tip_write)
    # nothing to apply (no new writes, or all of them expired): the position still advances,
    # so the expired records are not counted again by the next apply
    if not ranges or (yield from apply_chunks(m, ranges)):
        m.do_pos = pos
        m.sim.fault_point("cdp.apply.after_checkpoint")


def apply_chunks(m: CdpStreams, ranges: list[tuple[int, int, list[DoRecord]]]) -> Generator:
    """Read-modify-write the chunks the writes in `ranges` (as their do records carry them) touch; undo to the stream and the archive;
    commit with a manifest. Returns True once committed."""
    ranges = [(max(lo, m.applied + 1), hi, recs) for lo, hi, recs in ranges if hi > m.applied]
    if not ranges:
        return True
    p = m.params
    parts = [do_payload(recs, lo, hi) for lo, hi, recs in ranges]
    blocks = np.concatenate([b for b, _, _ in parts])
    versions = np.concatenate([v for _, v, _ in parts])
    lo, hi = ranges[0][0], ranges[-1][1]
    cids = blocks // m.chunk_blocks
    dirty = np.unique(cids).tolist()

    link = m.instance.link

    def get(cid: int):
        return (yield from obj_request(m, "get", m.chunk_keys[cid], link=link))

    got, errors = yield from parallel(m, dirty, get)
    if errors:

        repair.damaged(m, [m.chunk_keys[c] for c, o in zip(dirty, got, strict=True) if isinstance(o, BaseException)])
        return False  # cannot update what cannot be read: nothing is committed until it is repaired
    current: dict = {}
    for obj in got:
        current.update(obj.value)
    undo = capture_undo(lo, hi, blocks, versions, current)
    m.epoch += 1
    epoch = m.epoch
    akey = f"undo/{epoch:06d}"
    fp = m.sim.fault_point
    fp("cdp.chunks.after_read")
    if p.undo_capture:
        yield from put_undo(m, undo)
        fp("cdp.chunks.after_undo_put")
        yield from obj_request(m, "put", akey, undo.entries * p.block_size, undo, link=link)
        m.archive_bytes += undo.entries * p.block_size
        fp("cdp.chunks.after_archive_put")
    if p.advance_applied_early:  # BROKEN on purpose: the position runs ahead of the committed chunks
        m.applied = hi
    # new chunk contents (copy-on-write: new keys; the manifest commits them)
    order = np.argsort(cids, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(cids[order])) + 1)
    new_values: dict[int, dict] = {}
    for cid, obj, idx in zip(dirty, got, groups, strict=True):
        d = dict(obj.value)
        d.update(zip(blocks[idx].tolist(), versions[idx].tolist(), strict=True))
        new_values[cid] = d

    def put(cid: int):
        return (yield from obj_request(m, "put", chunk_key(cid, epoch), p.chunk_size, new_values[cid], link=link))

    yield from parallel(m, dirty, put)
    fp("cdp.chunks.before_manifest")
    yield from obj_request(m, "put", f"manifest/{epoch:06d}", 16.0 * len(dirty), (hi, dirty), link=link)
    # committed: switch the chunk map; superseded objects go once no recovery reads them
    gc = m.gc
    for cid in dirty:
        gc.add(m.chunk_keys[cid])
        m.chunk_keys[cid] = chunk_key(cid, epoch)
        m.chunk_values[cid] = new_values[cid]
    if epoch > 1:
        gc.add(f"manifest/{epoch - 1:06d}")
    if p.undo_capture:
        m.undo_archive.append((lo, hi, akey))
    m.applied = hi
    m.epoch_committed = epoch
    fp("cdp.chunks.after_manifest")
    gc.collect()
    gc.trim_archive()
    return True
