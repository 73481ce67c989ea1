"""Takeover service and giveback: the partner serves the clients while the primary is down (`takeover_service`).

What it stands for: after a takeover (`recovery.PairRecovery.takeover`, which decides whether the
partner may take over), the partner needs `takeover_time` (ownership of the aggregates, LIF
migration) before it serves the primary's clients. It then runs their writes alone: each is
`txn_cpu_cost` of file-system work plus an append to the partner's NVLog, on one FIFO thread
(Lindley's recursion, as its apply thread), acknowledged after its own append (nothing mirrors
it: the primary is down). When the primary has restarted it waits for the giveback (ONTAP's
automatic giveback waits `giveback_delay`); the giveback is a second, brief outage: the partner
stops serving, takes the aggregates offline — writing every entry of them that only its NVLog
holds to disk (a CP at `cp_flush_bandwidth`): the writes it served during the takeover and the
primary's entries it replayed that no completed CP had written — and hands them back. The primary
discards its own NVLog contents (ONTAP: a node that was taken over invalidates its NVRAM,
`cf.fm.discardNvram`), the partner frees its log of them, and the primary serves again, in sync.
A primary crash during the giveback leaves the aggregates with the partner, which serves again; a
partner crash during its flush interrupts it (nothing is handed back) and the giveback is redone
when the partner restarts; a partner that is down when the primary comes back holds the only copy
of the takeover writes, so the giveback waits for it. `giveback_without_sync` (BROKEN on purpose)
hands back without the flush: the takeover writes are then in no NVLog and not on disk.

Availability is measured, not assumed: `unavailable_s` sums the time no node served (from a
primary crash to the takeover's service, or to the primary's return if there was none; the
giveback), and `availability` is the fraction of arriving writes that were accepted.
"""

from __future__ import annotations

from simpy.events import Timeout

from sim.check.rangeset import RangeSet


class TakeoverService:
    """Who serves the clients (`primary`, `partner` or nobody), the partner's service and the giveback."""

    def __init__(self, system) -> None:
        p = system.params
        rec = system.sim.recorder
        self.sim = system.sim
        self.env = system.env
        self.primary = system.primary
        self.partner = system.partner
        self.client = system.client
        self.takeover_time = p.takeover_time
        self.giveback_delay = p.giveback_delay
        self._cost = p.txn_cpu_cost + p.nvlog_append_latency
        self._inv_nvbw = 1.0 / p.nvlog_bandwidth
        self._inv_cpbw = 1.0 / p.cp_flush_bandwidth
        self._entry = system.workload.size.expected() + p.mirror_header
        self.c_served = rec.counter("writes_served_by_partner")
        self.c_givebacks = rec.counter("givebacks")
        self.serving = False  # the partner serves the primary's clients
        self.taken_over = False  # a takeover happened and has not been given back
        self._takeover_gen = 0
        self._served_lsns: list[int] = []  # entries the partner logged while serving (flushed at giveback)
        self._skip_sync = p.giveback_without_sync  # BROKEN on purpose when true
        self._waiting_giveback = None  # (gen, resume) of a giveback waiting for the partner's restart
        self._resume_cb = None  # the primary's resume after a giveback (set by `recovery`)
        self.cps = None  # the consistency points (set by the model)
        self.oracle = system.oracle
        self.c_gb_flushed = rec.counter("giveback_flushed_entries")
        self._pending: dict[int, object] = {}  # writes the partner is serving: lsn -> write
        self.down_since: float | None = None  # no node serves since then
        self.unavailable_s = 0.0
        self._done_cb = self._served
        self.partner.on_crash.append(self.partner_crashed)
        self.partner.on_restart.append(self.partner_restarted)

    # --- service state -----------------------------------------------------------------------------
    def service_stopped(self) -> None:
        if self.down_since is None:
            self.down_since = self.env.now

    def service_resumed(self) -> None:
        if self.down_since is not None:
            self.unavailable_s += self.env.now - self.down_since
            self.down_since = None

    def unavailable_now(self) -> float:
        return self.unavailable_s + (self.env.now - self.down_since if self.down_since is not None else 0.0)

    # --- takeover ----------------------------------------------------------------------------------
    def took_over(self) -> None:
        """The partner took over: it serves after `takeover_time`, unless the primary is back first."""
        self.taken_over = True
        self._takeover_gen += 1
        Timeout(self.env, self.takeover_time, self._takeover_gen).callbacks.append(self._start_serving)

    def _start_serving(self, ev) -> None:
        if ev._value != self._takeover_gen or not self.taken_over or not self.partner.up or self.primary.serving:
            return
        self.serving = True
        self.sim.note("takeover_serving")
        self.service_resumed()
        self.sim.fault_point("nvlog_mirror.takeover.serving")

    def serve(self, w) -> None:
        """`takeover_service`: the partner runs a client write alone (file-system work, its NVLog append)."""
        partner = self.partner
        env = self.env
        now = env.now
        start = max(partner.busy, now)
        partner.busy = done = start + self._cost + w.size * self._inv_nvbw
        w.lsn = lsn = self.primary.next_lsn  # the partner continues the log it replayed
        self.primary.next_lsn = lsn + 1
        self._pending[lsn] = w
        self.c_served.value += 1
        Timeout(env, done - now, (w, partner.epoch)).callbacks.append(self._done_cb)

    def _served(self, ev) -> None:
        w, epoch = ev._value
        if epoch != self.partner.epoch or self._pending.pop(w.lsn, None) is None:
            return  # the partner crashed meanwhile: the write failed (counted there)
        self.partner.nvlog.add(w.lsn)
        self._served_lsns.append(w.lsn)
        self.client.ack(w, True, self.env.now)

    def partner_crashed(self, kind: str) -> None:
        """The serving partner crashed: its writes in progress fail, nobody serves."""
        if self._pending:
            self.client.inflight -= len(self._pending)
            self.client.c_failed.value += len(self._pending)
            self._pending.clear()
        if self.serving:
            self.serving = False
            self.service_stopped()

    # --- giveback ----------------------------------------------------------------------------------
    def primary_back(self, resume) -> bool:
        """The primary restarted. Without a takeover it serves now (returns True); else the giveback
        follows (after `giveback_delay` if the partner serves) and `resume()` is called when it is done."""
        if not self.taken_over:
            return True
        self._takeover_gen += 1
        gen = self._takeover_gen
        if not self.serving:
            self._giveback_now(gen, resume)  # the partner was not serving yet (or crashed): hand back now
            return False
        Timeout(self.env, self.giveback_delay, (gen, resume)).callbacks.append(
            lambda ev: self._giveback_now(*ev._value))
        return False

    def _giveback_now(self, gen: int, resume) -> None:
        """The giveback: the partner stops serving and flushes every entry of the primary's aggregates
        that only its NVLog holds (the takeover period's writes, and the primary's entries it replayed
        that no completed CP wrote) to disk, then hands the aggregates back. A partner that is down
        holds the only copy: the giveback waits for its restart."""
        if gen != self._takeover_gen or not self.primary.up:
            return
        if not self.partner.up:
            self._waiting_giveback = (gen, resume)
            return
        self.serving = False
        self.service_stopped()  # the giveback's outage
        drain = max(self.partner.busy - self.env.now, 0.0)  # the writes it is serving still complete
        Timeout(self.env, drain, (gen, resume, self.partner.epoch)).callbacks.append(
            lambda e: self._giveback_flush(*e._value))

    def _giveback_flush(self, gen: int, resume, epoch: int) -> None:
        if gen != self._takeover_gen or not self.primary.up or epoch != self.partner.epoch:
            return  # interrupted by a crash (`resume_serving`, `partner_restarted`)
        if self._skip_sync:
            lsns = RangeSet()  # BROKEN on purpose: hand back at once; the partner's log is freed unflushed
        else:
            lsns = self.cps.unflushed_on_partner(self.partner.nvlog)
        self.c_gb_flushed.value += len(lsns)
        flush = len(lsns) * self._entry * self._inv_cpbw
        Timeout(self.env, flush, (gen, resume, lsns, epoch)).callbacks.append(
            lambda e: self._finish_giveback(*e._value))
        self.sim.fault_point("nvlog_mirror.giveback.flushing")

    def _finish_giveback(self, gen: int, resume, lsns: RangeSet, epoch: int) -> None:
        if gen != self._takeover_gen or not self.primary.up:
            return  # the primary crashed during the giveback: the partner still owns the aggregates
        if epoch != self.partner.epoch:
            return  # the partner crashed during its flush: the giveback is redone when it restarts
        self.cps.flushed_by_partner(lsns)  # on disk: the primary's aggregates are complete
        self.cps.given_back(self.primary.next_lsn)  # the primary discards its NVLog, the partner frees its own
        self.taken_over = False
        self._served_lsns = []
        self.c_givebacks.value += 1
        self.sim.note("giveback", flushed=len(lsns))
        self.oracle.check_giveback(self.primary.nvlog, self.partner.nvlog, self.env.now)
        resume()
        self.sim.fault_point("nvlog_mirror.giveback.done")

    def partner_restarted(self) -> None:
        """A partner that crashed while it owned the primary's aggregates is back: the giveback goes on."""
        if self.taken_over and self.primary.up and not self.primary.serving:
            self._takeover_gen += 1
            self._waiting_giveback = None
            gen, resume = self._takeover_gen, self._resume_cb
            self._giveback_now(gen, resume)
        elif self._waiting_giveback is not None:
            gen, resume = self._waiting_giveback
            self._waiting_giveback = None
            self._giveback_now(gen, resume)

    def resume_serving(self) -> None:
        """The primary crashed again during the giveback: the partner, which still owns its aggregates,
        serves again (ONTAP returns to takeover mode when a giveback is interrupted)."""
        if self.taken_over and self.partner.up and not self.serving and not self.primary.serving:
            self.serving = True
            self.sim.note("takeover_serving", reason="giveback interrupted")
            self.service_resumed()
