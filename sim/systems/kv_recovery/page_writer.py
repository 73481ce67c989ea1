"""The page writer: flush cycles that append dirty page images to the file stream.

Every `page_flush_interval` it captures the dirty pages at one commit timestamp L, appends their
images to the file stream (whole pages: a page whose records outgrow it spills into overflow
pages, each charged in full, so a 64 KiB value in 8 KiB pages costs 9 pages) and then the mapping changes plus a flush-boundary record (L, oldest
begin timestamp among transactions uncommitted at L) to the system log.

Abstracted away: delta records and page consolidation, garbage collection of the file stream.
"""

from __future__ import annotations

import numpy as np


def page_writer(store):
    """Flush cycles: dirty pages captured at one commit timestamp, then their mapping changes."""
    env = store.env
    p = store.params
    ssd = store.ssd
    c = store.c
    fp = store.sim.fault_point
    mo = store.mapping_oracle
    while True:
        yield env.timeout(p.page_flush_interval)
        ts = store.applied_ts
        oldest = min(next(iter(store.active.values()), ts), ts)
        t = env.now
        dirty = store.dirty
        idx = np.flatnonzero(dirty)
        if len(idx) == 0:
            continue
        dirty[idx] = False
        images = store.pages[idx].copy()
        nbytes = store.page_bytes(idx)
        fp("kv.flush.page_write")
        yield from ssd.write(nbytes)
        first = store.fstream.append(images)
        c["page_bytes_written"].inc(nbytes)
        locs = np.arange(first, first + len(idx), dtype=np.int64)
        sbytes = (len(idx) + 1) * p.system_record_size
        fp("kv.flush.system_log_write")  # page images on storage, their mapping change not yet
        yield from ssd.write(sbytes)
        store.syslog.append_flush(idx, locs, ts, oldest, t, p.system_record_size, p.system_record_size)
        mo.flush_durable(idx, locs, ts)  # the oracle's own record of the durable mapping changes
        c["system_log_bytes_written"].inc(sbytes)
        c["page_flushes"].inc()
        store.mapping[idx] = locs
        store.boundary = (ts, oldest, t)
        fp("kv.flush.system_log_durable")
