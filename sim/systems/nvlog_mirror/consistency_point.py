"""The primary's NVLog in two halves and its consistency points (the `consistency_point` actor).

What it stands for: WAFL logs writes in NVRAM and writes them to disk in consistency points
(CPs). The log is split in two halves (in an HA pair each half is 1/4 of the NVRAM: the other
half of NVRAM holds the partner's mirror); appends go to the active half. When it is full, or
`cp_interval` after the last CP began, a CP starts: the active half is frozen and flushed to
disk at `cp_flush_bandwidth` while the other half takes the appends. When the CP completes, its
entries are on disk (`disk`, the aggregate's drives, shared by both nodes and kept through any
crash) and are *retired* (`retired`): their log space is free again, in the primary's NVLog and
in the partner's mirror (freed in step; the mirror's halves are not modelled apart). What a node's
NVLog still holds is its appended entries less the retired ones. If the active half fills while
a CP is still running (a back-to-back CP), appends wait for the CP to complete: the
back-pressure clients see.

A crash of the primary interrupts a running CP: the flush never completes, so the frozen half's
entries are not on disk and are not retired; the NVLog still holds them. When the primary
restarts without a takeover it replays its NVLog and flushes them again (a CP of what is still in
the interrupted half); after a takeover the partner holds them in its mirror and flushes them
before the giveback (`takeover`). `retire_before_cp_done` (BROKEN on purpose) frees a half's log
space when its CP starts, before the flush is on disk: a crash during the CP then loses them.

Abstracted away: the CP's own CPU and its effect on the worker pool, the disk layout, the
partner's own CPs (of its own writes, and of the writes it serves during a takeover: those are
flushed at the giveback).
"""

from __future__ import annotations

from simpy.events import Event, Timeout

from sim.check.rangeset import RangeSet


class ConsistencyPoints:
    """The NVLog halves' fill, the running CP, the appends waiting for log space, `disk` and `retired`."""

    def __init__(self, system) -> None:
        p = system.params
        rec = system.sim.recorder
        self.env = system.env
        self.sim = system.sim
        self.primary = system.primary
        self.half_bytes = p.nvram_size / 4.0  # HA pair: each log half is 1/4 of the NVRAM
        self._inv_bw = 1.0 / p.cp_flush_bandwidth
        self._entry = system.workload.size.expected() + p.mirror_header
        self.interval = p.cp_interval
        self._retire_early = p.retire_before_cp_done  # BROKEN on purpose when true
        self.fill = 0.0  # bytes in the active half
        self.active_lo = 0  # first LSN of the active half
        self.flushing: tuple[int, int] | None = None  # LSN range [lo, hi) of the half being flushed
        self._flush_lsns: RangeSet | None = None  # a replayed half: exactly what it still held
        self.interrupted: RangeSet | None = None  # entries of CPs a crash interrupted (still in the NVLog)
        self._gen = 0  # a crash invalidates the running CP's completion
        self.waiters: list[tuple[float, Event, float]] = []  # appends waiting for log space, FIFO
        self.disk = RangeSet()  # LSNs written to disk by completed CPs (and the giveback's flush)
        self.retired = RangeSet()  # LSNs whose log space is free: no NVLog holds them any more
        system.oracle.bind_storage(self.disk, self.retired)
        self.c_cps = rec.counter("consistency_points")
        self.c_interrupted = rec.counter("consistency_points_interrupted")
        self.c_waits = rec.counter("nvlog_backpressure_waits")
        self.wait_time = rec.tally("nvlog_backpressure_wait")
        self._cp_done_cb = self._cp_done
        self._last_start = 0.0
        self._fp = system.sim.fault_point
        self.primary.on_crash.append(self.primary_crashed)
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
            if self.flushing is None and self.fill > 0 and self.primary.serving:
                self._start_cp("timer")
            else:
                self._last_start = env.now  # nothing to flush, a CP still runs, or the primary is down

    def _start_cp(self, reason: str) -> None:
        hi = self.primary.next_lsn
        lo, self.active_lo = self.active_lo, hi
        nbytes, self.fill = self.fill, 0.0
        self._flush(lo, hi, nbytes)

    def _flush(self, lo: int, hi: int, nbytes: float, lsns: RangeSet | None = None) -> None:
        """Freeze [lo, hi) (or only `lsns` of it) and write it to disk; retired when the flush completes."""
        self.flushing = (lo, hi)
        self._flush_lsns = lsns
        self._last_start = self.env.now
        if self._retire_early and hi > lo:
            self.retired.add_range(lo, hi)  # BROKEN on purpose: freed before the flush is on disk
        Timeout(self.env, nbytes * self._inv_bw, self._gen).callbacks.append(self._cp_done_cb)
        self._fp("nvlog_mirror.cp.flushing")

    def _cp_done(self, ev) -> None:
        if ev._value != self._gen:
            return  # interrupted by a crash: not on disk, not retired
        lo, hi = self.flushing
        if self._flush_lsns is not None:
            self.disk.update(self._flush_lsns)  # on disk: their log space is free
            self.retired.update(self._flush_lsns)
        elif hi > lo:
            self.disk.add_range(lo, hi)
            self.retired.add_range(lo, hi)
        self.flushing = self._flush_lsns = None
        self.c_cps.value += 1
        if self.interrupted is not None:
            self._replay_interrupted()
            return
        if self.waiters:
            # the active half is full (back-to-back): it is flushed next, the freed half takes the waiters
            self._start_cp("back-to-back")
            now = self.env.now
            while self.waiters and self.fill + self.waiters[0][0] <= self.half_bytes:
                nbytes, wev, since = self.waiters.pop(0)
                self.fill += nbytes
                self.wait_time.record(now - since)
                wev.succeed(now)

    # --- crashes and the giveback --------------------------------------------------------------------
    def primary_crashed(self, kind: str) -> None:
        """A crash interrupts the running CP: its half stays in the NVLog, neither on disk nor retired."""
        self.waiters.clear()  # their transactions died with the worker pool
        if self.flushing is None:
            return
        self._gen += 1
        self.c_interrupted.value += 1
        lo, hi = self.flushing
        if self._flush_lsns is not None:
            lsns = self._flush_lsns
        else:
            lsns = RangeSet()
            lsns.add_range(lo, hi)
        if self.interrupted is None:
            self.interrupted = RangeSet()
        self.interrupted.update(lsns)
        self.flushing = self._flush_lsns = None
        self.sim.note("cp_interrupted", lo=lo, hi=hi)

    def primary_restarted(self) -> None:
        """The primary replayed its NVLog (no takeover): an interrupted CP's half is flushed again."""
        if self.interrupted is not None and self.flushing is None:
            self._replay_interrupted()

    def _replay_interrupted(self) -> None:
        left = self.interrupted.difference(self.retired)  # what the NVLog still holds of the half
        self.interrupted = None
        rs = left.ranges()
        lo, hi = (rs[0][0], rs[-1][1]) if rs else (0, 0)
        self._flush(lo, hi, len(left) * self._entry, left)

    def unflushed_on_partner(self, partner_log: RangeSet) -> RangeSet:
        """The entries the partner's NVLog holds that are not on disk: what a giveback must flush first."""
        left = partner_log.difference(self.retired)
        return left.difference(self.disk)

    def flushed_by_partner(self, lsns: RangeSet) -> None:
        """The partner's giveback CP wrote `lsns` to disk: on disk and retired from its log."""
        self.disk.update(lsns)
        self.retired.update(lsns)

    def given_back(self, next_lsn: int) -> None:
        """After a giveback the primary's NVLog is discarded (ONTAP invalidates it) and the partner's
        log of the given-back aggregates is free: nothing below `next_lsn` is in any NVLog any more."""
        self._gen += 1
        self.retired.add_range(0, next_lsn)
        self.flushing = self._flush_lsns = self.interrupted = None
        self.fill = 0.0
        self.active_lo = next_lsn
        self.waiters.clear()
