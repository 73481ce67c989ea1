"""What the invariants check against: the application's own record of what it committed.

The application hands out a fresh version (a unique, increasing write id) with every record
write and tells the oracle when the write is acknowledged (`commit`) or abandoned by a crash
(`abandon`: it may or may not have reached storage, so either value is acceptable afterwards).
At the start of an attack the oracle starts remembering, for each record overwritten afterwards,
its last value committed before the attack. It knows nothing of the primary, the stores, the
backups or the snapshots. Values are versions; `NOT_RESTORED`, `GARBAGE` (encrypted, torn or
unresolved content presented as data) and `LOST` (declared unrecoverable) are the other states a
copied record can be in.
"""

from __future__ import annotations

import numpy as np

NOT_RESTORED = -1
GARBAGE = -2
LOST = -3


class RecordOracle:
    """Latest committed version of every record; pre-attack values of records overwritten since."""

    def __init__(self, n: int) -> None:
        self.latest = np.zeros(n, dtype=np.int32)  # version 0: the initial load
        self.next_version = 1
        self.attack_time: float | None = None
        self._post: np.ndarray | None = None  # overwritten since the attack began
        self._pre_ids: list[np.ndarray] = []
        self._pre_vals: list[np.ndarray] = []
        self._pre: tuple[np.ndarray, np.ndarray] | None = None
        self._maybe: set[int] = set()  # (record << 32 | version) of abandoned writes
        self._maybe_sorted: np.ndarray | None = None  # the same, as a sorted array (built when judged)

    def issue(self, n: int) -> np.ndarray:
        vers = np.arange(self.next_version, self.next_version + n, dtype=np.int32)
        self.next_version += n
        return vers

    def commit(self, ids: np.ndarray, vers: np.ndarray) -> None:
        if self._post is not None:
            first = ~self._post[ids]
            if first.any():
                self._pre_ids.append(ids[first].astype(np.int32))  # record ids < 2**31 (params)
                self._pre_vals.append(self.latest[ids[first]])
                self._post[ids] = True
                self._pre = None
        self.latest[ids] = vers  # batches commit in issue order (the write path is serialised)

    def abandon(self, ids: np.ndarray, vers: np.ndarray) -> None:
        self._maybe.update((ids.astype(np.int64) << 32 | vers.astype(np.int64)).tolist())
        self._maybe_sorted = None

    def mark_attack(self, now: float) -> None:
        self.attack_time = now
        self._post = np.zeros(len(self.latest), dtype=bool)

    def pre_attack(self, ids: np.ndarray) -> np.ndarray:
        """Last version of each record committed before the attack began (latest if no attack)."""
        out = self.latest[ids].copy()
        if self._post is None or not self._pre_ids:
            return out
        if self._pre is None:
            pid = np.concatenate(self._pre_ids)
            order = np.argsort(pid, kind="stable")
            self._pre = (pid[order], np.concatenate(self._pre_vals)[order])
            del pid, order
            self._pre_ids, self._pre_vals = [self._pre[0]], [self._pre[1]]  # one copy, not two
        pid, pval = self._pre
        post = self._post[ids]
        if post.any():
            pos = np.searchsorted(pid, ids[post])
            out[post] = pval[pos]
        return out

    def _abandoned(self, ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        if not self._maybe:
            return np.zeros(len(ids), dtype=bool)
        if self._maybe_sorted is None:
            self._maybe_sorted = np.array(sorted(self._maybe), dtype=np.int64)
        known = self._maybe_sorted
        keys = ids.astype(np.int64) << 32 | vals.astype(np.int64)  # vectorised: no list of 4 M ints
        pos = np.searchsorted(known, keys)
        np.minimum(pos, len(known) - 1, out=pos)
        return known[pos] == keys

    def judge(self, ids: np.ndarray, vals: np.ndarray) -> dict[str, np.ndarray]:
        """Classify copied values against the pre-attack state: `current` (the pre-attack value or a
        later committed or abandoned one), `stale` (an older version: lost), `lost` (declared
        unrecoverable), `wrong` (garbage, never restored, or a version this record never had)."""
        pre = self.pre_attack(ids)
        latest = self.latest[ids]
        genuine = (vals == pre) | (vals == latest) | self._abandoned(ids, vals)
        if self._post is not None:  # a later committed version of a record overwritten since the attack
            genuine |= self._post[ids] & (vals > pre) & (vals <= latest)
        stale = (vals >= 0) & (vals < pre)
        lost = vals == LOST
        return {"current": genuine & (vals >= 0), "stale": stale & ~genuine, "lost": lost,
                "wrong": ~(genuine | stale | lost)}

    def served_ok(self, ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """A read served now is right if it returns the latest committed value or a newer write in flight."""
        return (vals >= 0) & (vals >= self.latest[ids])
