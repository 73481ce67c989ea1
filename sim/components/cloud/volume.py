"""Cloud block volume (Amazon EBS gp3 by default): IOPS and throughput caps, attach time, cost.

A `BlockDevice` whose IOPS and throughput budgets are shared by reads and writes (gp3 provisions
one IOPS figure and one throughput figure). It must be attached to be used: `attach()` takes the
attach time; I/O on a detached volume raises `NotRunning`. It keeps changed-block tracking, which
the snapshot service reads to make incremental snapshots. Cost accrues per GB-month of size plus
provisioned IOPS and throughput above the free baseline, for as long as the volume exists.

Abstracted away: burst credits (gp2), latency variance, the instance's EBS bandwidth limit, lazy
loading of blocks of a volume restored from a snapshot (see `SnapshotService.restore`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal

from pydantic import Field, model_validator

from sim.components.base import GB, SECONDS_PER_MONTH, NotRunning
from sim.components.storage import BlockDevice
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveRate, PositiveSize


class VolumeParams(Params):
    """EBS gp3 (us-east-1 prices; see docs/calibration.md)."""

    kind: Literal["volume"] = "volume"
    capacity: PositiveSize = Field(100 * 2**30, description="provisioned size, bytes")
    block_size: PositiveSize = Field(16 * 2**10, description="bytes per IOPS unit (gp3 counts I/O up to 16 KiB)")
    latency: Duration = Field(1e-3, description="access latency, s (gp3: single-digit ms)")
    iops: PositiveRate = Field(3000, description="provisioned IOPS (reads + writes)")
    throughput: ByteRate = Field(125e6, description="provisioned throughput (reads + writes), bytes/s")
    queue_depth: int = Field(64, ge=1, description="outstanding I/Os served concurrently")
    attach_time: Duration = Field(5.0, description="time to attach to an instance, s")
    attached: bool = Field(True, description="attached at creation")
    price_gb_month_usd: float = Field(0.08, ge=0)
    price_iops_month_usd: float = Field(0.005, ge=0, description="per provisioned IOPS-month above 3,000")
    price_mbps_month_usd: float = Field(0.04, ge=0, description="per provisioned MB/s-month above 125")
    free_iops: float = Field(3000, ge=0)
    free_throughput: float = Field(125e6, ge=0, description="bytes/s")

    @model_validator(mode="after")
    def _gp3_limits(self):
        if self.iops > 16000:
            raise ValueError("gp3 iops must be <= 16000 (use a higher-tier volume's params)")
        if self.throughput > 1000e6:
            raise ValueError("gp3 throughput must be <= 1000MB/s")
        return self


@register("components", "cloud_volume")
class CloudVolume(BlockDevice):
    """Cloud block volume: shared IOPS/throughput caps, attach/detach, cost per GB-month."""

    fault_kinds = ("lose_data", "corrupt_data", "slow_link", "outage")
    Params = VolumeParams

    def __init__(self, sim, params: VolumeParams | None = None, name: str = "volume") -> None:
        params = params if params is not None else VolumeParams()
        super().__init__(sim, params, name)  # type: ignore[arg-type]
        self.available = params.attached
        self.created_at = self.env.now
        self.attaches = 0

    def _configure(self, p: Any) -> None:
        self._setup(p.latency, p.latency, p.iops, p.iops, p.throughput, p.throughput, p.queue_depth, shared=True)

    @property
    def attached(self) -> bool:
        return self.available

    def attach(self) -> Generator[Any, Any, None]:
        """Attach to an instance (takes `attach_time`)."""
        if self.available:
            return
        if self.params.attach_time:
            yield self.env.timeout(self.params.attach_time)
        self.available = True
        self.attaches += 1

    def detach(self) -> None:
        self.available = False

    def cost_usd(self) -> dict[str, float]:
        p = self.params
        months = (self.env.now - self.created_at) / SECONDS_PER_MONTH
        extra_iops = max(0.0, p.iops - p.free_iops)
        extra_mbps = max(0.0, (p.throughput - p.free_throughput) / 1e6)
        return {
            "volume_storage_usd": p.capacity / GB * p.price_gb_month_usd * months,
            "volume_performance_usd": (extra_iops * p.price_iops_month_usd + extra_mbps * p.price_mbps_month_usd) * months,
        }

    def _inject_outage(self, fault: Any) -> None:
        """The volume is impaired: I/O raises NotRunning until healed."""
        self._was_attached = self.available
        self.available = False

    def _heal_outage(self, fault: Any) -> None:
        self.available = getattr(self, "_was_attached", True)

    def _io(self, nbytes, latency, gate, channel):
        if not self.available:
            raise NotRunning(f"{self.name} is not attached or impaired")
        yield from super()._io(nbytes, latency, gate, channel)

