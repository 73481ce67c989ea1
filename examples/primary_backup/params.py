"""Parameters of the primary/backup example: every field has a unit and a description."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.components.network import LinkParams
from sim.core.system import Params
from sim.core.units import Duration, PositiveDuration, PositiveRate, PositiveSize


class PrimaryBackupParams(Params):
    write_rate: PositiveRate = Field(2000.0, description="client writes per s (Poisson)")
    keys: int = Field(64, ge=1, description="keys the client writes (uniformly at random)")
    write_size: PositiveSize = Field(4096, description="bytes of one replicated write")
    ack_size: PositiveSize = Field(64, description="bytes of the backup's acknowledgement")
    link: LinkParams = Field(LinkParams(), description="the replication link (latency, bandwidth, loss)")
    log_append: Duration = Field(20e-6, description="time the backup takes to append a write to its durable log")
    retry_timeout: PositiveDuration = Field(5e-3, description="first resend of a write not acknowledged, s "
                                            "(doubling per attempt with jitter, up to `retry_cap`)")
    retry_cap: PositiveDuration = Field(0.05, description="longest wait between two resends of a write")
    snapshot_interval: PositiveDuration = Field(0.1, description="time between snapshots of the backup")
    snapshot_time: Duration = Field(5e-3, description="time to write one snapshot out")
    restart_time: Duration = Field(0.01, description="time a crashed host takes to boot once its fault heals")
    ack: Literal["sync", "async"] = Field(
        "sync", description="sync: acknowledge a write once the backup has logged it; async: once it is sent "
                            "(a deliberate bug the oracle catches when the primary crashes)")
