"""A node's operation log: every state-changing operation the node accepted, in acceptance order.

Real behaviour it stands for: a per-node change log (Lustre changelog, NTFS USN journal style)
kept on the cluster's shared, replicated storage, so it is readable while its node is down. Each
entry has a log sequence number (LSN, dense per node), the file, the operation and its argument,
and two timestamps: the node's wall clock and its hybrid logical clock. Entries older than the
retention are truncated in bulk; a truncation fault drops a prefix. `first_lsn` says where the
retained log starts, so a reader can tell that entries it needs are gone.
Left out: torn entries, compression, the log's own replication traffic.
"""

from __future__ import annotations

import numpy as np

COLS = (("file", np.uint32), ("op", np.uint8), ("arg", np.uint32), ("wall", np.float64), ("hl", np.float64),
        ("hc", np.uint32))


class OpLog:
    """Columns of one node's log (amortised O(1) append); LSNs `first_lsn .. next_lsn - 1` retained."""

    __slots__ = ("cols", "n", "first_lsn", "truncated")

    def __init__(self, capacity: int = 1024) -> None:
        self.cols = {name: np.zeros(capacity, dtype=dt) for name, dt in COLS}
        self.n = 0  # retained entries
        self.first_lsn = 1
        self.truncated = 0  # entries dropped so far (retention and faults)

    @property
    def next_lsn(self) -> int:
        return self.first_lsn + self.n

    def append(self, file: int, op: int, arg: int, wall: float, hl: float, hc: int) -> int:
        """Append one entry durably; returns its LSN."""
        n = self.n
        cols = self.cols
        if n == len(cols["file"]):
            for name in cols:
                cols[name] = np.concatenate([cols[name], np.zeros_like(cols[name])])
        cols["file"][n] = file
        cols["op"][n] = op
        cols["arg"][n] = arg
        cols["wall"][n] = wall
        cols["hl"][n] = hl
        cols["hc"][n] = hc
        self.n = n + 1
        return self.first_lsn + n

    def last_hlc(self) -> tuple[float, int]:
        """The newest entry's HLC timestamp ((0, 0) when empty): a restarted node resumes above it."""
        if self.n == 0:
            return 0.0, 0
        return float(self.cols["hl"][self.n - 1]), int(self.cols["hc"][self.n - 1])

    def drop_prefix(self, k: int) -> int:
        """Drop the oldest `k` retained entries; returns how many were dropped."""
        k = max(0, min(int(k), self.n))
        if k:
            for name, col in self.cols.items():
                rest = col[k:self.n].copy()
                new = np.zeros(max(1024, 2 * len(rest)), dtype=col.dtype)
                new[:len(rest)] = rest
                self.cols[name] = new
            self.n -= k
            self.first_lsn += k
            self.truncated += k
        return k

    def truncate_older_than(self, wall_limit: float) -> int:
        """Retention: drop the entries stamped (wall clock) before `wall_limit`."""
        if not self.n:
            return 0
        young = self.cols["wall"][:self.n] >= wall_limit  # not monotone: clocks step back
        return self.drop_prefix(int(np.argmax(young)) if young.any() else self.n)

    def since(self, lsn: int) -> tuple[int, dict[str, np.ndarray]]:
        """(first LSN returned, columns) of the retained entries with LSN >= `lsn`."""
        start = max(lsn, self.first_lsn)
        i = start - self.first_lsn
        return start, {name: col[i:self.n] for name, col in self.cols.items()}
