"""The `copy_checkpointer`: the baseline's stop-the-world checkpoint copying memory to a device.

As `criu dump` does by default: the application is frozen while its memory (all of it, or the
pages dirtied since the previous checkpoint, with a whole copy every `copy_full_every`-th time)
is read and copied to an NVMe SSD (one large write command) or to an object store
(`object_part_size` parts, `object_connections` requests in flight).
"""

from __future__ import annotations

import math

import numpy as np

from sim.components.base import ComponentError
from sim.core.process import bounded_parallel
from sim.systems.pmem_image.application import flush_log_to
from sim.systems.pmem_image.capture import capture_done, every_capture_interval
from sim.systems.pmem_image.frames import FRAME
from sim.systems.pmem_image.store import CopyCheckpoint


def copy_checkpointer(m):
    """Every capture interval: stop the application and copy memory (whole or dirty pages) to the device."""
    yield from every_capture_interval(m, copy_checkpoint)


def copy_checkpoint(m):
    """One checkpoint: contents taken now; the pause lasts the memory read and the device write."""
    env, p = m.env, m.params
    frames, scheme = m.frames, m.scheme
    epoch, t0 = m.epoch, env.now
    m.app.pause()
    if scheme.whole_copy_due():
        cp = CopyCheckpoint(m.next_seq(), t0, m.log.end, frames.versions())
        cp.data_bytes = m.n_pages * p.page_size
        meta = p.index_entry_size  # one extent
        scheme.copies_since_full = 0
    else:
        pages = np.flatnonzero(frames.dirty).astype(FRAME)
        cp = CopyCheckpoint(m.next_seq(), t0, m.log.end, frames.content[frames.page_frame[pages]], pages=pages)
        meta = len(pages) * p.diff_entry_size
        cp.data_bytes = len(pages) * p.page_size + meta
        scheme.copies_since_full += 1
    cp.seal()
    frames.dirty[:] = False
    m.ckpts.checkpoints.append(cp)
    m.oracle.snapshot(cp.seq)
    m.need_full = False
    m.meta_gauge.add(meta)
    fp = m.sim.fault_point
    try:
        fp("pmem.copy.start")
        yield env.timeout(p.capture_fixed_cost)
        yield from m.live_mem.read(cp.data_bytes)
        fp("pmem.copy.data_read")
        yield from device_write(m, cp)
        fp("pmem.copy.data_written")
        yield from flush_log_to(m, cp.log_pos, epoch)
        yield from manifest_write(m, cp)
        fp("pmem.copy.manifest_written")
    except ComponentError:
        if epoch == m.epoch:
            m.ckpts.checkpoints.remove(cp)
            scheme.forget(cp)
            m.lost_newest()  # its dirty pages were cleared: the next copy must be whole
            m.app.resume()
        return
    if epoch != m.epoch:
        return
    capture_done(m, cp, t0, meta, cp.data_bytes)


def parts(m, nbytes: float) -> list[float]:
    """Sizes of the object-store parts (one PUT or GET each) of a checkpoint of `nbytes`."""
    size = m.params.object_part_size
    k = max(1, math.ceil(nbytes / size))
    return [size] * (k - 1) + [nbytes - size * (k - 1)]


def part_key(cp: CopyCheckpoint, i: int) -> str:
    return f"ckpt/{cp.seq:08d}/part{i:05d}"


def device_write(m, cp: CopyCheckpoint):
    """Write a checkpoint's bytes to the SSD, or its parts to the object store in parallel."""
    if m.object_store is None:
        yield from m.ssd.write(cp.data_bytes)
        return
    store = m.object_store
    yield from in_parallel(m, [store.put(part_key(cp, i), b) for i, b in enumerate(parts(m, cp.data_bytes))])


MANIFEST_SIZE = 4096.0  # the checkpoint's manifest (CRIU's inventory): one block, written after the data


def manifest_key(cp: CopyCheckpoint) -> str:
    return f"ckpt/{cp.seq:08d}/manifest"


def manifest_write(m, cp: CopyCheckpoint):
    """The checkpoint's manifest, written once its data (and the log up to it) is durable: its commit."""
    if m.object_store is None:
        yield from m.ssd.write(MANIFEST_SIZE)
        return
    yield from m.object_store.put(manifest_key(cp), MANIFEST_SIZE)


def device_read(m, nbytes: float, cps: list[CopyCheckpoint]):
    """Read `nbytes` from the SSD, or every part of the checkpoints `cps` from the object store."""
    if m.object_store is None:
        yield from m.ssd.read(nbytes)
        return
    store = m.object_store
    reqs = []
    for cp in cps:
        reqs += [store.get(part_key(cp, i)) for i in range(len(parts(m, cp.data_bytes)))]
    yield from in_parallel(m, reqs)


def _request(gen):
    return gen


def in_parallel(m, requests: list):
    """Run object-store requests `object_connections` at a time; re-raise the first failure."""
    _, errors = yield from bounded_parallel(m.env, requests, _request, m.params.object_connections,
                                            collect=(ComponentError,))
    if errors:
        raise errors[0]
