"""Oracle of the `kv_recovery` store: every acknowledged write, and the checks made against it.

The oracle keeps, in acknowledgement order, (key, commit timestamp, write id) of every write
whose transaction was acknowledged (its commit record durable). From it:
- `latest()`: the value every key must have after recovery (the last acknowledged write, or 0);
- `check_snapshot_reads()`: whether each replica read returned the value its key really had at the
  replica's snapshot (the last acknowledged write with commit timestamp <= the snapshot's).
Replica reads are logged compactly (three int64 per read, bounded by `max_reads`) and checked
vectorised at the end of the run.
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
