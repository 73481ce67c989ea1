"""Parameters of `cdp_streams`: the mechanism and its components (`CdpParams`) and production writes (`CdpWorkload`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.components.cloud import ComputeParams, ObjectStoreParams, SnapshotParams, StreamParams, VolumeParams
from sim.components.network import WanLinkParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize, Size
from sim.workloads import KeyDist, PeriodicArrivals, PoissonArrivals, SizeDist

VARIANTS = ("periodic_apply", "do_undo", "chunks", "appliance")
WRITER_TICK = 10.0  # s: the production writer draws this much of its Poisson process at a time
VOLUME_IO_UNIT = 16 * 2**10  # gp3 counts an I/O of up to 16 KiB as one IOPS


class InstanceLimits(Params):
    """An EC2 instance's own network and EBS limits (m5.large by default; sources in
    docs/models/cdp_streams.md, "Cloud limits"): baselines it sustains, bursts it holds for a while."""

    network_baseline: ByteRate = Field(0.75e9 / 8, description="baseline network bandwidth, bytes/s "
                                       "(m5.large 0.75 Gb/s)")
    network_burst: ByteRate = Field(10e9 / 8, description="burst network bandwidth, bytes/s (\"up to 10 Gb/s\")")
    network_burst_time: Duration = Field(300.0, description="how long a full network allowance bursts, s "
                                         "(AWS: typically 5 to 60 min; 5 min assumed)")
    ebs_baseline: ByteRate = Field(650e6 / 8, description="baseline EBS bandwidth, bytes/s (m5.large 650 Mb/s)")
    ebs_burst: ByteRate = Field(4750e6 / 8, description="burst EBS bandwidth, bytes/s (4,750 Mb/s)")
    ebs_iops_baseline: PositiveRate = Field(3600, description="baseline EBS IOPS (m5.large)")
    ebs_iops_burst: PositiveRate = Field(18750, description="burst EBS IOPS (m5.large)")
    ebs_burst_time: Duration = Field(1800.0, description="how long a full EBS allowance bursts, s (30 min)")
    refill_period: PositiveDuration = Field(86400.0, description="time for a spent allowance to fill again, s "
                                            "(\"at least once every 24 hours\")")

    @model_validator(mode="after")
    def _burst_above_baseline(self):
        if self.network_burst < self.network_baseline or self.ebs_burst < self.ebs_baseline:
            raise ValueError("burst bandwidth must be >= the baseline")
        if self.ebs_iops_burst < self.ebs_iops_baseline:
            raise ValueError("ebs_iops_burst must be >= ebs_iops_baseline")
        return self


def _m5_xlarge_limits() -> InstanceLimits:
    return InstanceLimits(network_baseline=1.25e9 / 8, ebs_baseline=1150e6 / 8, ebs_iops_baseline=6000)


def _default_volume() -> VolumeParams:
    return VolumeParams(capacity=32 * 2**30, attached=False)


class CdpParams(Params):
    """Parameters of `cdp_streams` (defaults and their sources: docs/models/cdp_streams.md)."""

    variant: Literal["periodic_apply", "do_undo", "chunks", "appliance"] = Field(
        "do_undo", description="mechanism, or the `appliance` baseline")
    block_size: PositiveSize = Field(4096, description="tracking granularity of block versions, bytes")
    # splitter (production side)
    flush_interval: PositiveDuration = Field(0.1, description="splitter buffering before a put (KPL 100 ms)")
    record_header: Size = Field(64, description="per-write header in a do record, bytes")
    put_pacing: float = Field(1.0, gt=0.0, le=1.5, description="the splitter paces its puts at this fraction "
                              "of each shard's write limits (KPL RateLimit; 1.5 is the KPL default)")
    backoff_base: PositiveDuration = Field(0.1, description="first retry delay after throttling, s")
    backoff_cap: PositiveDuration = Field(10.0, description="longest retry delay, s")
    # streams
    stream: StreamParams = Field(default_factory=StreamParams, description="do stream (Kinesis)")
    undo_shards: int = Field(1, ge=1, description="shards of the undo stream (same limits as the do stream)")
    read_backoff: PositiveDuration = Field(1.0, description="wait after a throttled GetRecords (1 s poll), s")
    # apply
    apply_interval: PositiveDuration = Field(3600.0, description="time between instance power-ons")
    start_retry: PositiveDuration = Field(60.0, description="wait before retrying a failed instance start")
    compute: ComputeParams = Field(default_factory=ComputeParams, description="apply/recovery instance")
    volume: VolumeParams = Field(default_factory=_default_volume, description="replica volume (its capacity "
                                 "is the production volume size)")
    snapshots: SnapshotParams = Field(default_factory=lambda: SnapshotParams(restore_throughput=125e6),
                                      description="EBS snapshots; a restored volume is initialised at the gp3 "
                                      "baseline (125 MB/s), never faster than the volume's throughput")
    object_store: ObjectStoreParams = Field(default_factory=ObjectStoreParams)
    chunk_size: PositiveSize = Field(4 * 2**20, description="chunk object size (chunks variant), bytes")
    chunk_workers: int = Field(8, ge=1, le=64, description="parallel object requests of the instance; they share "
                               "its network bandwidth (~15 saturate 10 Gb/s; more than 64 is refused)")
    # appliance baseline
    appliance: ComputeParams = Field(default_factory=lambda: ComputeParams(vcpus=4, price_per_hour_usd=0.192),
                                     description="always-on appliance (m5.xlarge)")
    journal: VolumeParams = Field(default_factory=lambda: VolumeParams(capacity=64 * 2**30, attached=True),
                                  description="appliance journal volume")
    appliance_apply_interval: PositiveDuration = Field(5.0, description="journal checkpoint (Zerto: 5 s)")
    journal_window: PositiveDuration = Field(24 * 3600.0, description="journal history kept (Zerto default 1 d)")
    wan: WanLinkParams = Field(default_factory=WanLinkParams, description="production site to cloud region")
    # recovery
    recovery_at: Duration | None = Field(None, description="recovery drill time (default: within the apply "
                                         "interval before 3/4 of the run, none if a permanent crash of "
                                         "`production` is scheduled: recovery then starts at the loss)")
    recovery_window: Duration | None = Field(None, description="the drill starts at a uniform random instant "
                                             "in [recovery_at, recovery_at + window) (default: one "
                                             "apply_interval if recovery_at is unset, else 0)")
    concurrent_recoveries: bool = Field(False, description="recover the latest and the past points at once "
                                        "(sharing the streams' read limits) instead of one after another")
    past_points: int = Field(3, ge=0, le=20, description="random past points T recovered per recovery")
    protection_window: PositiveDuration = Field(24 * 3600.0, description="T is drawn within this window")
    # cloud limits (issue 17, item 9): the instances' own network and EBS limits, chunk repair
    compute_limits: InstanceLimits = Field(default_factory=InstanceLimits,
                                           description="network and EBS limits of the apply/recovery instance "
                                           "(m5.large)")
    appliance_limits: InstanceLimits = Field(default_factory=_m5_xlarge_limits,
                                             description="network and EBS limits of the appliance (m5.xlarge)")
    chunk_repair: bool = Field(True, description="chunks: re-read the blocks of a lost or corrupt chunk from the "
                               "production volume and upload it again (False: no repair, recoveries stay refused)")
    # deliberately broken variants, to show that the invariant catches them
    undo_capture: bool = Field(True, description="False: skip undo capture (a broken do_undo)")
    detect_expiry: bool = Field(True, description="False: ignore sequence gaps (hides data loss)")
    truncate_do_payload: bool = Field(False, description="BROKEN on purpose: the splitter leaves the last block "
                                      "of every multi-block write out of the do record (an encoder "
                                      "off-by-one); apply and roll-forward use what the record carries")
    advance_applied_early: bool = Field(False, description="BROKEN on purpose: advance the applied position "
                                        "before the replica write (volume, chunk objects or appliance replica) "
                                        "completes; a crash of the apply instance in between loses those writes")

    @model_validator(mode="after")
    def _consistent(self):
        if self.volume.capacity < self.block_size:
            raise ValueError("volume.capacity must be at least one block")
        if self.chunk_size < self.block_size or self.chunk_size % self.block_size:
            raise ValueError("chunk_size must be a multiple of block_size")
        if self.snapshots.restore_throughput > self.volume.throughput:
            raise ValueError("snapshots.restore_throughput exceeds volume.throughput: a restored volume is "
                             "initialised no faster than the volume can be read")
        if self.block_size + self.record_header > self.stream.max_record_size:
            raise ValueError("block_size + record_header exceeds the stream's max_record_size")
        return self


class CdpWorkload(Params):
    """Production writes: arrivals, sizes (rounded up to blocks) and block locality of the start."""

    arrivals: PoissonArrivals | PeriodicArrivals = Field(default_factory=lambda: PoissonArrivals(rate=10.0))
    size: SizeDist = Field(default_factory=lambda: SizeDist(dist="lognormal", mean=16 * 2**10, sigma=0.8))
    max_size: PositiveSize = Field(256 * 2**10, description="largest write, bytes")
    keys: KeyDist = Field(default_factory=lambda: KeyDist(dist="hotset", hot_fraction=0.05, hot_access=0.9))
