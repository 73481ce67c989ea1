"""Takeover, degraded mode, restart recovery, resync and the pair's HA state (what happens around node faults).

HA state `in_sync`: the partner's NVLog holds every entry of the primary's log that a client was
told is done. It is true at the start; it turns false before the first write is acknowledged
degraded (the primary records it, as ONTAP records it in its mailbox disks, before going on
alone); it turns true again only when a resync batch has been applied by the partner (its apply
thread and NVLog bandwidth, `PartnerNode.apply_batch`), its acknowledgement is back at the
primary and no entry is left to resync. Reconnecting alone does not restore it.

- primary crash (`primary_crashed`): the queue pair and the completion queue are lost with the
  primary's volatile state; writes in progress fail. The partner notices after the heartbeat
  detection delay (`failure_detector`) and tries to take over (`takeover`): refused when the pair
  is out of sync (`takeover_out_of_sync: refuse`, the outage lasts until the primary is back), or
  forced (`force`: every acknowledged write the partner lacks is lost, and counted). A takeover in
  sync is checked by the oracle: every acknowledged write is on the partner.
- primary restart (`restart_recovery`): the primary serves again, reconnects to the partner if it
  is up (else runs degraded) and resyncs; a consistency point its crash interrupted is flushed
  again from its replayed NVLog. After a takeover it serves only once the giveback is done.
- partner crash (`partner_crashed`): the oracle checks at once that every write acknowledged as
  mirrored is durable on the partner; the primary notices after the detection delay (or at the
  partner's reconnect, if that comes first) and runs degraded (`enter_degraded`): entries
  awaiting the partner's acknowledgement are acknowledged now (durable locally), queued for the
  resync; the queue pair is flushed.
- partner restart (`partner_restarted`): the primary reconnects and resyncs; until the resync has
  landed the pair is out of sync (a primary crash now meets the takeover's out-of-sync rule).
- `resync`: the log entries the partner may lack, one bulk transfer at a time, until none is left.
"""

from __future__ import annotations

from sim.check.rangeset import RangeSet
from sim.systems.nvlog_mirror.failure_detector import FailureDetector


class PairRecovery:
    """The pair's reactions to crashes and restarts of either node, its HA state and the resync actor."""

    def __init__(self, system) -> None:
        p = system.params
        rec = system.sim.recorder
        self.sim = system.sim
        self.env = system.env
        self.primary = system.primary
        self.partner = system.partner
        self.qp = system.qp
        self.link = system.link
        self.client = system.client
        self.completions = system.completions
        self.oracle = system.oracle
        self.c_failed = system.c_failed
        self.c_resync = system.c_resync
        self.c_takeovers = rec.counter("takeovers")
        self.c_refused = rec.counter("takeovers_refused")
        self.c_impossible = rec.counter("takeovers_impossible")
        self.detector = FailureDetector(system.sim, p)
        self.service = system.service
        self._entry_bytes = system.workload.size.expected() + p.mirror_header
        self._force = p.takeover_out_of_sync == "force"
        self._sync_on_reconnect = p.in_sync_on_reconnect  # BROKEN on purpose when true
        self.in_sync = True
        self.partner_known_down = False  # the primary has noticed the partner's crash
        self.resync_in_flight = False
        self._resync_batch: RangeSet | None = None
        self._resync_gen = 0
        self._primary_crash_at = -1.0
        self._resync_arrived_cb = self._resync_arrived
        self._resync_acked_cb = self._resync_acked
        self.cps = None  # the consistency points (set by the model)
        self.service._resume_cb = self._after_giveback
        self.primary.on_crash.append(self.primary_crashed)
        self.primary.on_restart.append(self.restart_recovery)
        self.partner.on_crash.append(self.partner_crashed)
        self.partner.on_restart.append(self.partner_restarted)

    # --- the primary -----------------------------------------------------------------------------
    def primary_crashed(self, kind: str) -> None:
        """The primary's connection state and writes in progress are lost; the partner will notice."""
        self.sim.note("primary_crash", kind=kind)
        self.oracle.check_primary_crash(self.primary.nvlog, self.partner.nvlog, self.env.now, kind)
        if not self.service.serving:
            self.service.service_stopped()
        self.completions.reset()
        self.qp.reset()
        self.c_failed.value += self.client.inflight
        self.client.inflight = 0
        self._primary_crash_at = self.env.now
        self._requeue_resync()
        self.detector.notice(self._partner_notices, self.primary.crashes, kind)

    def _partner_notices(self, crash: int, kind: str) -> None:
        if self.primary.up or self.primary.crashes != crash:
            return  # the primary was back before its heartbeats were missed
        self.takeover(kind)

    def takeover(self, kind: str) -> None:
        """The partner takes over with its NVLog, if it can: up, and in sync (or the takeover forced)."""
        now = self.env.now
        if self.service.taken_over:
            self.service.resume_serving()  # crashed again during the giveback: the partner still owns it all
            return
        if not self.partner.up:
            self.c_impossible.value += 1
            self.sim.note("takeover_impossible", reason="partner down")
            return
        if not self.in_sync:
            if not self._force:
                self.c_refused.value += 1
                self.sim.note("takeover_refused", reason="partner's NVLog out of sync")
                return
            lost = self.oracle.forced_takeover(self.partner.nvlog, now)
            self.sim.note("takeover_forced", lost_acknowledged_writes=lost)
        else:
            self.oracle.check_takeover(self.partner.nvlog, now, kind)
        self.c_takeovers.value += 1
        self.sim.note("takeover", kind=kind)
        self.service.took_over()
        self.sim.fault_point("nvlog_mirror.takeover.checked")

    def restart_recovery(self) -> None:
        """The primary is back (NVLog replayed): it serves now, or after the giveback if it was taken over."""
        if self.service.primary_back(self._after_giveback):
            self._resume()
            self.cps.primary_restarted()  # its NVLog replayed: a CP a crash interrupted is flushed again

    def _after_giveback(self) -> None:
        # a node that was taken over discards its NVLog's unreplayed entries (never acknowledged:
        # they failed); the partner's takeover entries are on disk: the pair is in sync
        self.primary.unmirrored = []
        self._resume()
        if self.primary.mirroring and not self.in_sync:
            self._mark_in_sync()

    def _resume(self) -> None:
        """Serve, reconnect, resync."""
        primary = self.primary
        primary.serving = True
        self.service.service_resumed()
        self.partner_known_down = not self.partner.up
        if self.partner.up:
            primary.mirroring = True
            self.qp.connect()
        else:
            primary.mirroring = False
            self.qp.disconnect()
        if primary.unmirrored:
            self.in_sync = False  # entries appended before the crash may be missing on the partner
        self.sim.note("primary_restarted")
        self.sim.fault_point("nvlog_mirror.primary.restarted")
        self.resync()

    # --- the partner -----------------------------------------------------------------------------
    def partner_crashed(self, kind: str) -> None:
        """The partner is gone: checked now; the primary notices after the detection delay."""
        self.sim.note("partner_crash", kind=kind)
        self.partner.out_of_sync = False
        self.oracle.check_partner_crash(self.partner.nvlog, self.env.now, kind)
        self.detector.notice(self._primary_notices, self.partner.crashes)

    def _primary_notices(self, crash: int) -> None:
        if self.partner.crashes != crash or self.partner.up or self.partner_known_down:
            return  # noticed already (its reconnect came first)
        self.enter_degraded()

    def enter_degraded(self) -> None:
        """The primary knows the partner is gone: it runs degraded (if it is up itself)."""
        self.partner_known_down = True
        primary = self.primary
        if not primary.up:
            return
        primary.mirroring = False
        self.in_sync = False  # before the first degraded acknowledgement below
        self._requeue_resync()
        awaiting = primary.awaiting_ack
        pending = [awaiting[k] for k in sorted(awaiting)]
        awaiting.clear()
        now = self.env.now
        for w in pending:
            primary.unmirrored.append(w.lsn)
            if not w.acked:
                self.client.ack(w, True, now)
        self.qp.disconnect()  # flushes posted sends; waiting reservations are granted and restart
        self.sim.note("degraded")
        self.sim.fault_point("nvlog_mirror.degraded.entered")

    def partner_restarted(self) -> None:
        self.sim.note("partner_restarted")
        if not self.partner_known_down:
            self.enter_degraded()  # rebooted before its heartbeats were missed: the reconnect tells the primary
        self.partner_known_down = False
        primary = self.primary
        if primary.up:
            primary.mirroring = True
            self.qp.connect()
            if self._sync_on_reconnect:
                self._mark_in_sync()  # BROKEN on purpose: the partner still lacks the degraded writes
            self.partner.out_of_sync = not self.in_sync
            self.resync()
            self.sim.fault_point("nvlog_mirror.partner.restarted")

    # --- resync ----------------------------------------------------------------------------------
    def resync(self) -> None:
        """Send the partner the log entries it may lack, as one bulk transfer; repeat until none."""
        primary = self.primary
        if self.resync_in_flight or not primary.unmirrored or not (primary.up and self.partner.up) \
                or self.partner_known_down:
            return
        batch = RangeSet()
        for lsn in sorted(primary.unmirrored):
            batch.add(lsn)
        primary.unmirrored = []
        self.resync_in_flight = True
        self._resync_batch = batch
        self._resync_gen += 1
        nbytes = len(batch) * self._entry_bytes
        self.link.transfer(0, nbytes, self._resync_arrived_cb,
                           (batch, self.partner.epoch, self._resync_gen, nbytes, self.env.now))
        self.sim.fault_point("nvlog_mirror.resync.started")

    def _resync_arrived(self, msg) -> None:
        """The batch reached the partner: its apply thread writes it to the partner's NVLog."""
        batch, pepoch, _gen, nbytes, sent_at = msg
        partner = self.partner
        if self.env.now - self.link.latency > self._primary_crash_at >= sent_at:
            return  # the primary crashed while its NIC was still sending the batch: truncated, lost
        if pepoch == partner.epoch and partner.up:
            partner.apply_batch(batch, nbytes, self._resync_acked_cb, msg)
        # else: lost with the partner; re-queued when the primary notices (`_requeue_resync`)

    def _resync_acked(self, msg) -> None:
        """The partner's acknowledgement of a resync batch reached the primary."""
        batch, _pepoch, gen, _nbytes, _sent_at = msg
        if gen != self._resync_gen or not self.resync_in_flight or not self.primary.up:
            return  # a batch of before a crash: re-queued and sent again
        self.resync_in_flight = False
        self._resync_batch = None
        self.c_resync.value += len(batch)
        self.sim.note("resync_done", entries=len(batch))
        if not self.primary.unmirrored and self.primary.mirroring and not self.in_sync:
            self._mark_in_sync()
        self.sim.fault_point("nvlog_mirror.resync.done")
        self.resync()

    def _mark_in_sync(self) -> None:
        """The HA state turns in sync: the oracle checks, at this instant, that it is true."""
        self.in_sync = True
        self.partner.out_of_sync = False
        self.sim.note("in_sync")
        self.oracle.check_in_sync(self.partner.nvlog, self.env.now)

    def _requeue_resync(self) -> None:
        """A batch in flight may be lost (a crash of either node): send it again later."""
        if self.resync_in_flight:
            self.primary.unmirrored.extend(self._resync_batch)
            self.resync_in_flight = False
            self._resync_batch = None
