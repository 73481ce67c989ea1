"""The HA partner: applies mirrored log entries to its own NVLog and acknowledges them.

A `Host` (fault target `partner`, kinds `crash` and `power_loss`, which nest): a crash loses the
entries it received and has not yet made durable, and keeps its NVLog. It restarts at once when
the last fault heals (its boot time is abstracted away); the primary then resyncs it
(`recovery`). Its own send queue and CPU contention beyond one apply thread are abstracted away.
"""

from __future__ import annotations

from typing import Any

from simpy.events import Timeout

from sim.check.rangeset import RangeSet
from sim.components.host import Host


class PartnerNode(Host):
    """The partner's NVLog and its apply thread (`partner_apply`)."""

    def __init__(self, sim, params: Any, link, ack_arrived) -> None:
        super().__init__(sim, params, "partner", restart_time=0.0)
        self.nvlog = RangeSet()  # durable: the LSNs in the partner's NVLog
        self.epoch = 0  # incarnation: entries being applied at a crash are lost
        self.busy = 0.0  # the apply thread is busy until this time
        self.link = link
        self._apply_cost = params.partner_apply_cost + params.nvlog_append_latency
        self._inv_nvbw = 1.0 / params.nvlog_bandwidth
        self._ack_bytes = params.rdma_ack_bytes
        self._ack_arrived = ack_arrived  # the acknowledgement's arrival at the primary's NIC
        self._applied_cb = self._applied
        self.apply_cb = self.partner_apply
        self._fp = sim.fault_point

    def partner_apply(self, w) -> None:
        """A mirrored entry reached the partner: its apply thread writes it to the partner's NVLog, then
        acknowledges it. The apply thread is a FIFO single server; its finishing time is computed
        on arrival (Lindley's recursion), so an entry costs one event, not a process wake-up."""
        if not self.up:
            return  # a crashed partner receives nothing
        env = self.env
        now = env._now
        start = self.busy
        if now > start:
            start = now
        self.busy = done = start + self._apply_cost + w.size * self._inv_nvbw
        Timeout(env, done - now, (w, self.epoch)).callbacks.append(self._applied_cb)
        self._fp("nvlog_mirror.partner.received")

    def _applied(self, ev) -> None:
        w, epoch = ev._value
        if epoch != self.epoch:
            return  # the partner crashed before the entry was durable: lost with its volatile state
        self.nvlog.add(w.lsn)
        self.link.transfer(1, self._ack_bytes, self._ack_arrived, w)
        self._fp("nvlog_mirror.partner.applied")

    def _lose_volatile(self, reason: str) -> None:
        self.epoch += 1
        self.busy = self.env.now
