"""What the invariants check against: the client's own record of acknowledged writes.

The oracle (`sim.check.oracle.VersionOracle`) is told of every write the client issues and every
acknowledgement it receives; it knows nothing of the log, the snapshots or the retries. The
invariant: every acknowledged write is on the backup, i.e. in its durable log or in its latest
snapshot, and, after the backup recovers from a crash, in its table again.
"""

from __future__ import annotations

from sim.check.oracle import VersionOracle
from sim.core.system import ViolationLog

__all__ = ["VersionOracle", "check_durable", "check_recovered"]


def check_durable(oracle: VersionOracle, log: dict[int, int], snapshot: dict[int, int], now: float,
                  violations: ViolationLog) -> None:
    """Every acknowledged write is in the backup's durable log or its latest snapshot."""
    durable = dict(snapshot)
    for key, version in log.items():
        if version > durable.get(key, 0):
            durable[key] = version
    violations.extend(oracle.missing(durable, now=now, invariant="acked_write_on_backup", where="backup"))


def check_recovered(oracle: VersionOracle, table: dict[int, int], now: float, violations: ViolationLog) -> None:
    """After recovery the backup's table holds every write acknowledged before it crashed."""
    violations.extend(oracle.missing(table, now=now, invariant="acked_write_recovered", where="backup table"))
