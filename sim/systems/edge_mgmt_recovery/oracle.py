"""The oracle: the true management state of every user file, independent of the mechanism.

It is told of every operation at the instant it takes effect (the client-side record of what
happened, not the nodes' logs, checkpoints or management files) and keeps its own copy of each
file's entry with its own transition code. It also knows, from the failures themselves, which
management files are lost and not yet rebuilt, and the true order in which operations took
effect (a global sequence number per (node, LSN)), so that it can check the aggregated history.
Left out: nothing the checks rely on is shared with the mechanism except the operation's meaning.
"""

from __future__ import annotations

import numpy as np

from sim.systems.edge_mgmt_recovery.state import ENTRY

# the oracle's own reading of the operations (state.py holds the mechanism's)
_L, _DI, _M, _S, _DE = 0, 1, 2, 3, 4


def _oracle_next(st, ver, size, loc, name, op, arg):
    if op == 0:  # create
        return _L, ver + 1, arg, 0, name
    if op == 1:  # write
        return (_DI if st in (_M, _S) else st), ver + 1, arg, loc, name
    if op == 2:  # rename
        return st, ver + 1, size, loc, arg
    if op == 3:  # delete
        return _DE, ver + 1, size, loc, name
    if op == 4:  # migrate
        return (_M, ver + 1, size, arg, name) if st in (_L, _DI) else (st, ver + 1, size, loc, name)
    if op == 5:  # stub
        return (_S if st == _M else st), ver + 1, size, loc, name
    return (_M if st == _S else st), ver + 1, size, loc, name  # recall


class Oracle:
    """True per-file entries, true effect order, and the lost-and-not-rebuilt windows."""

    def __init__(self, files: int, files_per_mgmt: int, nodes: int) -> None:
        self.table = np.zeros(files, dtype=ENTRY)
        self.fpm = files_per_mgmt
        n_mgmt = -(-files // files_per_mgmt)
        self.lost_since = np.full(n_mgmt, np.nan)
        self.seq = 0
        self.seq_of = [np.zeros(1024, dtype=np.int64) for _ in range(nodes)]  # node -> seq by LSN - 1
        self.ops_during_rebuild = 0
        self.first_bad_op: tuple | None = None

    def took_effect(self, f: int, op: int, arg: int, node: int, lsn: int, now: float) -> None:
        """An operation took effect (it is durable in `node`'s log at `lsn`)."""
        e = self.table[f]
        self.table[f] = _oracle_next(int(e["state"]), int(e["version"]), int(e["size"]), int(e["location"]),
                                     int(e["name"]), op, arg)
        self.seq += 1
        arr = self.seq_of[node]
        if lsn > len(arr):
            arr = self.seq_of[node] = np.concatenate([arr, np.zeros(max(len(arr), lsn), dtype=np.int64)])
        arr[lsn - 1] = self.seq
        m = f // self.fpm
        if self.lost_since[m] == self.lost_since[m]:  # not NaN: the management file is lost
            self.ops_during_rebuild += 1
            if self.first_bad_op is None:
                self.first_bad_op = (f, m, node, lsn, now)

    def lost(self, m: int, now: float) -> None:
        if self.lost_since[m] != self.lost_since[m]:
            self.lost_since[m] = now

    def installed(self, m: int) -> None:
        self.lost_since[m] = np.nan

    def expected(self, m: int) -> np.ndarray:
        return self.table[m * self.fpm:(m + 1) * self.fpm]

    def compare(self, m: int, rebuilt: np.ndarray, present: np.ndarray) -> tuple[int, int, int]:
        """(wrong, stale, missing) entries of a rebuilt management file against the true ones:
        missing: absent from the rebuild; stale: an older version; wrong: any other difference
        (stale and missing entries are wrong too)."""
        exp = self.expected(m)
        differ = (rebuilt != exp) | ~present
        missing = int((~present).sum())
        stale = int((present & (rebuilt["version"] < exp["version"])).sum())
        return int(differ.sum()), stale, missing

    def out_of_order(self, nodes: np.ndarray, lsns: np.ndarray, files: np.ndarray) -> int:
        """Pairs of consecutive history entries of one file that are not in true effect order."""
        if len(files) < 2:
            return 0
        seqs = np.empty(len(files), dtype=np.int64)
        for n in np.unique(nodes).tolist():
            sel = nodes == n
            seqs[sel] = self.seq_of[n][lsns[sel] - 1]
        order = np.argsort(files, kind="stable")  # keeps the history's order within a file
        f, s = files[order], seqs[order]
        same = f[1:] == f[:-1]
        return int((same & (s[1:] <= s[:-1])).sum())
