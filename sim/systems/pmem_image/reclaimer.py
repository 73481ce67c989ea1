"""The `reclaimer`: drops images (checkpoints) beyond the retention and frees what nobody references.

After each capture (or every `reclaim_interval`) the scheme applies the retention (a difference
chain merges its oldest image into the successor, verifying both checksums first), frames no
image references any more go back to the pool, and the log before the oldest retained point is
truncated. The work costs `entry_map_cost` per index entry touched.
"""

from __future__ import annotations


def reclaimer(m):
    """Drops images (checkpoints) beyond the retention, frees their page versions, truncates the log."""
    env, p = m.env, m.params
    while True:
        if p.reclaim_interval > 0:
            yield env.timeout(p.reclaim_interval)
        else:
            m.reclaim_ev = env.event()
            yield m.reclaim_ev
        t0 = env.now
        work = yield from reclaim(m)
        if work > 0:
            yield env.timeout(work)
            m.reclaim_tally.record(env.now - t0)


def reclaim(m):
    """Apply the retention (stores and persists take their time); returns the CPU time the work takes
    (entries touched x entry cost)."""
    touched = yield from m.scheme.reclaim()
    m.kept_gauge.set(m.frames.kept_frames * m.params.page_size)
    return touched * m.params.entry_map_cost
