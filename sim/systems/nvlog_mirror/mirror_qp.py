"""The mirroring queue pair: `sim.components.rdma.QueuePair` whose far end is the partner node.

Two differences from the component, both about node crashes (the component, used without a
model of the nodes, always delivers and acknowledges):
- the partner NIC answers only while the partner is up: a send that reaches a crashed partner is
  neither delivered nor acknowledged by the transport, so its send-queue slots stay posted until
  the primary notices the failure (after the heartbeat detection delay, `failure_detector`) and
  flushes the queue pair;
- a primary crash (`reset`) loses the sends its NIC had not finished putting on the wire; those
  already on the wire still arrive.
"""

from __future__ import annotations

from simpy.events import Timeout

from sim.components.rdma import QueuePair


class MirrorQueuePair(QueuePair):
    """A queue pair to the HA partner: no transport ACK from a partner that is down."""

    def __init__(self, *args, remote=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.remote = remote  # the partner node (set by the model)
        self.reset_at = -1.0  # the last crash of this end

    def reset(self) -> None:
        super().reset()
        self.reset_at = self.env.now

    def _delivered(self, msg) -> None:
        if not self.remote.up:
            return  # a dead node's NIC neither takes the message nor acknowledges it
        deliver, payload, n, wc_payload, epoch, _nbytes = msg
        if epoch != self.epoch and self.env._now - self.link.latency > self.reset_at >= 0:
            return  # still in the crashed sender's NIC at the crash: never sent
        deliver(payload)
        if n:
            Timeout(self.env, self.link.latency, (QueuePair.SEND, wc_payload, n, epoch)).callbacks.append(self._acked)
