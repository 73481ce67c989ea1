"""Restore and clone: the `restore_checker` and what a restore of an image or a checkpoint costs.

Every `restore_probe_interval` the checker restores the latest image (or checkpoint) into a
standby process and clones a random retained one; each resolved memory map is compared page by
page with the oracle's memory at the image instant. Restores run beside the application and do
not contend with it (only the shared memory channels are common); a restore pins the versions it
maps when it starts (the reclaimer may drop the image while it runs).
"""

from __future__ import annotations

import numpy as np

from sim.components.base import ComponentError
from sim.systems.pmem_image.copy_checkpoint import device_read
from sim.systems.pmem_image.store import ChainBroken

GARBAGE = -1  # the version a corrupted index entry resolves to


def restore_checker(m):
    """Periodically restore the latest image and clone a random one; both must equal the oracle."""
    env, p, scheme = m.env, m.params, m.scheme
    rng = m.sim.rng("pmem_image.restore_checker")
    while True:
        yield env.timeout(p.restore_probe_interval)
        if not m.app.up:
            continue
        usable = scheme.points()
        if not usable:
            continue
        latest = usable[-1]
        other = usable[int(rng.integers(len(usable)))]
        for target, clone in ((latest, False), (other, True)):
            if not scheme.retained(target):
                continue
            epoch, t0 = m.epoch, env.now
            expected = m.oracle.snapshots.get(target.seq)  # the reclaimer may drop it meanwhile
            got = yield from attempt_restore(scheme, target, clone)
            if got is None:
                continue
            versions, chain_len = got
            if epoch != m.epoch:
                break
            check_restore(m, target, versions, expected, "clone" if clone else "restore")
            (m.clone_tally if clone else m.restore_tally).record(env.now - t0)
            if not clone:
                m.chain_tally.record(chain_len)


def attempt_restore(scheme, target, clone: bool = False):
    """Restore (or clone) `target`; None when it cannot be read: a broken chain is quarantined, a device
    or store error leaves the target for a later try."""
    try:
        return (yield from scheme.timed_restore(target, clone=clone))
    except ChainBroken as e:
        scheme.quarantine(e.image)
    except ComponentError:
        pass
    return None


def check_restore(m, target, versions: np.ndarray, expected: np.ndarray | None, what: str) -> None:
    """A restored (cloned) memory must equal the oracle's memory at the image instant."""
    log = m.violation_log
    if expected is None:
        log.add("oracle_missing", f"no oracle snapshot for {what} of {target.seq}", m.env.now)
        return
    bad = m.oracle.differing(versions, expected)
    if bad:
        log.add(f"{what}_equals_oracle",
                f"{what} of image {target.seq} (t={target.time:.6g}s): {bad} pages differ from the oracle",
                m.env.now)
    else:
        m.restores_verified.inc()


def content_at(frames_store, frames: np.ndarray) -> np.ndarray:
    """Versions stored in `frames`; an entry pointing outside the frame pool reads as garbage."""
    cap = frames_store.capacity
    ok = (frames >= 0) & (frames < cap)
    if ok.all():
        return frames_store.content[frames]
    return np.where(ok, frames_store.content[np.clip(frames, 0, cap - 1)], GARBAGE)


def restore_image(m, target, clone: bool = False):
    """Resolve an image's memory map and take the time doing so costs; returns (versions, chain length).

    One index read per image on the chain (latency + bytes over the memory's read bandwidth) and
    `entry_map_cost` per entry looked up; with `mixed` placement a restore also copies the pages
    back into DRAM.
    """
    env, p, chain = m.env, m.params, m.chain
    res = chain.resolve(target, verify=p.verify_checksums)
    # the restore pins the versions it maps (the reclaimer may drop the image meanwhile)
    versions = content_at(m.frames, res.frames)
    k = chain.index_of(target)
    meta = m.scheme.meta
    index_reads = [meta(im) for im in chain.images[k - res.chain_length + 1 : k + 1]]
    for nbytes in reversed(index_reads):  # one index read per image on the chain (each pays the latency)
        yield from m.image_mem.read(nbytes)
    # every entry on the chain is looked up (and installed unless a newer image mapped the page)
    yield env.timeout(res.entries_read * p.entry_map_cost)
    if not clone and p.placement == "mixed":
        yield from m.pmem.read(m.n_pages * p.page_size)  # bring pages back into DRAM
    return versions, res.chain_length


def restore_checkpoint(m, target):
    """Read a checkpoint (and the increments back to its whole copy) into memory; (versions, chain length).

    Every page is read once, from the newest checkpoint on the chain holding it (as CRIU's
    pagemap entries marked "in parent" direct), plus each increment's page map; superseded copies
    of a page in older checkpoints are not read back. From the object store every part of each
    checkpoint on the chain is fetched whole.
    """
    p, ckpts = m.params, m.ckpts
    versions, k, _ = ckpts.resolve(target, verify=p.verify_checksums)
    chain = ckpts.chain_of(target)
    nbytes = m.n_pages * p.page_size + sum(
        c.data_bytes - len(c.contents) * p.page_size for c in chain if not c.full
    )
    yield from device_read(m, nbytes, chain)
    yield from m.live_mem.write(m.n_pages * p.page_size)
    return versions, k
