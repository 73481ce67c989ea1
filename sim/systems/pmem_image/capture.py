"""The `image_capturer`: every capture interval, pause the application and record an image index.

An image copies no data: the application is paused while the index of the page versions that
make up memory is recorded (all pages for a full index, the pages dirtied since the previous
image for a difference-only one) and those frames are write-protected (the image takes a
reference on each), so later writes go to fresh frames by copy-on-write. With `placement: mixed`
the capture also writes the pages dirtied since the previous image back from DRAM to PMEM.
"""

from __future__ import annotations

import math

import numpy as np

from sim.systems.pmem_image.application import flush_log_to
from sim.systems.pmem_image.durability import (
    COMMIT_RECORD_SIZE,
    FRAMES_KEY,
    commit_key,
    frames_snapshot,
    index_key,
    index_record,
    persist_images,
    persists,
)
from sim.systems.pmem_image.frames import FRAME
from sim.systems.pmem_image.store import Image


def every_capture_interval(m, capture):
    """Run `capture(m)` (a generator) on a fixed period while the application is up.

    Captures start at k x `capture_interval`. One still running at the next start is an overrun
    (`capture_overruns`): the starts it missed are skipped, the next capture starts on the next
    period boundary (the period never stretches silently).
    """
    env, app = m.env, m.app
    period = m.params.capture_interval
    next_t = env.now + period
    while True:
        if next_t > env.now:
            yield env.timeout(next_t - env.now)
        if app.up:
            yield from capture(m)
        next_t += period
        if env.now > next_t:
            m.capture_overruns.inc()
            next_t += math.ceil((env.now - next_t) / period) * period


def image_capturer(m):
    """Every capture interval: pause the application and record an image index (no data copied)."""
    yield from every_capture_interval(m, capture_image)


def capture_image(m):
    """One image: index, references and dirty set now; then the pause's cost; then complete."""
    env, p = m.env, m.params
    frames = m.frames
    epoch, t0 = m.epoch, env.now
    full = m.scheme.full_capture_due()
    n_entries = m.n_pages if full else int(np.count_nonzero(frames.dirty))
    need = frames.frames_in_use * p.page_size + m.meta_gauge.level
    need += n_entries * (p.index_entry_size if full else p.diff_entry_size)
    if need > m.image_mem.params.capacity:
        # no room for the index (kept versions and indexes fill the memory): the capture fails, reported
        m.captures_failed.inc()
        m.sim.note("capture_failed", reason="no space", need_bytes=need)
        return
    m.app.pause()
    dirty = np.flatnonzero(frames.dirty).astype(FRAME)
    written_back = 0
    if p.placement == "mixed":
        # pages live in DRAM: the capture writes the pages dirtied since the last image back to PMEM
        if m.shadow is None:
            m.shadow = np.full(m.n_pages, -1, dtype=FRAME)
            dirty = np.arange(m.n_pages, dtype=FRAME)
        m.shadow[dirty] = frames.copy_out(dirty)
        mapping = m.shadow
        written_back = len(dirty)
    else:
        mapping = frames.page_frame
    if full:
        image = Image(m.next_seq(), t0, m.log.end, mapping.copy())
    else:
        image = Image(m.next_seq(), t0, m.log.end, mapping[dirty], pages=dirty)
    image.seal()
    frames.hold(image.held)
    frames.dirty[:] = False
    m.chain.images.append(image)
    m.oracle.snapshot(image.seq)
    m.need_full = False
    entries = image.entries
    meta = entries * (p.index_entry_size if full else p.diff_entry_size)
    m.meta_gauge.add(meta)
    m.kept_gauge.set(frames.kept_frames * p.page_size)
    fp = m.sim.fault_point
    fp("pmem.capture.start")
    # the pause: stop, copy + write-protect the entries, write the index (and dirty pages) durably
    yield env.timeout(p.capture_fixed_cost + entries * p.entry_capture_cost)
    mem, persist = m.image_mem, persists(m)
    if written_back:
        yield from m.pmem.write(written_back * p.page_size)
    elif persist and mem is m.pmem and not m.pmem.params.eadr:
        # ADR: the lines of the pages dirtied since the previous image are written back (clwb)
        yield from m.pmem.write(len(dirty) * p.page_size)
    image.record = index_record(image)
    yield from mem.write(meta, {index_key(image.seq): image.record, FRAMES_KEY: frames_snapshot(frames)})
    fp("pmem.capture.index_written")
    yield from persist_images(m, (index_key(image.seq), FRAMES_KEY))
    fp("pmem.capture.index_persisted")
    yield from flush_log_to(m, image.log_pos, epoch)
    if epoch != m.epoch:
        return  # a failure struck during the pause: the failure handler discarded this image
    yield from mem.write(COMMIT_RECORD_SIZE, {commit_key(image.seq): True})
    fp("pmem.capture.commit_written")
    yield from persist_images(m, (commit_key(image.seq),))
    fp("pmem.capture.committed")
    if epoch != m.epoch:
        return
    image.durable = mem.params.persistent
    capture_done(m, image, t0, meta, written_back * p.page_size)


def capture_done(m, point, t0: float, meta: float, copied_bytes: float, *, started: float | None = None,
                 pause_s: float | None = None, resume: bool = True) -> None:
    """A capture that paused the application at `t0` is complete: count it, resume the application.

    `pause_s`: the time the application was paused for it (default: since `t0`); `started`: when
    the capture began (default `t0`; a pre-dump starts before its final freeze).
    """
    now = m.env.now
    point.complete = True
    m.captures.inc()
    pause = now - t0 if pause_s is None else pause_s
    m.pause_tally.record(pause)
    if pause > m.params.pause_limit:
        m.violation_log.add("capture_pause_within_limit",
                            f"capture {point.seq} paused the application {pause:.6g} s > pause_limit", now)
    m.capture_time_tally.record(now - (t0 if started is None else started))
    m.meta_tally.record(meta)
    m.meta_written.inc(meta)
    m.copy_bytes_tally.record(copied_bytes)
    if resume:
        m.app.resume()
    m.request_reclaim()
