"""The write transaction: one client write run by the primary's file system on its worker pool.

What it stands for: a file-system write transaction in two phases.
- suspendable phase: the transaction may wait by suspending (it gives its worker back and is
  restarted later, at the run queue's tail). What it does here is the variant's (`variants`): the
  reservation sets aside its send-queue slots, suspending when they are short.
- modify phase: it may not suspend and keeps its worker until it ends: log space in the active
  NVLog half (waiting, holding the worker, when both halves are full: `consistency_point`),
  `txn_cpu_cost` of file-system work, the NVLog append (FIFO on the NVLog's bandwidth), then the mirror transfer to
  the partner (posted the variant's way). While the partner is down the write is acknowledged
  after the local append (degraded) and its entry left for the resync.
When the client is told the write is done is the acknowledgement policy's (`variants`).
"""

from __future__ import annotations


class Write:
    """One client write and its transaction state."""

    __slots__ = ("seq", "size", "t_arrival", "t_appended", "lsn", "res", "blocked_since",
                 "suspended_since", "epoch", "mirror", "acked")

    def __init__(self, seq: int, size: float, now: float, epoch: int) -> None:
        self.seq = seq
        self.size = size
        self.t_arrival = now
        self.t_appended = -1.0
        self.lsn = -1
        self.res = None  # send-queue slots reserved for it (the reservation variant)
        self.blocked_since: float | None = None  # waiting for slots while holding its worker (baseline)
        self.suspended_since: float | None = None
        self.epoch = epoch  # the primary's incarnation it arrived in
        self.mirror = True
        self.acked = False


class WriteTransaction:
    """The `write_transaction` actor; `slots` and `acks` are the variant's strategies."""

    def __init__(self, system, slots_cls, acks_cls) -> None:
        p = system.params
        self.env = system.env
        self.primary = system.primary
        self.client = system.client
        self.qp = system.qp
        self.spw = p.slots_per_write
        self.apply_cb = system.partner.apply_cb
        self.c_blocked = system.c_blocked
        self._cpu = p.txn_cpu_cost
        self._inv_nvbw = 1.0 / p.nvlog_bandwidth
        self._nv_lat = p.nvlog_append_latency
        self._hdr = p.mirror_header
        self.slots = slots_cls(self, system)
        self.acks = acks_cls(self)
        self.resync = None  # the resync actor (set by the model)
        self.cps = None  # the NVLog halves and consistency points (set by the model)
        self._fp = system.sim.fault_point
        self._sim = system.sim  # (its `_point_hook` is tested before calling a fault point)
        self._on_append = self.acks.appended if self.acks.acts_on_append else None

    def write_transaction(self, w: Write):
        """A write transaction: suspendable phase (the variant's), then modify phase (append, mirror)."""
        env = self.env
        primary = self.primary
        slots = self.slots
        # ---- suspendable phase
        w.mirror = primary.mirroring
        if not slots.suspendable_phase(w):
            return  # suspended: the worker is given back; the variant restarts the transaction
        # ---- modify phase: no suspension from here on; the worker is held until the end
        cps = self.cps  # log space in the active NVLog half (ConsistencyPoints.room, inlined)
        need = w.size + self._hdr
        if cps.fill + need <= cps.half_bytes and not cps.waiters:
            cps.fill += need
        else:
            ev = cps.room(need)
            if ev is not None:
                yield ev  # both halves full: wait for the running consistency point (back-pressure)
        now = env._now
        start = now + self._cpu  # file-system work, then the append on the NVLog's bandwidth (FIFO)
        busy = primary.nvlog_busy
        if busy > start:
            start = busy
        primary.nvlog_busy = end = start + w.size * self._inv_nvbw
        w.lsn = lsn = primary.next_lsn
        primary.next_lsn = lsn + 1
        yield end + self._nv_lat - now  # the work and the append (the worker resumes us then)
        primary.nvlog.add(lsn)  # durable in the local NVLog
        w.t_appended = now = env._now
        sim = self._sim
        fp = self._fp
        if sim._point_hook is not None:
            fp("nvlog_mirror.txn.appended")
        if not primary.mirroring or not slots.can_mirror(w):
            # degraded: the partner is down (or came back while this transaction, begun without its
            # slots, ran: it may not block for them now); the entry goes to the partner with the
            # next resync
            slots.abandon(w)
            primary.unmirrored.append(lsn)
            self.resync.in_sync = False  # the HA state records it before the client is told
            self.client.ack(w, True, env.now)
            fp("nvlog_mirror.txn.degraded_ack")
            if primary.mirroring:
                self.resync.resync()
            return
        nbytes = w.size + self._hdr
        primary.awaiting_ack[lsn] = w
        if self._on_append is not None:
            self._on_append(w, now)
        ev = slots.post(w, nbytes)
        if sim._point_hook is not None:
            fp("nvlog_mirror.txn.mirror_posted")
        if ev is not None:
            # the send queue is full: wait for a slot while holding the worker (the baseline)
            w.blocked_since = env._now
            self.c_blocked.value += 1
            yield ev
            w.blocked_since = None
            slots.transmit(w, nbytes)
            fp("nvlog_mirror.txn.mirror_posted")
