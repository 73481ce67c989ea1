"""Garbage collection of the chunks variant: superseded chunk objects, manifests and undo segments
older than the protection window are deleted from the object store, but only while no recovery
pins the objects it has taken over (a recovery reading an old manifest must find its chunks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


class GarbageCollector:
    """Objects to delete once unpinned: `pin()` / `unpin()` around a recovery's reads."""

    __slots__ = ("m", "garbage", "pins")

    def __init__(self, m: CdpStreams) -> None:
        self.m = m
        self.garbage: list[str] = []  # superseded objects, deleted when no recovery pins them
        self.pins = 0

    def add(self, key: str) -> None:
        self.garbage.append(key)

    def pin(self) -> None:
        self.pins += 1

    def unpin(self) -> None:
        self.pins -= 1
        self.collect()

    def collect(self) -> None:
        """Delete every superseded object now, unless a recovery pins them."""
        if self.pins == 0 and self.garbage:
            for k in self.garbage:
                self.m.store.remove(k)
            self.garbage = []
            self.m.sim.fault_point("cdp.gc.after_collect")

    def trim_archive(self) -> None:
        """Undo segments older than the protection window become garbage."""
        m = self.m
        horizon = m.env.now - m.params.protection_window
        a = m.undo_archive
        while a and m.log.time_of(a[0][1]) < horizon:
            self.garbage.append(a.pop(0)[2])
        self.collect()
