"""A storage node: CPU workers, DRAM (and optionally PMEM), block devices and links to peers.

The node is the unit that crashes. `crash()` (fault `crash`) interrupts every process started
with `node.process(gen)` (they receive `simpy.Interrupt(HostDown)`; an uncaught one ends the
process quietly), clears DRAM and the model's `volatile` dict, and refuses new work until
`restart()`; PMEM and block devices keep their contents (a crash with power kept lets CPU caches
drain). `power_loss` is a crash in which PMEM also loses its unpersisted stores. `heal` of either
starts the restart, which takes `restart_time` and then runs the `on_restart` callbacks (where a
model starts its recovery).

Abstracted away: CPU speed (a model prices its CPU work as durations on `workers`), the OS, partial
failures of a node (a failing device or link is a fault on that component).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import simpy
from pydantic import Field

from sim.components.base import Component, HostDown, NotRunning, ProcessGroup
from sim.components.memory import DRAM, PMEM, DramParams, PmemParams
from sim.components.network import Link
from sim.components.storage import BlockDevice, HddParams, SsdParams, make_device
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import Duration

DeviceSpec = Annotated[SsdParams | HddParams, Field(discriminator="kind")]


class NodeParams(Params):
    """A storage server: worker threads, memories, devices, restart time."""

    workers: int = Field(8, ge=1, description="CPU worker threads")
    restart_time: Duration = Field(120.0, description="reboot to serving again, s")
    dram: DramParams = DramParams()
    pmem: PmemParams | None = Field(None, description="persistent memory, if the node has it")
    devices: dict[str, DeviceSpec] = Field(default_factory=dict, description="block devices by name")


@register("components", "storage_node")
class StorageNode(Component):
    """A server that composes workers, DRAM/PMEM, devices and links; crashes lose volatile state."""

    FAULTS = ("crash", "power_loss")
    Params = NodeParams

    def __init__(self, sim, params: NodeParams | None = None, name: str = "node") -> None:
        params = params if params is not None else NodeParams()
        super().__init__(sim, params, name)
        self.workers = simpy.Resource(self.env, capacity=params.workers)
        self.dram = DRAM(sim, params.dram, f"{name}.dram")
        self.pmem = PMEM(sim, params.pmem, f"{name}.pmem") if params.pmem is not None else None
        self.devices: dict[str, BlockDevice] = {
            dev: make_device(sim, dp, f"{name}.{dev}") for dev, dp in sorted(params.devices.items())
        }
        self.links: dict[str, Link] = {}
        self.volatile: dict[Any, Any] = {}
        self.procs = ProcessGroup(self.env)
        self.up = True
        self.crashes = 0
        self.down_since: float | None = None
        self.downtime_s = 0.0
        self.on_crash: list[Callable[[str], None]] = []
        self.on_restart: list[Callable[[], None]] = []
        self._up_event = self.env.event()

    # --- composition ---------------------------------------------------------------------------
    def connect(self, peer: str, link: Link) -> None:
        """Attach `link` towards node `peer`."""
        self.links[peer] = link

    def process(self, gen) -> simpy.Process:
        """Run `gen` on this node: it is interrupted (HostDown) if the node crashes."""
        if not self.up:
            raise NotRunning(f"{self.name} is down")
        return self.procs.start(gen)

    def wait_up(self) -> simpy.Event:
        if self.up:
            ev = self.env.event()
            ev.succeed()
            return ev
        return self._up_event

    # --- failure and recovery ------------------------------------------------------------------
    def crash(self, reason: str = "crash") -> None:
        """Stop now: processes interrupted, DRAM and `volatile` lost, durable media kept."""
        if not self.up:
            return
        self.up = False
        self.crashes += 1
        self.down_since = self.env.now
        self.procs.interrupt_all(HostDown(self.name, reason))
        self.workers = simpy.Resource(self.env, capacity=self.params.workers)
        self.dram.power_loss()
        self.volatile.clear()
        if reason == "power_loss" and self.pmem is not None:
            self.pmem.power_loss()
        for cb in self.on_crash:
            cb(reason)

    def restart(self) -> simpy.Process:
        """Reboot: up again after `restart_time`, then run the `on_restart` callbacks."""
        return self.env.process(self._reboot())

    def _reboot(self):
        if self.up:
            return
        if self.params.restart_time:
            yield self.env.timeout(self.params.restart_time)
        if self.up:
            return
        self.up = True
        if self.down_since is not None:
            self.downtime_s += self.env.now - self.down_since
            self.down_since = None
        ev, self._up_event = self._up_event, self.env.event()
        ev.succeed()
        for cb in self.on_restart:
            cb()

    def _inject_crash(self, fault: Any) -> None:
        self.crash("crash")

    def _heal_crash(self, fault: Any) -> None:
        self.restart()

    def _inject_power_loss(self, fault: Any) -> None:
        self.crash("power_loss")

    def _heal_power_loss(self, fault: Any) -> None:
        self.restart()
