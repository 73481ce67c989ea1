"""Block storage: SSD and HDD with latency, IOPS and bandwidth limits and a device queue depth.

A command goes through three stages, in the order a real device imposes them:
1. the device queue: at most `queue_depth` commands are in service at once, the rest wait FIFO
   (the NVMe submission queue / SATA NCQ depth);
2. the IOPS limit: commands are admitted one every 1/IOPS seconds (`Pacer`);
3. service: the access latency, then the bytes at this command's share of the device bandwidth
   (`SharedBandwidth`, shared equally by the commands in service).

So at queue depth 1 a 4 KiB read takes latency + 4 KiB/bandwidth; at high depth throughput
saturates at min(IOPS, bandwidth/size, queue_depth/latency), the familiar device curve.

The device also holds contents (block id -> value) for models with an oracle; they survive power
loss (enterprise SSDs have power-loss protection; HDD write caches are assumed off).

Abstracted away: read/write interference inside the SSD, garbage collection and write-amplification
stalls, sequential vs random detection (use `hdd` params for the random case; a sequential stream is a
large transfer), HDD zoning and rotational position.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal

import simpy
from pydantic import Field

from sim.components.base import Component, NotRunning, SharedBandwidth, fault_param, pick_fault_keys
from sim.core.process import Pacer
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveRate, PositiveSize


class BlockDeviceParams(Params):
    """A block device; defaults are a datacenter NVMe SSD (Intel SSD DC P4500 2.0 TB, see docs/calibration.md)."""

    kind: Literal["ssd", "hdd", "volume"] = "ssd"
    capacity: PositiveSize = Field(2e12, description="bytes")
    block_size: PositiveSize = Field(4096, description="bytes per block (the unit of IOPS accounting)")
    read_latency: Duration = Field(85e-6, description="random read access latency, s")
    write_latency: Duration = Field(20e-6, description="random write access latency, s")
    read_iops: PositiveRate = Field(490_000, description="random 4 KB read commands/s")
    write_iops: PositiveRate = Field(38_000, description="random 4 KB write commands/s")
    read_bandwidth: ByteRate = Field(3.2e9, description="sequential read bandwidth, bytes/s")
    write_bandwidth: ByteRate = Field(1.05e9, description="sequential write bandwidth, bytes/s")
    queue_depth: int = Field(1024, ge=1, description="commands in service at once")


class SsdParams(BlockDeviceParams):
    """Datacenter NVMe SSD (Intel SSD DC P4500 2.0 TB)."""

    kind: Literal["ssd"] = "ssd"


class HddParams(BlockDeviceParams):
    """7,200 rpm enterprise HDD (Seagate Exos X16 16 TB): one command in service at a time."""

    kind: Literal["hdd"] = "hdd"
    capacity: PositiveSize = 16e12
    read_latency: Duration = Field(12.67e-3, description="average seek 8.5 ms + half a rotation 4.17 ms, s")
    write_latency: Duration = Field(12.67e-3, description="as read, s")
    read_iops: PositiveRate = Field(170, description="random 4K read IOPS (queued)")
    write_iops: PositiveRate = Field(170, description="random 4K write IOPS (queued)")
    read_bandwidth: ByteRate = Field(261e6, description="max sustained transfer rate, bytes/s")
    write_bandwidth: ByteRate = Field(261e6, description="max sustained transfer rate, bytes/s")
    queue_depth: int = Field(1, ge=1, description="one actuator: one command in service")


class BlockDevice(Component):
    """A block device: `yield from dev.read(nbytes)`, `yield from dev.write(nbytes, items)`.

    `items` (block id -> value) are applied when the write completes; `data` holds the contents.
    A detached device (cloud volume) raises `NotRunning`.
    """

    fault_kinds = ("lose_data", "corrupt_data", "slow_link")

    def __init__(self, sim, params: BlockDeviceParams | None = None, name: str = "disk") -> None:
        params = params if params is not None else BlockDeviceParams()
        super().__init__(sim, params, name)
        self._configure(params)
        self.data: dict[Any, Any] = {}
        self.changed_blocks: set[Any] = set()  # written since the last snapshot (changed-block tracking)
        self.changed_untracked_bytes = 0.0  # bytes written without block ids since the last snapshot
        self.available = True
        self.reads = 0
        self.writes = 0
        self.bytes_read = 0.0
        self.bytes_written = 0.0
        self._slow = 1.0

    def _configure(self, p: Any) -> None:
        self._setup(p.read_latency, p.write_latency, p.read_iops, p.write_iops,
                    p.read_bandwidth, p.write_bandwidth, p.queue_depth, shared=False)

    def _setup(self, lat_r: float, lat_w: float, iops_r: float, iops_w: float, bw_r: float, bw_w: float,
               queue_depth: int, shared: bool) -> None:
        """Build the device queue, IOPS gates and channels; `shared`: one IOPS and bandwidth budget for both directions."""
        env = self.env
        self.device_queue = simpy.Resource(env, capacity=queue_depth)
        self._read_gate = Pacer(iops_r)
        self._write_gate = self._read_gate if shared else Pacer(iops_w)
        self.read_channel = SharedBandwidth(env, bw_r)
        self.write_channel = self.read_channel if shared else SharedBandwidth(env, bw_w)
        self._latency = (lat_r, lat_w)
        self._bandwidth = (bw_r, bw_w)

    def read(self, nbytes: float) -> Generator[Any, Any, None]:
        """Read `nbytes` (one command)."""
        yield from self._io(nbytes, self._latency[0], self._read_gate, self.read_channel)
        self.reads += 1
        self.bytes_read += nbytes

    def write(self, nbytes: float, items: dict[Any, Any] | None = None) -> Generator[Any, Any, None]:
        """Write `nbytes` (one command); `items` are stored when it completes."""
        yield from self._io(nbytes, self._latency[1], self._write_gate, self.write_channel)
        self.writes += 1
        self.bytes_written += nbytes
        if items:
            self.data.update(items)
            self.changed_blocks.update(items)
        else:
            self.changed_untracked_bytes += nbytes

    def changed_bytes(self) -> float:
        """Bytes changed since the last `reset_changed()` (what an incremental snapshot copies)."""
        return min(len(self.changed_blocks) * self.params.block_size + self.changed_untracked_bytes,
                   self.params.capacity)

    def reset_changed(self) -> None:
        self.changed_blocks = set()
        self.changed_untracked_bytes = 0.0

    def _io(self, nbytes: float, latency: float, gate: Pacer, channel: SharedBandwidth):
        if not self.available:
            raise NotRunning(f"{self.name} is not attached")
        env = self.env
        with self.device_queue.request() as req:
            yield req
            wait = gate.delay(env.now)
            lat = latency * self._slow + wait
            if lat > 0:
                yield env.timeout(lat)
            yield channel.transfer(nbytes)

    @property
    def queued(self) -> int:
        """Commands waiting for a device queue slot."""
        return len(self.device_queue.queue)

    @property
    def in_service(self) -> int:
        return self.device_queue.count

    # --- faults --------------------------------------------------------------------------------
    def _inject_lose_data(self, fault: Any) -> None:
        """Lose blocks: `params.key`, or `params.count` blocks at random."""
        for k in pick_fault_keys(self, fault, self.data):
            del self.data[k]

    def _inject_corrupt_data(self, fault: Any) -> None:
        from sim.components.memory import Corrupted

        for k in pick_fault_keys(self, fault, self.data):
            self.data[k] = Corrupted(self.data[k])

    def _inject_slow_link(self, fault: Any) -> None:
        """A degraded device: latency x `params.latency_factor`, bandwidth x `params.bandwidth_factor`."""
        self._slow = float(fault_param(fault, "latency_factor", 1.0))
        f = float(fault_param(fault, "bandwidth_factor", 1.0))
        self.read_channel.set_capacity(self._bandwidth[0] * f)
        if self.write_channel is not self.read_channel:
            self.write_channel.set_capacity(self._bandwidth[1] * f)

    def _heal_slow_link(self, fault: Any) -> None:
        self._slow = 1.0
        self.read_channel.set_capacity(self._bandwidth[0])
        if self.write_channel is not self.read_channel:
            self.write_channel.set_capacity(self._bandwidth[1])


@register("components", "ssd")
class SSD(BlockDevice):
    """NVMe SSD: latency, IOPS and bandwidth limits, deep device queue."""

    Params = SsdParams

    def __init__(self, sim, params: SsdParams | None = None, name: str = "ssd") -> None:
        super().__init__(sim, params if params is not None else SsdParams(), name)


@register("components", "hdd")
class HDD(BlockDevice):
    """7,200 rpm HDD: seek + rotation latency, one command in service."""

    Params = HddParams

    def __init__(self, sim, params: HddParams | None = None, name: str = "hdd") -> None:
        super().__init__(sim, params if params is not None else HddParams(), name)


def make_device(sim, params: BlockDeviceParams, name: str) -> BlockDevice:
    """The device class matching `params.kind`."""
    cls = {"ssd": SSD, "hdd": HDD}.get(params.kind, BlockDevice)
    return cls(sim, params, name)
