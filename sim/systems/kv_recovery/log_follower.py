"""A replica that follows the user log (`replica_follow_user_log`; US 11,755,427 claims 11-13).

Without it a replica serves the pages at the latest flush boundary L it found in the system log,
so its staleness can never fall below the page-flush interval. Following the log, it keeps the
values of its keys in memory and, at every refresh, reads the durable user log written since and
applies each committed transaction in commit (= log) order; its snapshot is then the durable end of
the user log at the instant the refresh began (every commit at or before it is durable, hence
acknowledged).

- `catch_up` (replica formation): values from the pages at L, then the user log from
  min(oldest uncommitted at L, L) to its durable end, as restart recovery replays it; the write
  records of transactions without a commit record yet are kept pending.
- `follow` (each refresh): the records since the last position; writes wait in `pending` until
  their transaction's commit record arrives (a transaction aborted by a crash never commits).

Abstracted away: the replica's own page reads and memory for the values (all in memory).
"""

from __future__ import annotations

import numpy as np

from sim.systems.kv_recovery.durable import UserLog
from sim.systems.kv_recovery.restart_recovery import replayed_writes


class LogFollower:
    """The values a log-following replica serves, its position in the user log, pending writes."""

    __slots__ = ("values", "pos", "pending")

    def __init__(self, values: np.ndarray, pos: int) -> None:
        self.values = values
        self.pos = pos
        self.pending: dict[int, list[tuple[int, int]]] = {}

    def read(self, key: int) -> int:
        return int(self.values[key])


def _read(store, lo: int, hi: int):
    """Charge reading user-log records [lo, hi) from the SSD."""
    ulog = store.ulog
    nbytes = ulog.end[hi - 1] - (ulog.end[lo - 1] if lo > 0 else 0)
    yield from store.ssd.read(nbytes)


def catch_up(store, mapping: np.ndarray, boundary):
    """Formation: pages at L, then the durable user log from min(oldest, L); returns (follower, snapshot ts)."""
    ulog = store.ulog
    ts, oldest = int(boundary[0]), int(boundary[1])
    values = store.fstream.page_values(mapping)
    lo, hi, snap = ulog.first_after(min(oldest, ts)), ulog.durable_n, ulog.durable_end
    follower = LogFollower(values, hi)
    if hi > lo:
        yield from _read(store, lo, hi)
        w_key, w_wid, w_ts, _n = replayed_writes(store, lo, hi, ts, oldest)
        if store.params.apply_cost > 0 and len(w_key):
            yield store.env.timeout(store.params.apply_cost * len(w_key))
        if len(w_key):
            seq = np.lexsort((np.arange(len(w_key)), w_ts))  # commit order, then log order
            rk, rw = w_key[seq][::-1], w_wid[seq][::-1]
            uniq, first = np.unique(rk, return_index=True)
            values[uniq] = rw[first]
        kind, txn, key, wid, _end = ulog.columns(lo, hi)
        committed = set(txn[kind == UserLog.COMMIT].tolist())
        w = np.flatnonzero((kind == UserLog.WRITE) & ~np.isin(txn, list(committed)))
        for i in w:  # in flight at the durable end: wait for their commit records
            follower.pending.setdefault(int(txn[i]), []).append((int(key[i]), int(wid[i])))
    return follower, snap


def follow(store, follower: LogFollower):
    """Refresh: apply the durable user log since the last position; returns the new snapshot ts (or None)."""
    ulog = store.ulog
    lo, hi, snap = follower.pos, ulog.durable_n, ulog.durable_end
    if hi <= lo:
        return None
    yield from _read(store, lo, hi)
    kind, txn, key, wid, _end = ulog.columns(lo, hi)
    n_writes = int((kind == UserLog.WRITE).sum())
    if store.params.apply_cost > 0 and n_writes:
        yield store.env.timeout(store.params.apply_cost * n_writes)
    values, pending = follower.values, follower.pending
    WRITE, COMMIT = UserLog.WRITE, UserLog.COMMIT
    for k, t, ky, w in zip(kind.tolist(), txn.tolist(), key.tolist(), wid.tolist(), strict=True):
        if k == WRITE:
            pending.setdefault(t, []).append((ky, w))
        elif k == COMMIT:
            for kk, ww in pending.pop(t, ()):
                values[kk] = ww
    follower.pos = hi
    return snap
