"""Send-queue occupancy (posted, reserved, their sum) and the capacity invariant, where slots change.

The send queue keeps the accounting itself (`sim.components.rdma.SendQueue`: slot-seconds of both
levels, their peaks, and an audit on every change of `0 <= reserved` and
`posted + reserved <= slots`); `SlotOccupancy` turns it into the run's metrics over the measured
window and reports an overrun as a violation of `send_queue_capacity` — so a post without a
granted reservation (a forged or reused one, or slots never reserved) is caught the moment it
overruns the queue, whichever code path posted it.
"""

from __future__ import annotations

import math


class SlotOccupancy:
    """Time-averaged and peak posted and reserved send-queue slots; overruns as violations."""

    __slots__ = ("env", "sq", "log", "slots", "_t0", "_base", "overruns")

    def __init__(self, env, log, slots: int) -> None:
        self.env = env
        self.sq = None  # the send queue (set with `attach`)
        self.log = log
        self.slots = slots
        self.overruns = 0
        self._t0 = 0.0
        self._base = (0.0, 0.0)

    def attach(self, sq) -> None:
        """Watch `sq`: its overruns are reported from now on."""
        self.sq = sq
        sq.on_overrun = self._overrun
        self.reset()

    def reset(self) -> None:
        """Start the averages and peaks now (the warm-up's end)."""
        self._t0 = self.env.now
        self._base = self.sq.slot_seconds()
        self.sq.reset_peaks()

    def _overrun(self, posted: int, reserved: int) -> None:
        """An overrun episode began (the send queue calls this once per episode)."""
        self.overruns += 1
        self.log.add("send_queue_capacity",
                     f"send queue overrun: {posted} posted + {reserved} reserved on {self.slots} slots",
                     self.env.now, posted=posted, reserved=reserved, slots=self.slots)

    def means(self) -> tuple[float, float]:
        """(posted, reserved) time averages since the last reset."""
        span = self.env.now - self._t0
        if span <= 0:
            return float(self.sq.posted), float(self.sq.reserved)
        posted, reserved = self.sq.slot_seconds()
        return (posted - self._base[0]) / span, (reserved - self._base[1]) / span

    def row(self) -> dict[str, float]:
        posted, res = self.means()
        if math.isnan(posted):
            posted = res = math.nan
        max_posted, max_reserved, max_taken = self.sq.peaks()
        return {
            "send_queue_posted_mean": posted,
            "send_queue_posted_max": float(max_posted),
            "send_queue_reserved_mean": res,
            "send_queue_reserved_max": float(max_reserved),
            "send_queue_occupancy_mean": posted + res,
            "send_queue_occupancy_max": float(max_taken),
        }
