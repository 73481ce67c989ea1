"""Completion processing on the primary: the task that polls the mirroring queue pair's completion queue.

What it stands for: the file system's completion handler, scheduled on the same worker pool as
the write transactions when the completion queue goes from empty to non-empty (the interrupt). It
polls up to `cq_poll_batch` work completions, spends `completion_cost` on each, frees send-queue
slots for send completions (which grants waiting reservations and restarts their transactions, or
unblocks blocked posts) and takes the partner's acknowledgements (receive completions), which
complete the client writes. When every worker is held by a transaction waiting for a slot, this
task cannot run: the baseline's deadlock.
"""

from __future__ import annotations

from sim.components.cpu import RELEASE
from sim.components.rdma import QueuePair


class _CompletionTask:
    """The run-queue entry that makes a worker run the completion handler."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "completion_handler"


COMPLETIONS = _CompletionTask()


class CompletionHandler:
    """The completion handler of the primary (`completion_handler`) and the receive path of acknowledgements."""

    def __init__(self, system) -> None:
        p = system.params
        self.env = system.env
        self.primary = system.primary
        self.qp = system.qp
        self.client = system.client
        self.lag = system.lag
        self._cq_q = self.qp.cq._q
        self._cq_batch = p.cq_poll_batch
        self._cq_cost = p.completion_cost
        self.scheduled = False  # a completion-handler task is queued or running
        self.queued_since: float | None = None  # when the queued one was submitted (wait-for graph)
        self.ack_arrived_cb = self.ack_arrived
        self._leak_every = p.leak_slot_every  # BROKEN on purpose when > 0 (see params)
        self._early_ack = p.ack_on_transport_ack  # BROKEN on purpose when true (see params)
        self._freed = 0  # slots freed so far (counted only for the leak)
        self._loops = [self.completion_handler(), self.completion_handler()]
        self._turn = 0
        self._fp = system.sim.fault_point
        self._sim = system.sim  # (its `_point_hook` is tested before calling a fault point)
        # (no point after a batch: ~2 batches a write would cost more than the instant is worth;
        # its grants hit `reservation.granted`, its client acks `client.acked`)

    def completions_arrived(self) -> None:
        """The completion queue went non-empty: schedule the handler on the worker pool (once)."""
        if not self.scheduled and self.primary.up:
            self.scheduled = True
            self.queued_since = self.env._now
            self.primary.pool.submit(self._next_loop(), COMPLETIONS)

    def _next_loop(self):
        """The handler generator to submit: two alternate, because a run that submits the next one
        (completions still queued) is still finishing when the next may already start."""
        turn = self._turn
        self._turn = turn ^ 1
        return self._loops[turn]

    def completion_handler(self):
        """The handler thread's loop: each run (one task on the worker pool, ended by `yield RELEASE`)
        polls a batch of work completions, frees send-queue slots and takes partner acknowledgements."""
        qp = self.qp
        q = self._cq_q
        env = self.env
        send_kind = QueuePair.SEND
        client = self.client
        complete = qp.sq.complete
        record_lag = self.lag.record
        max_batch = self._cq_batch
        cost = self._cq_cost
        broken = self._leak_every or self._early_ack
        while True:
            self.queued_since = None
            if len(q) <= max_batch:  # poll (as CompletionQueue.poll): everything, or a batch
                batch = list(q)
                q.clear()
            else:
                batch = qp.cq.poll(max_batch)
            yield len(batch) * cost  # processing the batch (the worker resumes us then)
            now = env._now
            awaiting = self.primary.awaiting_ack
            for wc in batch:
                if wc[0] == send_kind:
                    if wc[3] == qp.epoch:  # (a flushed connection's slots are already free)
                        if broken:
                            self._broken_send_completion(wc, now)
                        else:
                            complete(wc[2])  # frees slots: waiting reservations are granted, transactions restart
                    continue
                # the partner's acknowledgement of a mirrored entry
                w = wc[1]
                if awaiting.pop(w.lsn, None) is None:
                    continue  # already settled (acknowledged in degraded mode at a partner crash)
                record_lag(now - w.t_appended)
                if not w.acked:
                    client.ack(w, False, now)
            if q:
                self.queued_since = now
                self.primary.pool.submit(self._next_loop(), COMPLETIONS)
            else:
                self.scheduled = False
            yield RELEASE  # the task ends; the next submit of this generator runs the loop again

    def _broken_send_completion(self, wc, now: float) -> None:
        """A send completion in a deliberately broken variant (`leak_slot_every`, `ack_on_transport_ack`)."""
        n = wc[2]
        if self._leak_every:
            n = self._leaky(n)
        self.qp.sq.complete(n)
        if self._early_ack:
            self._ack_on_send_completion(wc[1], now)

    def _ack_on_send_completion(self, w, now: float) -> None:
        """BROKEN on purpose (`ack_on_transport_ack`): the transport ACK says the partner's NIC has the
        message, not that the partner's apply made it durable; the client is told it is mirrored."""
        if w is not None and not w.acked and w.epoch == self.primary.epoch and w.lsn in self.primary.awaiting_ack:
            self.client.ack(w, False, now)

    def _leaky(self, n: int) -> int:
        """BROKEN on purpose (`leak_slot_every`): of every `leak_slot_every` slots freed, one is not."""
        self._freed += n
        if self._freed >= self._leak_every:
            self._freed -= self._leak_every
            return n - 1  # the leaked slot stays "posted" for ever (until the connection is flushed)
        return n

    def ack_arrived(self, w) -> None:
        """The partner's acknowledgement reached the primary's NIC: a receive completion."""
        primary = self.primary
        if w.epoch != primary.epoch or not primary.up:
            return
        if self._sim._point_hook is not None:
            self._fp("nvlog_mirror.primary.ack_arrived")
        q = self._cq_q
        q.append((QueuePair.RECV, w, 0, 0))  # a receive completion (CompletionQueue.push, inlined)
        if len(q) == 1:
            self.completions_arrived()

    def reset(self) -> None:
        """The primary crashed: the handler's task is gone with the worker pool."""
        self.scheduled = False
        self.queued_since = None
        self._loops = [self.completion_handler(), self.completion_handler()]  # (the pool closed the old ones)
        self._turn = 0
