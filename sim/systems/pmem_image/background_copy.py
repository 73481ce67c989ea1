"""The practitioners' baselines that copy memory while the application runs.

- `fork_checkpointer` (`scheme: fork_snapshot`), as Redis BGSAVE: the application is paused only
  for `fork()` (copying and write-protecting the page table: `capture_fixed_cost` + pages x
  `entry_capture_cost`); the child then writes the whole memory as it was at the fork to the SSD
  in `CHUNK` pieces (each read from memory, then written to the device) while the parent runs.
  Until the child exits every page is shared copy-on-write: the parent's first write to a page
  takes a copy-on-write fault (the child holds a reference on every frame). A new snapshot starts
  only once the previous child is done (Redis refuses a BGSAVE while one runs: an overrun).
- `predump_checkpointer` (`scheme: criu_predump`), as CRIU's iterative pre-dump (`criu pre-dump
  --track-mem`, the loop of p.haul): each round freezes the application to walk its page table
  (read and clear the soft-dirty bits: `capture_fixed_cost` + pages x `entry_capture_cost`) and
  then, with the application running again, copies the pages dirtied since the previous round
  (the first round: since the previous checkpoint, or all pages for a whole copy) to the SSD.
  Rounds stop after `predump_max_rounds`, when a round copied at most `predump_min_pages`, or
  when a round grew by more than `predump_max_growth` over the previous one (p.haul's
  `iter_consts`); the final dump freezes the application once more and copies the pages dirtied
  during the last round while it is frozen. The checkpoint holds every page dirtied since the
  previous one at its final freeze (restored like `copy_dirty`'s increments).

Both copies contend for the memory's read channel and the SSD with everything else charged there.
The checkpoint is committed by its manifest after the data and the log up to its position are
durable (the same fault points as the stop-the-world copy).
"""

from __future__ import annotations

import numpy as np

from sim.components.base import ComponentError
from sim.systems.pmem_image.application import flush_log_to
from sim.systems.pmem_image.capture import capture_done, every_capture_interval
from sim.systems.pmem_image.copy_checkpoint import manifest_write
from sim.systems.pmem_image.durability import UNKNOWN
from sim.systems.pmem_image.frames import FRAME
from sim.systems.pmem_image.store import CopyCheckpoint

CHUNK = 64 * 2**20  # bytes the copier reads from memory before writing them out (one device command)


def fork_checkpointer(m):
    """Every capture interval (when the previous child is done): fork, then write memory in the background."""
    yield from every_capture_interval(m, fork_snapshot)


def predump_checkpointer(m):
    """Every capture interval: pre-dump rounds while the application runs, then a short final freeze."""
    yield from every_capture_interval(m, predump_checkpoint)


def page_table_walk(m) -> float:
    """Time the application is frozen to copy (fork) or scan (soft-dirty) its page table, s."""
    p = m.params
    return p.capture_fixed_cost + m.n_pages * p.entry_capture_cost


def copy_out(m, nbytes: float, epoch: int):
    """Read `nbytes` from memory and write them to the SSD, `CHUNK` at a time; False if a failure struck."""
    done = 0.0
    while done < nbytes:
        k = min(CHUNK, nbytes - done)
        yield from m.live_mem.read(k)
        m.sim.fault_point("pmem.copy.data_read")
        yield from m.ssd.write(k)
        done += k
        if epoch != m.epoch:
            return False
    return True


def commit(m, cp: CopyCheckpoint, epoch: int):
    """The log up to the checkpoint, then its manifest: the checkpoint is committed; False if a failure struck."""
    m.sim.fault_point("pmem.copy.data_written")
    yield from flush_log_to(m, cp.log_pos, epoch)
    if epoch != m.epoch:
        return False
    yield from manifest_write(m, cp)
    m.sim.fault_point("pmem.copy.manifest_written")
    return epoch == m.epoch


def fork_snapshot(m):
    """One BGSAVE: fork (paused), then the child's copy of memory at the fork, with the parent running."""
    env, p, frames = m.env, m.params, m.frames
    epoch, t0 = m.epoch, env.now
    m.app.pause()
    # the child's memory is the parent's frames as mapped at the fork (shared copy-on-write until it exits);
    # what it writes out is read from those frames when it has copied them, not taken at the fork
    cp = CopyCheckpoint(m.next_seq(), t0, m.log.end, np.full(m.n_pages, UNKNOWN, dtype=FRAME))
    cp.data_bytes = m.n_pages * p.page_size
    cp.held = frames.page_frame.copy()
    frames.hold(cp.held)
    cp.seal()
    frames.dirty[:] = False
    m.ckpts.checkpoints.append(cp)
    m.oracle.snapshot(cp.seq)
    m.need_full = False
    meta = p.index_entry_size
    m.meta_gauge.add(meta)
    m.sim.fault_point("pmem.copy.start")
    yield env.timeout(page_table_walk(m))
    if epoch != m.epoch:
        return
    fork_pause = env.now - t0
    m.app.resume()
    try:
        ok = yield from copy_out(m, cp.data_bytes, epoch)
        if ok:
            cp.contents = frames.content[cp.held]  # what the child read from the frames it shares
            cp.seal()
        ok = ok and (yield from commit(m, cp, epoch))
    except ComponentError:
        ok = False
    if epoch != m.epoch:
        return  # the failure handler dropped the incomplete checkpoint (and the child's references)
    release_child(m, cp)
    if not ok:
        m.ckpts.checkpoints.remove(cp)
        m.scheme.forget(cp)
        m.lost_newest()
        return
    capture_done(m, cp, t0, meta, cp.data_bytes, pause_s=fork_pause, resume=False)


def release_child(m, cp: CopyCheckpoint) -> None:
    """The child exited: the frames it shared are released (those only it held go back to the pool)."""
    if cp.held is not None:
        m.frames.unhold(cp.held)
        cp.held = None
        m.kept_gauge.set(m.frames.kept_frames * m.params.page_size)


def predump_round(m, copyset: np.ndarray, copied: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Frozen: the pages to copy now are `copyset` plus those dirtied since the last walk; their versions
    go into `acc` (the pages the copier drains). Returns them. The broken variant (`predump_recopy:
    false`) leaves out pages an earlier round already copied."""
    frames = m.frames
    copyset |= frames.dirty
    frames.dirty[:] = False
    if not m.params.predump_recopy:
        copyset &= ~copied
    idx = np.flatnonzero(copyset)
    acc[idx] = frames.content[frames.page_frame[idx]]
    copied |= copyset
    return idx


def predump_checkpoint(m):
    """One iterative pre-dump: rounds of dirty-page copies while running, then the final freeze."""
    env, p, frames, scheme = m.env, m.params, m.frames, m.scheme
    epoch, t_start = m.epoch, env.now
    app = m.app
    whole = scheme.whole_copy_due()
    copyset = np.ones(m.n_pages, dtype=bool) if whole else frames.dirty.copy()
    copied = np.zeros(m.n_pages, dtype=bool)  # every page copied by a round of this checkpoint
    acc = np.full(m.n_pages, UNKNOWN, dtype=FRAME)  # the version of each page as last copied
    nbytes = 0.0
    prev = None
    frozen = 0.0
    for _ in range(p.predump_max_rounds):
        # freeze: walk the page table (collect the pages to copy, clear the soft-dirty bits)
        app.pause()
        t0 = env.now
        yield env.timeout(page_table_walk(m))
        if epoch != m.epoch:
            return
        frozen += env.now - t0
        todo = len(predump_round(m, copyset, copied, acc))
        copyset = np.zeros(m.n_pages, dtype=bool)
        app.resume()
        try:
            ok = yield from copy_out(m, todo * p.page_size, epoch)
        except ComponentError:
            ok = False
        if not ok:
            if epoch == m.epoch:
                m.lost_newest()  # the dirty bits were cleared: the next checkpoint must be whole
            return
        nbytes += todo * p.page_size
        stop = todo <= p.predump_min_pages or (prev is not None and todo > prev * (1 + p.predump_max_growth))
        prev = todo
        if stop:
            break
    # the final dump: frozen while the page table is walked and the last dirty pages are copied
    app.pause()
    t0 = env.now
    todo = len(predump_round(m, copyset, copied, acc))
    pages = None if whole else np.flatnonzero(copied).astype(FRAME)
    cp = CopyCheckpoint(m.next_seq(), t0, m.log.end, acc if whole else acc[pages], pages=pages)
    meta = p.index_entry_size if whole else len(pages) * p.diff_entry_size
    cp.data_bytes = nbytes + todo * p.page_size + (0.0 if whole else meta)
    cp.seal()
    m.ckpts.checkpoints.append(cp)
    m.oracle.snapshot(cp.seq)
    m.need_full = False
    m.meta_gauge.add(meta)
    scheme.copies_since_full = 0 if whole else scheme.copies_since_full + 1
    m.sim.fault_point("pmem.copy.start")
    try:
        yield env.timeout(page_table_walk(m))
        ok = yield from copy_out(m, todo * p.page_size + (0.0 if whole else meta), epoch)
        ok = ok and (yield from commit(m, cp, epoch))
    except ComponentError:
        ok = False
    if epoch != m.epoch:
        return
    if not ok:
        m.ckpts.checkpoints.remove(cp)
        scheme.forget(cp)
        m.lost_newest()
        app.resume()
        return
    capture_done(m, cp, t0, meta, cp.data_bytes, started=t_start, pause_s=frozen + env.now - t0)
