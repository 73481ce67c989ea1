"""Oracles: simple, obviously correct reference models of the data a system protects.

A model tells its oracle what it promised (a write was acknowledged, a record committed, an
image captured) and asks it, after a fault or at the end of the run, whether the state it
recovered keeps those promises. The comparisons return `Violation`s (one per broken invariant
and place, with a count and the first few offending keys), never raise.

- `VersionOracle`: versions per key (block, record, page): `write` hands out increasing versions,
  `acknowledge` records the promise, `missing(store)` lists acknowledged versions a store lacks,
  `state_at(t)` is the acknowledged state at time t (for point-in-time recovery).
- `compare_states`: expected vs recovered mapping (a restored image equals memory at capture).
- `AtomicityOracle`: transactions spanning partitions are applied entirely or not at all.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from sim.core.system import Violation

SHOWN = 5  # offending keys shown in a violation's detail


def _summary(keys: list, what: str) -> str:
    shown = ", ".join(repr(k) for k in keys[:SHOWN])
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return f"{len(keys)} {what}: {shown}{more}"


class VersionOracle:
    """Versions of keys over time: what was written, what was acknowledged, and when."""

    __slots__ = ("_next", "_acked", "_ack_times", "_ack_versions", "writes", "acks")

    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}
        self._acked: dict[Hashable, int] = {}  # key -> newest acknowledged version
        self._ack_times: dict[Hashable, list[float]] = {}
        self._ack_versions: dict[Hashable, list[int]] = {}
        self.writes = 0
        self.acks = 0

    def write(self, key: Hashable, now: float | None = None) -> int:
        """A new version of `key` (1, 2, 3...), not yet promised to anyone."""
        v = self._next.get(key, 0) + 1
        self._next[key] = v
        self.writes += 1
        return v

    def acknowledge(self, key: Hashable, version: int, now: float) -> None:
        """The system told its client that `version` of `key` is safe (at time `now`)."""
        self.acks += 1
        if version > self._acked.get(key, 0):
            self._acked[key] = version
        times = self._ack_times.setdefault(key, [])
        vers = self._ack_versions.setdefault(key, [])
        # acknowledgements arrive in time order; keep the newest version acknowledged by each instant
        best = max(version, vers[-1]) if vers else version
        if times and times[-1] == now:
            vers[-1] = best
        else:
            times.append(now)
            vers.append(best)

    @property
    def acknowledged(self) -> dict[Hashable, int]:
        """Newest acknowledged version per key."""
        return dict(self._acked)

    def latest_written(self, key: Hashable) -> int:
        return self._next.get(key, 0)

    def state_at(self, t: float) -> dict[Hashable, int]:
        """Newest version of each key acknowledged at or before time `t`."""
        out = {}
        for key, times in self._ack_times.items():
            i = bisect.bisect_right(times, t)
            if i:
                out[key] = self._ack_versions[key][i - 1]
        return out

    def missing(self, store: Mapping[Hashable, int], *, now: float | None = None, invariant: str = "acked_write_present",
                where: str = "", since: Mapping[Hashable, int] | None = None) -> list[Violation]:
        """A violation if `store` (key -> version held) lacks an acknowledged version."""
        expected = self._acked if since is None else since
        lost = sorted((k for k, v in expected.items() if store.get(k, 0) < v), key=repr)
        if not lost:
            return []
        data = {"count": len(lost), "keys": [repr(k) for k in lost[:SHOWN]], "where": where}
        first = lost[0]
        detail = _summary(lost, "acknowledged write(s) missing") + (f" on {where}" if where else "")
        detail += f" (e.g. key {first!r}: acknowledged v{expected[first]}, held v{store.get(first, 0)})"
        return [Violation(invariant, detail, now, data)]


def compare_states(expected: Mapping[Hashable, Any], actual: Mapping[Hashable, Any], *, invariant: str,
                   now: float | None = None, where: str = "", extra_ok: bool = False) -> list[Violation]:
    """A violation if `actual` differs from `expected` (missing, different, or unexpected keys)."""
    wrong = [k for k in expected if k not in actual or actual[k] != expected[k]]
    extra = [] if extra_ok else [k for k in actual if k not in expected]
    if not wrong and not extra:
        return []
    bad = sorted(wrong, key=repr) + sorted(extra, key=repr)
    k = bad[0]
    detail = _summary(bad, "key(s) differ") + (f" on {where}" if where else "")
    detail += f" (e.g. key {k!r}: expected {expected.get(k, '<absent>')!r}, got {actual.get(k, '<absent>')!r})"
    return [Violation(invariant, detail, now, {"count": len(bad), "keys": [repr(x) for x in bad[:SHOWN]],
                                               "where": where})]


class AtomicityOracle:
    """Transactions over several partitions: after recovery each is applied everywhere or nowhere."""

    def __init__(self) -> None:
        self.parts: dict[Hashable, tuple[Hashable, ...]] = {}

    def begin(self, txn: Hashable, partitions: Iterable[Hashable]) -> None:
        self.parts[txn] = tuple(partitions)

    def check(self, applied: Mapping[Hashable, Iterable[Hashable]], *, now: float | None = None,
              invariant: str = "transaction_atomic") -> list[Violation]:
        """`applied`: partition -> transactions it holds. Partial transactions are violations."""
        held = {p: set(ts) for p, ts in applied.items()}
        partial = []
        for txn, parts in self.parts.items():
            have = [txn in held.get(p, ()) for p in parts]
            if any(have) and not all(have):
                partial.append(txn)
        if not partial:
            return []
        return [Violation(invariant, _summary(partial, "transaction(s) partially applied"), now,
                          {"count": len(partial), "keys": [repr(t) for t in partial[:SHOWN]]})]
