"""Oracle of the `kv_recovery` store: every acknowledged write, and the checks made against it.

The oracle keeps, in acknowledgement order, (key, commit timestamp, write id) of every write
whose transaction was acknowledged (its commit record durable). From it:
- `latest()`: the value every key must have after recovery (the last acknowledged write, or 0);
- `check_snapshot_reads()`: whether each replica read returned the value its key really had at the
  replica's snapshot (the last acknowledged write with commit timestamp <= the snapshot's).
Replica reads are logged compactly (three int64 per read, bounded by `max_reads`) and checked
vectorised at the end of the run.

`MappingOracle` keeps, apart from the system log, every page-mapping change at the instant it
became durable (the page writer's system-log write finished), and the flush boundary L each flush
cycle made durable. From it and `Oracle.latest_at(L)`, `check_system_replay` checks what restart
recovery rebuilt *before* the user-log replay: the mapping table must be the one the durable
system log implies, the boundary the last durable one, and the pages the mapping points at must
hold exactly the acknowledged writes committed at or before L. The final key-value check cannot
see a broken system-log replay: the user-log replay rewrites the values anyway.
"""

from __future__ import annotations

from array import array

import numpy as np


class Oracle:
    """Acknowledged writes and replica reads, kept apart from the store's own logs and pages."""

    def __init__(self, n_keys: int, max_reads: int = 5_000_000) -> None:
        self.n_keys = n_keys
        self.key = array("q")
        self.commit_ts = array("q")
        self.wid = array("q")
        self.read_key = array("q")
        self.read_ts = array("q")
        self.read_wid = array("q")
        self.max_reads = max_reads
        self.reads_unchecked = 0
        self.window_reads = 0  # reads logged before the measurement window (the warm-up)
        self.window_unchecked = 0

    def mark_window(self) -> None:
        """The measurement window starts: later counts leave out what was logged before."""
        self.window_reads = len(self.read_key)
        self.window_unchecked = self.reads_unchecked

    def acknowledge(self, keys: list[int], wids: list[int], commit_ts: int) -> None:
        for k, w in zip(keys, wids, strict=True):
            self.key.append(k)
            self.commit_ts.append(commit_ts)
            self.wid.append(w)

    def log_read(self, key: int, snapshot_ts: int, wid: int) -> None:
        if len(self.read_key) < self.max_reads:
            self.read_key.append(key)
            self.read_ts.append(snapshot_ts)
            self.read_wid.append(wid)
        else:
            self.reads_unchecked += 1

    @property
    def acknowledged(self) -> int:
        return len(self.key)

    def latest(self) -> np.ndarray:
        """Per key, the write id of its last acknowledged write (0: never written)."""
        out = np.zeros(self.n_keys, dtype=np.int64)
        if not len(self.key):
            return out
        keys = np.frombuffer(self.key[:], dtype=np.int64)[::-1]
        wids = np.frombuffer(self.wid[:], dtype=np.int64)[::-1]
        uniq, first = np.unique(keys, return_index=True)  # first in reversed order = last acknowledged
        out[uniq] = wids[first]
        return out

    def latest_at(self, ts: int) -> np.ndarray:
        """Per key, the write id of its last acknowledged write committed at or before `ts` (0: none)."""
        out = np.zeros(self.n_keys, dtype=np.int64)
        n = len(self.key)
        if not n:
            return out
        cts = np.frombuffer(self.commit_ts[:], dtype=np.int64)
        m = int(np.searchsorted(cts, ts, side="right"))  # acknowledged in commit order: a prefix
        if m == 0:
            return out
        keys = np.frombuffer(self.key[:m], dtype=np.int64)[::-1]
        wids = np.frombuffer(self.wid[:m], dtype=np.int64)[::-1]
        uniq, first = np.unique(keys, return_index=True)
        out[uniq] = wids[first]
        return out

    def missing_after_recovery(self, values: np.ndarray) -> np.ndarray:
        """Keys whose recovered value is not their last acknowledged write."""
        return np.flatnonzero(values[: self.n_keys] != self.latest())

    def check_snapshot_reads(self) -> tuple[int, int, tuple[int, int, int, int] | None]:
        """(reads checked, bad reads, first bad read as (key, snapshot ts, returned, expected))."""
        n = len(self.read_key)
        if n == 0:
            return 0, 0, None
        rk = np.frombuffer(self.read_key[:], dtype=np.int64)
        rt = np.frombuffer(self.read_ts[:], dtype=np.int64)
        rw = np.frombuffer(self.read_wid[:], dtype=np.int64)
        wk = np.frombuffer(self.key[:], dtype=np.int64)
        wt = np.frombuffer(self.commit_ts[:], dtype=np.int64)
        ww = np.frombuffer(self.wid[:], dtype=np.int64)
        scale = int(max(wt.max() if len(wt) else 0, rt.max()) + 2)
        if self.n_keys * scale >= 2**62:
            raise OverflowError("key x timestamp range too large for the composite search")
        comp_w = wk * scale + wt
        order = np.argsort(comp_w, kind="stable")
        comp_sorted = comp_w[order]
        pos = np.searchsorted(comp_sorted, rk * scale + rt, side="right") - 1
        ok_pos = pos >= 0
        posc = np.where(ok_pos, pos, 0)
        same_key = ok_pos & (wk[order][posc] == rk) if len(wk) else np.zeros(n, dtype=bool)
        expected = np.where(same_key, ww[order][posc] if len(ww) else 0, 0)
        bad = np.flatnonzero(expected != rw)
        first = None
        if len(bad):
            i = int(bad[0])
            first = (int(rk[i]), int(rt[i]), int(rw[i]), int(expected[i]))
        return n, len(bad), first


class MappingOracle:
    """The page mapping implied by the durable system log, recorded as each flush became durable."""

    def __init__(self, n_pages: int) -> None:
        self.mapping = np.full(n_pages, -1, dtype=np.int64)  # -1: the initial (load-time) page
        self.boundary_ts = 0  # commit timestamp L of the latest durable flush boundary
        self.flushes = 0

    def flush_durable(self, pages: np.ndarray, locs: np.ndarray, commit_ts: int) -> None:
        """A flush cycle's mapping changes and its boundary L are on storage."""
        self.mapping[pages] = locs
        self.boundary_ts = int(commit_ts)
        self.flushes += 1


def check_durable_commits(store) -> list[tuple[str, str, dict]]:
    """The durable commit records of the user log are exactly the acknowledged transactions.

    A commit record becomes durable in the same instant its transaction is acknowledged; a crash
    must lose every buffered record (never acknowledged). A record that survives a crash without
    being acknowledged, or an acknowledged commit missing from the log, breaks this
    (`durable_commit_acknowledged`). Compared by commit timestamp (the record's end offset).
    """
    ulog = store.ulog
    kind, _a, _b, _c, end = ulog.columns(0, ulog.durable_n)
    durable = end[kind == ulog.COMMIT]
    acked = np.unique(np.frombuffer(store.oracle.commit_ts[:], dtype=np.int64)) if store.oracle.acknowledged \
        else np.empty(0, dtype=np.int64)
    extra = np.setdiff1d(durable, acked, assume_unique=True)
    missing = np.setdiff1d(acked, durable, assume_unique=True)
    out = []
    if len(extra) or len(missing):
        out.append(("durable_commit_acknowledged", f"{len(extra)} durable commit record(s) never acknowledged, "
                    f"{len(missing)} acknowledged commit(s) not in the durable user log",
                    {"extra": int(len(extra)), "missing": int(len(missing))}))
    last = int(acked[-1]) if len(acked) else 0
    if store.applied_ts != last:
        out.append(("durable_commit_acknowledged", f"after recovery the pages claim every commit up to {store.applied_ts} "
                    f"is applied; the last acknowledged commit is {last}", {"applied_ts": int(store.applied_ts)}))
    return out


def check_system_replay(store, mapping: np.ndarray, boundary_ts: int,
                        replay_point: int = 0) -> list[tuple[str, str, dict]]:
    """What restart recovery rebuilt from checkpoint + system log, before the user-log replay.

    Returns violations as (invariant, message, details): `recovered_mapping` (the mapping differs
    from the one the durable system log implies, or the boundary is not the last durable one),
    `recovered_pages` (the pages the mapping points at differ from the acknowledged writes at L) and
    `user_checkpoint_flushed` (the user checkpoint record recovery replays from claims a replay
    point L the durable pages do not reach: its transactions committed after the last durable
    boundary would be skipped).
    """
    mo: MappingOracle = store.mapping_oracle
    out = []
    if replay_point > mo.boundary_ts:
        out.append(("user_checkpoint_flushed", f"the user checkpoint record names replay point {replay_point}, "
                    f"beyond the last durable flush boundary {mo.boundary_ts}", {"replay_point": int(replay_point)}))
    bad = np.flatnonzero(mapping != mo.mapping)
    if len(bad):
        pg = int(bad[0])
        out.append(("recovered_mapping", f"{len(bad)} of {len(mapping)} page(s) mapped differently from the durable "
                    f"system log after its replay; page {pg} at {int(mapping[pg])}, durable log says "
                    f"{int(mo.mapping[pg])}", {"pages": int(len(bad))}))
    if boundary_ts != mo.boundary_ts:
        out.append(("recovered_mapping", f"recovery stopped at flush boundary {boundary_ts}, the durable system log "
                    f"ends at boundary {mo.boundary_ts}", {"boundary": int(boundary_ts)}))
    want = store.oracle.latest_at(mo.boundary_ts)
    got = store.fstream.page_values(mapping)[: len(want)]
    wrong = np.flatnonzero(got != want)
    if len(wrong):
        k = int(wrong[0])
        pages = len(np.unique(wrong // store.kpp))
        out.append(("recovered_pages", f"{pages} page(s) ({len(wrong)} key(s)) at the recovered mapping differ from the "
                    f"acknowledged writes at flush boundary {mo.boundary_ts}; key {k} has {int(got[k])}, expected "
                    f"{int(want[k])}", {"pages": int(pages), "keys": int(len(wrong))}))
    return out
