"""Bookkeeping of outages: from a crash of the primary until it is writable again.

An outage begins when the primary crashes while writable (a crash during recovery extends the
outage in progress) and ends when restart recovery makes it writable. Within it, reads can be
served while some replica is ready: `read_availability_during_recovery` is that time over the
outage time. An outage that ends before the warm-up does is left out, like the recovery-time
tallies. `first_read_after` is the crash instant until the first read after it is served.
"""

from __future__ import annotations


class OutageTracker:
    """The outage in progress (crash instant, since when reads are served) and the measured totals."""

    __slots__ = ("crash_at", "avail_since", "avail", "first_read_after", "total_time", "total_avail")

    def __init__(self) -> None:
        self.crash_at: float | None = None  # None: no outage in progress
        self.avail_since: float | None = None
        self.avail = 0.0
        self.first_read_after: float | None = None
        self.total_time = 0.0
        self.total_avail = 0.0

    def begin(self, now: float, reads_available: bool) -> None:
        """The primary stopped being writable (nothing if an outage is already in progress)."""
        if self.crash_at is not None:
            return
        self.crash_at = now
        self.avail = 0.0
        self.avail_since = now if reads_available else None
        self.first_read_after = now

    def reads_resumed(self, now: float, reads_available: bool) -> None:
        """A replica became ready or the primary writable."""
        if self.crash_at is not None and self.avail_since is None and reads_available:
            self.avail_since = now

    def reads_lost(self, now: float, reads_available: bool) -> None:
        """The replicas serving during the outage are gone (a node crash)."""
        if self.crash_at is not None and self.avail_since is not None and not reads_available:
            self.avail += now - self.avail_since
            self.avail_since = None

    def end(self, now: float, warmup: float) -> float | None:
        """The primary is writable again: closes the outage, returns its crash instant (None: none)."""
        crash_at = self.crash_at
        if crash_at is None:
            return None
        self.crash_at = None
        if now >= warmup:  # over before the warm-up ends: left out
            self.total_time, self.total_avail = self._add(self.total_time, self.total_avail, now, crash_at)
        return crash_at

    def _add(self, time: float, avail: float, now: float, crash_at: float) -> tuple[float, float]:
        time += now - crash_at
        avail += self.avail
        if self.avail_since is not None:
            avail += now - self.avail_since
        return time, avail

    def totals(self, now: float) -> tuple[float, float]:
        """(outage time, time reads were available within it), counting an outage still in progress."""
        if self.crash_at is None:
            return self.total_time, self.total_avail
        return self._add(self.total_time, self.total_avail, now, self.crash_at)
