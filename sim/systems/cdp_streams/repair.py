"""Repair of damaged chunk objects (`chunks` variant; issue 17, item 9).

When an apply (or a recovery) finds a chunk object of the committed map lost or corrupt, nothing is
committed over it and every recovery is refused until it is repaired. The repair is what a CDP
product's resynchronisation does for the affected region: the agent on the production site reads
the chunk's blocks from the production volume while the site is up, sends them over the WAN and
uploads them as a new chunk object, then switches the chunk map to it. Lost or corrupt manifests
are rewritten from the chunk map.

The repaired chunk holds the production volume's blocks as of the read, i.e. after write
`w = repair point` (writes issued up to then), which may be newer than the replica's applied
position: the replica is consistent again once the apply has applied through `w` (re-applying
older do records over the chunk converges to the right state, see docs). The chunk's history before
`w` is gone with the lost object, so every point before the repair point (the damaged span) stays
refused; points at or after it are recovered again and checked against the oracle.

Charged: the WAN transfer of each repaired chunk (latency + bytes at the link's bandwidth; it does
not contend with the splitter's puts), one PUT per chunk (and per rewritten manifest). Abstracted
away: the production volume's read time (a local read of a few MiB), the scrub that would find
damaged chunks no apply or recovery touches.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from sim.systems.cdp_streams.objects import obj_request
from sim.systems.cdp_streams.splitter import wan_send

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


def damaged(m: CdpStreams, keys: list[str]) -> None:
    """Objects of the committed state found lost or corrupt: note them and start the repair."""
    new = 0
    for k in keys:
        if k.startswith("chunks/"):
            cid = int(k.split("/")[1])
            if m.chunk_keys.get(cid) == k and cid not in m.damaged_chunks:
                m.damaged_chunks[cid] = (k, m.env.now)
                new += 1
        elif k.startswith("manifest/"):
            m.manifest_damaged = True
    if new:
        m.chunks_damaged += new
        m.sim.note("chunk_unreadable", count=new)
    start(m)


def start(m: CdpStreams) -> None:
    """Run the repair on the production site if there is something to repair and the site is up."""
    if not m.params.chunk_repair or m.repairing or not (m.damaged_chunks or m.manifest_damaged):
        return
    if not m.production.up or m.disaster:
        return  # a restarting site resumes it (`CdpStreams._start_production`); a lost one cannot
    m.repairing = True
    m.production.process(repair_chunks(m))


def repair_chunks(m: CdpStreams) -> Generator:
    """Re-read every damaged chunk from the production volume, upload it, switch the chunk map."""
    try:
        yield from _repair(m)
    finally:
        m.repairing = False


def _repair(m: CdpStreams) -> Generator:
    p = m.params
    env = m.env
    cb = m.chunk_blocks
    while m.damaged_chunks or m.manifest_damaged:
        # the production volume as of now (every write issued so far), read chunk by chunk: the agent
        # reads a point-in-time image (a local snapshot), later writes reach the replica as do records
        w = m.log.seq_at(env.now)
        blocks, versions = m.log.state(w)  # blocks sorted
        for cid in sorted(m.damaged_chunks):
            key, since = m.damaged_chunks[cid]
            if m.chunk_keys.get(cid) != key:  # an apply committed a new version meanwhile: healed
                del m.damaged_chunks[cid]
                continue
            a, b = np.searchsorted(blocks, [cid * cb, (cid + 1) * cb])
            value = dict(zip(blocks[a:b].tolist(), versions[a:b].tolist(), strict=True))
            while not (yield from wan_send(m, p.chunk_size)):
                yield m.wan.wait_up()
            m.repair_bytes += p.chunk_size
            m.repairs += 1
            new_key = f"chunks/{cid:07d}/r{m.repairs:05d}"
            yield from obj_request(m, "put", new_key, p.chunk_size, value)
            if m.chunk_keys.get(cid) != key:  # superseded while uploading: the upload is garbage
                m.gc.add(new_key)
                del m.damaged_chunks[cid]
                continue
            m.gc.add(key)
            m.chunk_keys[cid] = new_key
            m.chunk_values[cid] = value
            m.repair_seq = max(m.repair_seq, w)
            del m.damaged_chunks[cid]
            m.repair_times.append(env.now - since)
            m.sim.note("chunk_repaired", chunk=cid, point_write=w)
        if m.manifest_damaged:
            m.manifest_damaged = False
            if m.epoch_committed:
                yield from obj_request(
                    m,
                    "put",
                    f"manifest/{m.epoch_committed:06d}",
                    16.0 * m.nchunks,
                    (m.applied, list(range(m.nchunks))),
                )
    m.gc.collect()
