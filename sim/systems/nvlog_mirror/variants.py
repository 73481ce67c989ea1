"""The mechanism and its baselines as small strategies of the write transaction, chosen from tables.

How a transaction gets its send-queue slots (`SLOTS`, by `params.reservation`):
- `ReservedSlots` (the mechanism, `reservation: true`): reserve `slots_per_write` slots in the
  suspendable phase; if they are short, suspend (give the worker back) and be restarted when
  completions free them (the send queue grants reservations FIFO). The modify phase then posts on
  the reservation and never blocks. A transaction that began while the partner was down holds no
  reservation; if the partner is back by its modify phase it may not block for slots, so it is
  acknowledged degraded and resynced, and a reservation it no longer needs is released (the
  API's abort path).
- `BlockingPost` (the baseline, `reservation: false`): nothing in the suspendable phase; the modify
  phase posts with the plain verbs behaviour, waiting **holding its worker** when the queue is
  full: the baseline's deadlock.

When the client is told its write is done (`ACKS`, by `params.ack_before_mirror`):
- `AckAfterMirror` (correct): when the partner's acknowledgement has been processed.
- `AckBeforeMirror` (deliberately broken, for fault campaigns): right after the local append,
  before the partner has the entry; a primary crash then loses acknowledged writes.
"""

from __future__ import annotations

from sim.components.rdma import Reservation


class ReservedSlots:
    """The send-queue slot reservation: slots are set aside in the suspendable phase."""

    def __init__(self, txn, system) -> None:
        self.txn = txn
        self.env = system.env
        self.primary = system.primary
        self.qp = system.qp
        self.spw = txn.spw
        self.suspend_time = system.suspend_time
        self.c_susp = system.c_susp
        self.c_aborts = system.c_aborts
        self.sq = system.qp.sq
        self._restart_cb = None if system.params.post_without_reservation else self.restart
        self._fp = system.sim.fault_point
        self._sim = system.sim  # (its `_point_hook` is tested before calling a fault point)

    def suspendable_phase(self, w) -> bool:
        """Reserve the write's slots; False: suspended until they are granted."""
        if w.suspended_since is not None:  # restarted after a suspension
            self.suspend_time.record(self.env._now - w.suspended_since)
            w.suspended_since = None
        if w.mirror and w.res is None:
            res = self.qp.reserve(self.spw, self._restart_cb, w)
            if res is None:
                if self._restart_cb is None:
                    # BROKEN on purpose (`post_without_reservation`): carry on as if the slots were granted
                    w.res = Reservation(self.spw)
                    return True
                # suspend: give the worker back; `restart` requeues us with the granted slots
                w.suspended_since = self.env._now
                self.c_susp.value += 1
                return False
            w.res = res
            if self._sim._point_hook is not None:
                self._fp("nvlog_mirror.reservation.granted")
        return True

    def restart(self, w, res) -> None:
        """Slots were granted to a suspended transaction: restart it (run-queue tail)."""
        if w.epoch != self.primary.epoch:
            self.qp.release(res)
            self._fp("nvlog_mirror.reservation.released")
            return
        w.res = res
        self._fp("nvlog_mirror.reservation.granted")
        self.primary.pool.submit(self.txn.write_transaction(w), w)

    def can_mirror(self, w) -> bool:
        return w.res is not None

    def abandon(self, w) -> None:
        """The write goes degraded: hand back an unused reservation (the abort path)."""
        if w.res is not None:
            self.qp.release(w.res)
            self.c_aborts.value += 1
            w.res = None
            self._fp("nvlog_mirror.reservation.released")

    def post(self, w, nbytes: float) -> None:
        """Post on the reservation: never blocks."""
        res = w.res
        w.res = None
        self.qp.send(res, nbytes, self.txn.apply_cb, w, w)


class BlockingPost:
    """The baseline: no reservation; the modify phase's post waits for room holding its worker."""

    def __init__(self, txn, system) -> None:
        self.txn = txn
        self.qp = system.qp
        self.spw = txn.spw

    def suspendable_phase(self, w) -> bool:
        return True

    def can_mirror(self, w) -> bool:
        return True

    def abandon(self, w) -> None:
        return None

    def post(self, w, nbytes: float):
        """Take the slots: None if posted at once (transmitted), else the event of getting them."""
        ev = self.qp.post(self.spw)
        if ev is None:
            self.transmit(w, nbytes)
        return ev

    def transmit(self, w, nbytes: float) -> None:
        self.qp.transmit(self.spw, nbytes, self.txn.apply_cb, w, w)


class AckAfterMirror:
    """Correct: the write completes when the partner's acknowledgement has been processed."""

    acts_on_append = False  # `appended` does nothing: the transaction skips the call

    def __init__(self, txn) -> None:
        self.txn = txn

    def appended(self, w, now: float) -> None:
        return None


class AckBeforeMirror:
    """BROKEN on purpose: the write completes after the local append, before the partner has it."""

    acts_on_append = True

    def __init__(self, txn) -> None:
        self.txn = txn

    def appended(self, w, now: float) -> None:
        self.txn.client.ack(w, False, now)  # the bug: the partner may not have it yet


#: how a transaction gets its send-queue slots, by `params.reservation`
SLOTS = {True: ReservedSlots, False: BlockingPost}
#: when a write is acknowledged, by `params.ack_before_mirror`
ACKS = {False: AckAfterMirror, True: AckBeforeMirror}
