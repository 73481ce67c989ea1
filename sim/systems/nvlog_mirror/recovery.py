"""Takeover, degraded mode, restart recovery and resync of the pair (what happens around node faults).

- primary crash (`primary_crashed`): the partner takes over with its NVLog — the oracle checks
  that every write acknowledged in mirrored mode is there; the queue pair and the completion
  queue are lost with the primary's volatile state; writes in progress fail.
- primary restart (`restart_recovery`, after `primary_recovery_time`): the primary serves again,
  reconnects to the partner if it is up (else runs degraded) and resyncs.
- partner crash (`partner_crashed`): the primary notices at once (heartbeat detection time
  abstracted away), flushes the queue pair and runs degraded: entries awaiting the partner's
  acknowledgement are acknowledged now (durable locally) and queued for the resync.
- partner restart (`partner_restarted`): the primary reconnects and resyncs.
- `resync`: the log entries the partner may lack, sent as one bulk transfer on the interconnect;
  repeated until none is left (entries lost in a new partner crash are sent again).
"""

from __future__ import annotations

from sim.check.rangeset import RangeSet


class PairRecovery:
    """The primary's reactions to crashes and restarts of either node, and the resync actor."""

    def __init__(self, system) -> None:
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
        self._entry_bytes = system.workload.size.expected() + system.params.mirror_header
        self.resync_in_flight = False
        self._resync_arrived_cb = self._resync_arrived
        self.primary.on_crash.append(self.primary_crashed)
        self.primary.on_restart.append(self.restart_recovery)
        self.partner.on_crash.append(self.partner_crashed)
        self.partner.on_restart.append(self.partner_restarted)

    # --- the primary -----------------------------------------------------------------------------
    def primary_crashed(self, kind: str) -> None:
        """Takeover by the partner; the primary's connection state and writes in progress are lost."""
        self.sim.note("primary_crash", kind=kind)
        self.oracle.check_takeover(self.partner.nvlog, self.env.now, kind)
        self.sim.fault_point("nvlog_mirror.takeover.checked")
        self.completions.reset()
        self.qp.reset()
        self.c_failed.value += self.client.inflight
        self.client.inflight = 0

    def restart_recovery(self) -> None:
        """The primary is back (NVLog replayed, giveback done): serve, reconnect, resync."""
        primary = self.primary
        if self.partner.up:
            primary.mirroring = True
            self.qp.connect()
        else:
            primary.mirroring = False
            self.qp.disconnect()
        self.sim.note("primary_restarted")
        self.sim.fault_point("nvlog_mirror.primary.restarted")
        self.resync()

    # --- the partner -----------------------------------------------------------------------------
    def partner_crashed(self, kind: str) -> None:
        """The partner is gone: the primary runs degraded (if it is up itself)."""
        self.sim.note("partner_crash", kind=kind)
        primary = self.primary
        if not primary.up:
            return
        primary.mirroring = False
        # entries waiting for the partner's acknowledgement: acknowledged now, durable locally
        awaiting = primary.awaiting_ack
        pending = [awaiting[k] for k in sorted(awaiting)]
        awaiting.clear()
        for w in pending:
            primary.unmirrored.append(w.lsn)
            if not w.acked:
                self.client.ack(w, True, self.env.now)
        self.qp.disconnect()  # flushes posted sends; waiting reservations are granted and restart
        self.sim.fault_point("nvlog_mirror.degraded.entered")

    def partner_restarted(self) -> None:
        self.sim.note("partner_restarted")
        primary = self.primary
        if primary.up:
            primary.mirroring = True
            self.qp.connect()
            self.resync()

    # --- resync ----------------------------------------------------------------------------------
    def resync(self) -> None:
        """Send the partner the log entries it may lack, as one bulk transfer; repeat until none."""
        primary = self.primary
        if self.resync_in_flight or not primary.unmirrored or not (primary.up and self.partner.up):
            return
        batch = RangeSet()
        for lsn in sorted(primary.unmirrored):
            batch.add(lsn)
        primary.unmirrored = []
        self.resync_in_flight = True
        nbytes = len(batch) * self._entry_bytes
        self.link.transfer(0, nbytes, self._resync_arrived_cb, (batch, self.partner.epoch, primary.epoch))
        self.sim.fault_point("nvlog_mirror.resync.started")

    def _resync_arrived(self, msg) -> None:
        batch, pepoch, _epoch = msg
        self.resync_in_flight = False
        partner = self.partner
        if pepoch != partner.epoch or not partner.up:
            self.primary.unmirrored.extend(batch)  # partner crashed again meanwhile: try later
            return
        partner.nvlog.update(batch)
        self.c_resync.value += len(batch)
        self.sim.note("resync_done", entries=len(batch))
        self.sim.fault_point("nvlog_mirror.resync.done")
        self.resync()
