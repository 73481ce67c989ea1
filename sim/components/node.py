"""A storage node: CPU workers, DRAM (and optionally PMEM), block devices and links to peers.

The node is a `Host` (`sim.components.host`), the unit that crashes. `crash()` (fault `crash`) interrupts every process started
with `node.process(gen)` (they receive `simpy.Interrupt(HostDown)`; an uncaught one ends the
process quietly), clears DRAM and the model's `volatile` dict, and refuses new work until
`restart()`; PMEM and block devices keep their contents (a crash with power kept lets CPU caches
drain). `power_loss` is a crash in which PMEM also loses its unpersisted stores. `heal` of either
starts the restart, which takes `restart_time` and then runs the `on_restart` callbacks (where a
model starts its recovery).

Two more faults strike a running node. `ransomware`: a process on the node encrypts the blocks of
its devices at `rate` bytes/s (device by device in name order, blocks in the order they were first
written; `block_size` defaults to the device's) until the fault heals, the node crashes or every
block is encrypted; an encrypted block holds `Encrypted(original)`. `clock_skew`: the node's clock,
`node.clock()`, steps by `offset` and runs fast by `drift` (a ratio) until the fault heals (an NTP
correction); simulated time itself is never skewed.

Abstracted away: CPU speed (a model prices its CPU work as durations on `workers`), the OS, partial
failures of a node (a failing device or link is a fault on that component).
"""

from __future__ import annotations

from typing import Annotated, Any

import simpy
from pydantic import Field

from sim.components.base import fault_param
from sim.components.host import Host
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
class StorageNode(Host):
    """A server that composes workers, DRAM/PMEM, devices and links; crashes lose volatile state."""

    fault_kinds = ("crash", "power_loss", "ransomware", "clock_skew")
    Params = NodeParams
    RANSOMWARE_TICK = 1e-3  # s between encryption batches: bounds events to 1,000/s whatever the rate

    def __init__(self, sim, params: NodeParams | None = None, name: str = "node") -> None:
        params = params if params is not None else NodeParams()
        super().__init__(sim, params, name, restart_time=params.restart_time)
        self.workers = simpy.Resource(self.env, capacity=params.workers)
        self.dram = DRAM(sim, params.dram, f"{name}.dram")
        self.pmem = PMEM(sim, params.pmem, f"{name}.pmem") if params.pmem is not None else None
        self.devices: dict[str, BlockDevice] = {
            dev: make_device(sim, dp, f"{name}.{dev}") for dev, dp in sorted(params.devices.items())
        }
        self.links: dict[str, Link] = {}
        self.volatile: dict[Any, Any] = {}
        self.encrypted_bytes = 0.0
        self._ransomware_runs: set[int] = set()  # ids of the ransomware faults still encrypting
        self._clock_offset = 0.0
        self._clock_drift = 0.0
        self._skew_since = 0.0

    def clock(self) -> float:
        """The node's local clock: simulated time plus any injected skew and drift."""
        now = self.env.now
        return now + self._clock_offset + self._clock_drift * (now - self._skew_since)

    # --- composition ---------------------------------------------------------------------------
    def connect(self, peer: str, link: Link) -> None:
        """Attach `link` towards node `peer`."""
        self.links[peer] = link

    # --- failure and recovery ------------------------------------------------------------------
    def _lose_volatile(self, reason: str) -> None:
        """DRAM and `volatile` are lost, the worker pool is fresh; a power loss also drops PMEM's
        unpersisted stores (a crash with power kept lets CPU caches drain)."""
        self.workers = simpy.Resource(self.env, capacity=self.params.workers)
        self.dram.power_loss()
        self.volatile.clear()
        if reason == "power_loss" and self.pmem is not None:
            self.pmem.power_loss()

    def power_loss_is_crash(self) -> bool:
        """Without PMEM a power loss loses what a crash loses (DRAM and `volatile`)."""
        return self.pmem is None

    def restart(self) -> None:
        """Reboot now, whatever keeps it down (a test's or operator's hand): up after `restart_time`."""
        self.down_depth = 1
        self.come_up()

    def _inject_ransomware(self, fault: Any) -> None:
        if not self.up:
            return
        self._ransomware_runs.add(id(fault))
        self.process(self.ransomware(fault))

    def _heal_ransomware(self, fault: Any) -> None:
        self._ransomware_runs.discard(id(fault))

    def ransomware(self, fault: Any):
        """Encrypt the node's stored blocks at `rate` bytes/s, a batch every RANSOMWARE_TICK."""
        rate = float(fault_param(fault, "rate"))
        victims = [(dev, key) for _n, dev in sorted(self.devices.items()) for key in list(dev.data)]
        credit = 0.0
        i = 0
        while i < len(victims) and id(fault) in self._ransomware_runs:
            yield self.env.timeout(self.RANSOMWARE_TICK)
            credit += rate * self.RANSOMWARE_TICK
            while i < len(victims):
                dev, key = victims[i]
                size = float(fault_param(fault, "block_size", dev.params.block_size))
                if credit < size:
                    break
                value = dev.data.get(key)
                if key in dev.data and not isinstance(value, Encrypted):
                    dev.data[key] = Encrypted(value)
                    self.encrypted_bytes += size
                    credit -= size
                i += 1
        self._ransomware_runs.discard(id(fault))

    def _inject_clock_skew(self, fault: Any) -> None:
        self._clock_offset = self.clock() - self.env.now + float(fault_param(fault, "offset", 0.0))
        self._clock_drift = float(fault_param(fault, "drift", 0.0))
        self._skew_since = self.env.now

    def _heal_clock_skew(self, fault: Any) -> None:
        self._clock_offset = 0.0
        self._clock_drift = 0.0


class Encrypted:
    """A block encrypted by ransomware (wraps the original so an oracle can tell what was lost)."""

    __slots__ = ("original",)

    def __init__(self, original: Any) -> None:
        self.original = original

    def __repr__(self) -> str:
        return f"Encrypted({self.original!r})"
