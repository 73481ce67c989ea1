"""The HA partner: applies mirrored log entries to its own NVLog and acknowledges them.

A `Host` (fault target `partner`, kinds `crash` and `power_loss`, which nest): a crash loses the
entries it received and has not yet made durable, and keeps its NVLog. It restarts at once when
the last fault heals (its boot time is abstracted away); the primary then resyncs it
(`recovery`). Resync batches go through the same apply thread (`apply_batch`): a resync costs the
partner `partner_apply_cost` per entry and its NVLog bandwidth, like the mirrored entries.

Its apply thread is a second fault target, `partner_apply` (`ApplyThreadFaults`): `throttle`
(the thread runs at `factor` of its speed: CPU contention, a slow NVRAM) and `outage` (it applies
nothing for `duration`: a stalled thread; what arrives meanwhile waits in its receive queue).
Its own send queue and CPU contention beyond one apply thread are abstracted away.
"""

from __future__ import annotations

from typing import Any

from simpy.events import Timeout

from sim.check.rangeset import RangeSet
from sim.components.host import Host
from sim.core.environment import call_later
from sim.core.fault_target import FaultTarget, fault_param


class PartnerNode(Host):
    """The partner's NVLog and its apply thread (`partner_apply`)."""

    def __init__(self, sim, params: Any, link, ack_arrived) -> None:
        super().__init__(sim, params, "partner", restart_time=0.0)
        self.nvlog = RangeSet()  # durable: the LSNs in the partner's NVLog
        self.epoch = 0  # incarnation: entries being applied at a crash are lost
        self.busy = 0.0  # the apply thread is busy until this time
        self.link = link
        self._base_cost = params.partner_apply_cost + params.nvlog_append_latency
        self._base_inv_nvbw = 1.0 / params.nvlog_bandwidth
        self._apply_cost = self._base_cost
        self._inv_nvbw = self._base_inv_nvbw
        self._ack_bytes = params.rdma_ack_bytes
        self._ack_arrived = ack_arrived  # the acknowledgement's arrival at the primary's NIC
        self._applied_cb = self._applied
        self._batch_applied_cb = self._batch_applied
        self.apply_cb = self.partner_apply
        self.rx_buffers = params.partner_receive_buffers
        self.rx_free = self.rx_buffers  # receive credits: buffers free for mirrored entries
        self.stalled = False  # the apply thread applies nothing (an `outage` of `partner_apply`)
        self.out_of_sync = False  # restarted, its resync not landed yet (set by `recovery`)
        self._deferred: list = []  # entries and batches that arrived while it was stalled, in order
        self.apply_faults = ApplyThreadFaults(self)
        self._fp = sim.fault_point
        self._sim = sim

    def partner_apply(self, w) -> None:
        """A mirrored entry reached the partner: its apply thread writes it to the partner's NVLog, then
        acknowledges it. The apply thread is a FIFO single server; its finishing time is computed
        on arrival (Lindley's recursion), so an entry costs one event, not a process wake-up."""
        if not self.up:
            return  # a crashed partner receives nothing
        self.rx_free -= 1  # a receive buffer holds it until it is durable (the queue pair checked one is free)
        if self.stalled:
            self._deferred.append((w, None))
            return
        env = self.env
        now = env._now
        start = self.busy
        if now > start:
            start = now
        self.busy = done = start + self._apply_cost + w.size * self._inv_nvbw
        call_later(env, done - now, self._applied_cb, (w, self.epoch))
        if self._sim._point_hook is not None:  # (a call per write saved when no fault point is armed)
            self._fp("nvlog_mirror.partner.received")
            if self.out_of_sync:  # one hit per entry mirrored in the window: a swarm's drawn hit lands in it
                self._fp("nvlog_mirror.partner.received_out_of_sync")

    def _applied(self, ev) -> None:
        w, epoch = ev._value
        if epoch != self.epoch:
            return  # the partner crashed before the entry was durable: lost with its volatile state
        self.rx_free += 1  # the receive buffer is reposted
        self.nvlog.add(w.lsn)
        self.link.transfer(1, self._ack_bytes, self._ack_arrived, w)
        if self._sim._point_hook is not None:
            self._fp("nvlog_mirror.partner.applied")

    def apply_batch(self, batch: RangeSet, nbytes: float, done_cb, ctx) -> None:
        """A resync batch reached the partner: applied on the same thread (`len(batch)` entries of
        apply cost plus `nbytes` on the NVLog), then `done_cb(ctx)` is told (the resync's ack)."""
        if not self.up:
            return
        if self.stalled:
            self._deferred.append((batch, (nbytes, done_cb, ctx)))
            return
        now = self.env.now
        start = max(self.busy, now)
        self.busy = done = start + len(batch) * self._apply_cost + nbytes * self._inv_nvbw
        Timeout(self.env, done - now, (batch, done_cb, ctx, self.epoch)).callbacks.append(self._batch_applied_cb)

    def _batch_applied(self, ev) -> None:
        batch, done_cb, ctx, epoch = ev._value
        if epoch != self.epoch:
            return
        self.nvlog.update(batch)
        self.link.transfer(1, self._ack_bytes, done_cb, ctx)

    def resume(self) -> None:
        """The stall ended: what waited in the receive queue is applied in arrival order."""
        self.stalled = False
        deferred, self._deferred = self._deferred, []
        for item, batch in deferred:
            if batch is None:
                self.rx_free += 1  # (taken again below)
                self.partner_apply(item)
            else:
                self.apply_batch(item, *batch)

    def _lose_volatile(self, reason: str) -> None:
        self.epoch += 1
        self.busy = self.env.now
        self._deferred.clear()
        self.rx_free = self.rx_buffers  # reposted when it restarts


class ApplyThreadFaults(FaultTarget):
    """Fault target `partner_apply`: the partner's apply thread slowed (`throttle`) or stalled (`outage`)."""

    fault_kinds = ("throttle", "outage")

    def __init__(self, partner: PartnerNode) -> None:
        self.partner = partner
        self.name = "partner_apply"

    def _inject_throttle(self, fault) -> None:
        f = float(fault_param(fault, "factor", 0.1))
        if not 0 < f <= 1:
            raise ValueError("throttle factor must be in (0, 1]")
        p = self.partner
        p._apply_cost = p._base_cost / f
        p._inv_nvbw = p._base_inv_nvbw / f

    def _heal_throttle(self, fault) -> None:
        p = self.partner
        p._apply_cost = p._base_cost
        p._inv_nvbw = p._base_inv_nvbw

    def _inject_outage(self, fault) -> None:
        self.partner.stalled = True

    def _heal_outage(self, fault) -> None:
        self.partner.resume()
