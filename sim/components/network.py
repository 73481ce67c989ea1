"""A network link between two nodes or sites: latency, bandwidth, optional loss, partitions.

A transfer of n bytes takes its share of the link bandwidth (shared equally by the transfers in
flight in the same direction, `SharedBandwidth`) and then the one-way propagation latency. Each
direction has its own bandwidth (full duplex). With `loss > 0` a transfer is dropped with that
probability (decided by the link's own random stream). A `link_down` fault cuts the link:
transfers in flight and new ones return False until `heal` restores it; `wait_up()` lets a sender
wait for the repair. `slow_link` degrades latency and/or bandwidth for its duration.

`yield from link.transfer(nbytes)` returns True if the bytes arrived, False if lost or cut; the
model decides whether to retry (a transport protocol's retransmission is the model's business).

Abstracted away: packets, TCP congestion control and slow start, queueing in switches, jitter.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import Field

from sim.components.base import Component, SharedBandwidth, fault_param
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration


class LinkParams(Params):
    """A datacenter link by default (25 Gb/s, 250 us one-way)."""

    latency: Duration = Field(250e-6, description="one-way propagation + switching latency, s")
    bandwidth: ByteRate = Field(25e9 / 8, description="per direction, bytes/s")
    loss: float = Field(0.0, ge=0.0, lt=1.0, description="probability that a transfer is dropped")


class WanLinkParams(LinkParams):
    """An inter-site link (1 Gb/s, 5 ms one-way, i.e. a few hundred km of fibre plus equipment)."""

    latency: Duration = Field(5e-3, description="one-way latency, s")
    bandwidth: ByteRate = Field(1e9 / 8, description="per direction, bytes/s")


@register("components", "link")
class Link(Component):
    """Full-duplex network link with shared bandwidth, latency, loss, partition and degradation."""

    fault_kinds = ("link_down", "slow_link")
    Params = LinkParams

    def __init__(self, sim, params: LinkParams | None = None, name: str = "link") -> None:
        params = params if params is not None else LinkParams()
        super().__init__(sim, params, name)
        env = self.env
        self.forward = SharedBandwidth(env, params.bandwidth)
        self.backward = SharedBandwidth(env, params.bandwidth)
        self.latency = params.latency
        self.up = True
        self._up_event = env.event()
        self._rng = sim.rng(f"{name}.loss") if params.loss > 0 else None
        self.transfers = 0
        self.delivered = 0
        self.dropped = 0
        self.bytes_delivered = 0.0

    def transfer(self, nbytes: float, reverse: bool = False) -> Generator[Any, Any, bool]:
        """Carry `nbytes` one way (`reverse` for the other direction); True if delivered."""
        self.transfers += 1
        if not self.up:
            self.dropped += 1
            return False
        channel = self.backward if reverse else self.forward
        ok = yield channel.transfer(nbytes)
        if ok and self.latency > 0:
            yield self.env.timeout(self.latency)
        if not ok or not self.up or (self._rng is not None and self._rng.random() < self.params.loss):
            self.dropped += 1
            return False
        self.delivered += 1
        self.bytes_delivered += nbytes
        return True

    def wait_up(self):
        """An event that triggers when the link is (or becomes) up."""
        if self.up:
            ev = self.env.event()
            ev.succeed()
            return ev
        return self._up_event

    # --- control -------------------------------------------------------------------------------
    def cut(self) -> None:
        """Partition: transfers in flight and until `restore()` are lost."""
        if not self.up:
            return
        self.up = False
        self.forward.abort_all()
        self.backward.abort_all()

    def restore(self) -> None:
        if self.up:
            return
        self.up = True
        ev, self._up_event = self._up_event, self.env.event()
        ev.succeed()

    def degrade(self, latency: float | None = None, bandwidth: float | None = None) -> None:
        """Set a degraded latency and/or bandwidth (None leaves it)."""
        if latency is not None:
            self.latency = latency
        if bandwidth is not None:
            self.forward.set_capacity(bandwidth)
            self.backward.set_capacity(bandwidth)

    def _inject_link_down(self, fault: Any) -> None:
        self.cut()

    def _heal_link_down(self, fault: Any) -> None:
        self.restore()

    def _inject_slow_link(self, fault: Any) -> None:
        """`params`: `latency` / `bandwidth` (absolute, SI) or `latency_factor` / `bandwidth_factor`."""
        p = self.params
        lat = fault_param(fault, "latency")
        if lat is None:
            lat = p.latency * float(fault_param(fault, "latency_factor", 1.0))
        bw = fault_param(fault, "bandwidth")
        if bw is None:
            bw = p.bandwidth * float(fault_param(fault, "bandwidth_factor", 1.0))
        if lat < 0 or bw <= 0:
            raise ValueError(f"slow_link on {self.name}: latency must be >= 0 and bandwidth > 0")
        self.degrade(float(lat), float(bw))

    def _heal_slow_link(self, fault: Any) -> None:
        self.degrade(self.params.latency, self.params.bandwidth)


@register("components", "wan_link")
class WanLink(Link):
    """Inter-site link: lower bandwidth, millisecond latency."""

    Params = WanLinkParams

    def __init__(self, sim, params: WanLinkParams | None = None, name: str = "wan") -> None:
        super().__init__(sim, params if params is not None else WanLinkParams(), name)
