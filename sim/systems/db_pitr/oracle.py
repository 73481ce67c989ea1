"""The oracle of `db_pitr`: which transactions committed, when, and at which partitions.

It learns a transaction's partitions when the client starts it and its commit point at the one
instant the real system commits it: the coordinator's decision record (multi-partition) or the
partition's commit record (single-partition) becoming durable. It never reads the backup, the
restore hosts or the recovery's bookkeeping; the checks compare what the recovery built against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecoveredCheck:
    """The recovered database against the oracle at the recovered point."""

    committed: int = 0  # transactions committed before the (earliest) recovered point
    lost: int = 0  # committed before a partition's point, missing there
    extra: int = 0  # applied at a partition although not committed before its point
    atomicity: int = 0  # applied at some but not all of their partitions
    first: str = ""


class Oracle:
    """Committed transactions (commit point, partitions), independent of the mechanism."""

    def __init__(self) -> None:
        self.parts: dict[int, tuple[int, ...]] = {}
        self.commit_time: dict[int, float] = {}

    def begin(self, txn: int, parts: tuple[int, ...]) -> None:
        self.parts[txn] = parts

    def commit(self, txn: int, t: float) -> None:
        self.commit_time.setdefault(txn, t)

    def committed(self, txn: int) -> bool:
        return txn in self.commit_time

    def expected(self, points: list[float]) -> list[set[int]]:
        """Per partition p: the transactions committed strictly before `points[p]` that touch it."""
        out: list[set[int]] = [set() for _ in points]
        parts = self.parts
        for txn, t in self.commit_time.items():
            for p in parts[txn]:
                if t < points[p]:
                    out[p].add(txn)
        return out

    def check(self, applied: list[set[int]], points: list[float]) -> RecoveredCheck:
        """Compare each recovered partition's applied transactions with the commits before its point
        (one point for all in the mechanism); atomicity is checked across partitions."""
        exp = self.expected(points)
        res = RecoveredCheck()
        low = min(points)
        res.committed = sum(1 for t in self.commit_time.values() if t < low)
        lost: set[int] = set()
        extra: set[int] = set()
        for e, a in zip(exp, applied, strict=True):
            lost |= e - a
            extra |= a - e
        res.lost, res.extra = len(lost), len(extra)
        seen: dict[int, int] = {}
        for a in applied:
            for txn in a:
                seen[txn] = seen.get(txn, 0) + 1
        half = [txn for txn, n in seen.items() if n < len(self.parts[txn])]
        res.atomicity = len(half)
        if half:
            txn = min(half)
            res.first = (f"transaction {txn} applied at {seen[txn]} of its partitions {self.parts[txn]}")
        elif lost:
            txn = min(lost)
            res.first = f"transaction {txn} committed at {self.commit_time[txn]:.6f} s is not recovered"
        elif extra:
            txn = min(extra)
            res.first = f"transaction {txn} is recovered but was not committed before the point"
        return res
