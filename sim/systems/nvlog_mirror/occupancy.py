"""Send-queue occupancy (posted, reserved, their sum) and the capacity invariant, where slots change.

`SlotOccupancy` is handed to the send queue as its occupancy gauge: the queue calls `set(posted)`
on every change of its posted slots (post, send on a reservation, completion, flush, reset); the
model calls `changed()` where only the reserved count changes (a reservation granted or handed
back). Each call records both levels as exact time averages and maxima, and checks the invariant
`send_queue_capacity`: `0 <= reserved` and `posted + reserved <= slots` — so a post without a
granted reservation (a forged or reused one, or slots never reserved) is caught the moment it
overruns the queue, whichever code path posted it.
"""

from __future__ import annotations

import math


class SlotOccupancy:
    """Time-weighted posted and reserved send-queue slots, and the capacity check on each change."""

    __slots__ = ("env", "sq", "log", "slots", "_t", "_t0", "_posted", "_res", "_a_posted", "_a_res",
                 "max_posted", "max_reserved", "max_total", "overruns", "_bad", "_watch")

    def __init__(self, env, log, slots: int) -> None:
        self.env = env
        self.sq = None  # the send queue (set once it exists)
        self.log = log
        self.slots = slots
        self._posted = 0
        self._res = 0
        self.overruns = 0
        self._bad = False
        self.reset()

    def reset(self) -> None:
        """Start the averages now (the warm-up's end)."""
        self._t = self._t0 = self.env.now
        self._a_posted = self._a_res = 0.0
        self.max_posted = self._posted
        self.max_reserved = self._res
        self.max_total = self._posted + self._res
        self._watch = min(self.max_total, self.slots)  # `set` looks closer only above this total

    def set(self, posted: int) -> None:
        """The send queue's posted count changed (the gauge interface the queue calls)."""
        now = self.env._now
        dt = now - self._t
        self._t = now
        self._a_posted += self._posted * dt
        self._a_res += self._res * dt
        self._posted = posted
        self._res = r = self.sq.reserved
        if posted > self.max_posted or r > self.max_reserved or posted + r > self._watch or r < 0 or self._bad:
            self._peak_or_overrun(posted, r)  # (rare: a new maximum, an overrun or the end of one)

    def _peak_or_overrun(self, posted: int, r: int) -> None:
        total = posted + r
        if total > self.max_total:
            self.max_total = total
        if posted > self.max_posted:
            self.max_posted = posted
        if r > self.max_reserved:
            self.max_reserved = r
        self._watch = min(self.max_total, self.slots)
        if total > self.slots or r < 0:
            self._overrun(posted, r)
        elif self._bad:
            self._bad = False

    def changed(self) -> None:
        """Reserved slots changed (a grant, a release): record and check."""
        self.set(self.sq.posted)

    def _overrun(self, posted: int, reserved: int) -> None:
        """Record an overrun once per episode (until the queue is back within its slots)."""
        if self._bad:
            return
        self._bad = True
        self.overruns += 1
        self.log.add("send_queue_capacity",
                     f"send queue overrun: {posted} posted + {reserved} reserved on {self.slots} slots",
                     self.env.now, posted=posted, reserved=reserved, slots=self.slots)

    def means(self) -> tuple[float, float]:
        """(posted, reserved) time averages since the last reset."""
        now = self.env.now
        span = now - self._t0
        if span <= 0:
            return float(self._posted), float(self._res)
        tail = now - self._t
        return (self._a_posted + self._posted * tail) / span, (self._a_res + self._res * tail) / span

    def row(self) -> dict[str, float]:
        posted, res = self.means()
        if math.isnan(posted):
            posted = res = math.nan
        return {
            "send_queue_posted_mean": posted,
            "send_queue_posted_max": float(self.max_posted),
            "send_queue_reserved_mean": res,
            "send_queue_reserved_max": float(self.max_reserved),
            "send_queue_occupancy_mean": posted + res,
            "send_queue_occupancy_max": float(self.max_total),
        }
