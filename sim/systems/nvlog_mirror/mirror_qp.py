"""The mirroring queue pair: `sim.components.rdma.QueuePair` whose far end is the partner node.

Two differences from the component, both about node crashes (the component, used without a
model of the nodes, always delivers and acknowledges):
- the partner NIC answers only while the partner is up: a send that reaches a crashed partner is
  neither delivered nor acknowledged by the transport, so its send-queue slots stay posted until
  the primary notices the failure (after the heartbeat detection delay, `failure_detector`) and
  flushes the queue pair;
- a primary crash (`reset`) loses the sends its NIC had not finished putting on the wire; those
  already on the wire still arrive;
- receive credits: a message is taken only if the partner has a free receive buffer
  (`partner_receive_buffers`, held until the entry is durable there). Otherwise the partner NIC
  answers "receiver not ready" (RNR NAK) and the sender retransmits after `rnr_timer` (RNR retry
  count infinite, `rnr_retry = 7`): the send stays posted, so a slow partner fills the send queue.
"""

from __future__ import annotations

from sim.components.rdma import QueuePair
from sim.core.environment import call_later


class MirrorQueuePair(QueuePair):
    """A queue pair to the HA partner: no transport ACK from a partner that is down."""

    def __init__(self, *args, remote=None, rnr_timer: float = 0.64e-3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.remote = remote  # the partner node (set by the model)
        self.reset_at = -1.0  # the last crash of this end
        self.rnr_timer = float(rnr_timer)
        self.rnr_naks = 0
        self._retry_cb = self._rnr_retry

    def reset(self) -> None:
        super().reset()
        self.reset_at = self.env.now

    def _delivered(self, msg) -> None:
        if not self.remote.up:
            return  # a dead node's NIC neither takes the message nor acknowledges it
        deliver, payload, n, wc_payload, epoch, _nbytes = msg
        if epoch != self.epoch and self.env._now - self.link.latency > self.reset_at >= 0:
            return  # still in the crashed sender's NIC at the crash: never sent
        if self.remote.rx_free <= 0:
            # no receive buffer: RNR NAK back to the sender, which retransmits after the RNR timer
            self.rnr_naks += 1
            call_later(self.env, self.link.latency + self.rnr_timer, self._retry_cb, msg)
            return
        deliver(payload)
        if n and self.remote.up:  # (a crash struck on delivery: no transport ACK either)
            call_later(self.env, self.link.latency, self._acked, (QueuePair.SEND, wc_payload, n, epoch))

    def _rnr_retry(self, ev) -> None:
        msg = ev._value
        if msg[4] != self.epoch and self.env._now > self.reset_at >= 0:
            return  # the sender crashed meanwhile: its queue pair and the retry are gone
        call_later(self.env, self.link.delay(self.direction, msg[5]), self._arrived, msg)
