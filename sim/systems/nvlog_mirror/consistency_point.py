"""The primary's NVLog in two halves and its consistency points (the `consistency_point` actor).

What it stands for: WAFL logs writes in NVRAM and writes them to disk in consistency points
(CPs). The log is split in two halves (in an HA pair each half is 1/4 of the NVRAM: the other
half of NVRAM holds the partner's mirror); appends go to the active half. When it is full, or
`cp_interval` after the last CP began, a CP starts: the active half is frozen and flushed to
disk at `cp_flush_bandwidth` while the other half takes the appends. When the CP completes, its
entries are retired (on disk; their log space is free again). If the active half fills while a
CP is still running (a back-to-back CP), appends wait for the CP to complete: the back-pressure
clients see. The partner's mirror halves fill and are freed in step with the primary's
(abstracted: they never bind separately).

Abstracted away: the CP's own CPU and its effect on the worker pool, the disk layout, a CP's
interaction with a crash (the flush is modelled as running to completion: its entries are in
NVRAM anyway, only capacity is at stake).
"""

from __future__ import annotations

from simpy.events import Event, Timeout

from sim.check.rangeset import RangeSet


class ConsistencyPoints:
    """The NVLog halves' fill, the running CP, the appends waiting for log space, and `disk`."""

    def __init__(self, system) -> None:
        p = system.params
        rec = system.sim.recorder
        self.env = system.env
        self.sim = system.sim
        self.primary = system.primary
        self.half_bytes = p.nvram_size / 4.0  # HA pair: each log half is 1/4 of the NVRAM
        self._inv_bw = 1.0 / p.cp_flush_bandwidth
        self.interval = p.cp_interval
        self.fill = 0.0  # bytes in the active half
        self.active_lo = 0  # first LSN of the active half
        self.flushing: tuple[int, int] | None = None  # LSN range [lo, hi) of the half being flushed
        self.waiters: list[tuple[float, Event, float]] = []  # appends waiting for log space, FIFO
        self.disk = RangeSet()  # LSNs retired by completed CPs (on disk)
        self.c_cps = rec.counter("consistency_points")
        self.c_waits = rec.counter("nvlog_backpressure_waits")
        self.wait_time = rec.tally("nvlog_backpressure_wait")
        self._cp_done_cb = self._cp_done
        self._last_start = 0.0
        if self.interval < system.sim.duration:
            system.env.process(self.cp_timer())

    def room(self, nbytes: float) -> Event | None:
        """Log space for an append of `nbytes`: None if taken now, else an event fired when it is."""
        if self.fill + nbytes <= self.half_bytes and not self.waiters:
            self.fill += nbytes
            return None
        if self.flushing is None and not self.waiters:
            self._start_cp("half full")
            self.fill = nbytes
            return None
        ev = Event(self.env)
        self.waiters.append((nbytes, ev, self.env.now))
        self.c_waits.value += 1
        return ev

    def cp_timer(self):
        """`consistency_point` timer: a CP starts `cp_interval` after the last one began, if none runs."""
        env = self.env
        while True:
            due = self._last_start + self.interval
            yield Timeout(env, max(due - env.now, 0.0))
            if self._last_start + self.interval > env.now + 1e-12:
                continue  # a CP began meanwhile (a half filled): its interval counts from then
            if self.flushing is None and self.fill > 0:
                self._start_cp("timer")
            else:
                self._last_start = env.now  # nothing to flush, or a CP still runs: try again an interval later

    def _start_cp(self, reason: str) -> None:
        hi = self.primary.next_lsn
        self.flushing = (self.active_lo, hi)
        self.active_lo = hi
        nbytes, self.fill = self.fill, 0.0
        self._last_start = self.env.now
        Timeout(self.env, nbytes * self._inv_bw).callbacks.append(self._cp_done_cb)

    def _cp_done(self, ev) -> None:
        lo, hi = self.flushing
        if hi > lo:
            self.disk.add_range(lo, hi)  # retired: on disk, their log space free
        self.flushing = None
        self.c_cps.value += 1
        if self.waiters:
            # the active half is full (back-to-back): it is flushed next, the freed half takes the waiters
            self._start_cp("back-to-back")
            now = self.env.now
            while self.waiters and self.fill + self.waiters[0][0] <= self.half_bytes:
                nbytes, wev, since = self.waiters.pop(0)
                self.fill += nbytes
                self.wait_time.record(now - since)
                wev.succeed(now)
