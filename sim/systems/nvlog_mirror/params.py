"""Parameters and workload of `nvlog_mirror` (defaults and their sources: docs/models/nvlog_mirror.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.core.system import Params
from sim.core.units import ByteRate, Duration, Size
from sim.workloads import PoissonArrivals, SizeDist


class NvlogParams(Params):
    """The primary, its partner, the interconnect and the mechanism's variant."""

    reservation: bool = Field(True, description="reserve send-queue slots in the suspendable phase (false: the baseline)")
    send_queue_slots: int = Field(64, ge=1, description="send-queue work-request slots of the mirroring queue pair")
    slots_per_write: int = Field(3, ge=1, description="send-queue entries one mirrored write posts")
    workers: int = Field(8, ge=1, description="file-system worker threads (run transactions and completion processing)")
    mirror_header: Size = Field(64, description="bytes added to each mirrored entry (log record header), B")
    rdma_latency: Duration = Field(1.9e-6, description="one-way RDMA latency, s")
    rdma_bandwidth: ByteRate = Field(12.4e9, description="RDMA link bandwidth per direction, B/s")
    rdma_ack_bytes: Size = Field(64, description="size of the partner's acknowledgement message, B")
    nvlog_append_latency: Duration = Field(62e-9, description="NVLog (PMEM) write latency per append, s")
    nvlog_bandwidth: ByteRate = Field(12.5e9, description="NVLog (PMEM) write bandwidth, B/s")
    txn_cpu_cost: Duration = Field(2e-6, description="file-system CPU work of a write transaction's modify phase, s")
    completion_cost: Duration = Field(0.5e-6, description="CPU cost of processing one work completion, s")
    cq_poll_batch: int = Field(16, ge=1, description="completions polled per run of the completion handler")
    signal_interval: int = Field(1, ge=1, description="one mirrored send in this many asks for a completion (1: every send)")
    partner_apply_cost: Duration = Field(0.5e-6, description="partner CPU cost to apply one entry (plus its NVLog write), s")
    ack_before_mirror: bool = Field(False, description="BROKEN on purpose: acknowledge after the local append only")
    leak_slot_every: int = Field(0, ge=0, description="BROKEN on purpose: the completion handler leaks one "
                                 "send-queue slot in this many it frees (0: none leak); the queue drains "
                                 "and the pair stalls at zero throughput")
    primary_recovery_time: Duration = Field(10e-3, description="primary restart to service: NVLog replay and giveback, s")
    nvram_size: Size = Field(16 * 2**30, gt=0, description="NVRAM of a node; in an HA pair each of its two "
                             "NVLog halves is 1/4 of it (the other half mirrors the partner), B")
    cp_flush_bandwidth: ByteRate = Field(2e9, gt=0, description="bandwidth at which a consistency point writes "
                                         "an NVLog half's entries to disk, B/s")
    cp_interval: Duration = Field(10.0, gt=0, description="a consistency point starts at the latest this long "
                                  "after the last one began (or when the active half is full), s")
    partner_receive_buffers: int = Field(128, ge=1, description="receive buffers the partner posts for mirrored "
                                         "entries (receive credits); one is held from arrival until the entry is "
                                         "durable, a message finding none gets an RNR NAK")
    rnr_timer: Duration = Field(0.64e-3, gt=0, description="RNR NAK timer: a sender told 'receiver not ready' "
                                "retransmits after this, s")
    takeover_time: Duration = Field(120.0, ge=0, description="after the partner decided to take over, until it "
                                    "serves the primary's clients, s")
    giveback_delay: Duration = Field(600.0, ge=0, description="after the primary restarted, until the partner "
                                     "starts the giveback (automatic giveback delay), s")
    heartbeat_interval: Duration = Field(1.0, gt=0, description="HA heartbeat period between the two nodes, s")
    missed_heartbeats: int = Field(15, ge=1, description="consecutive missed heartbeats after which a node is "
                                   "declared dead (failure detection = interval x missed, less the phase; "
                                   "1 s x 15 = ONTAP's 15 s default takeover detection time)")
    takeover_out_of_sync: Literal["refuse", "force"] = Field(
        "refuse", description="a takeover while the partner's log is out of sync: refuse it (outage until the "
        "primary is back; ONTAP's behaviour) or force it (every acknowledged write the partner lacks is lost "
        "and counted; Data ONTAP 7-Mode's `cf forcetakeover`, which takes over despite unsynchronized NVRAM)")
    ack_on_transport_ack: bool = Field(False, description="BROKEN on purpose: acknowledge the client when the "
                                       "send completes (the partner NIC's transport ACK), before the partner's "
                                       "apply has made the entry durable")
    in_sync_on_reconnect: bool = Field(False, description="BROKEN on purpose: declare the pair in sync as soon "
                                       "as the partner reconnects, before the resync has landed")
    giveback_without_sync: bool = Field(False, description="BROKEN on purpose: the partner hands the "
                                        "aggregates back without first writing the entries only its NVLog "
                                        "holds (the takeover period's writes) to disk")
    retire_before_cp_done: bool = Field(False, description="BROKEN on purpose: a consistency point frees its "
                                        "half's log space when it starts, before the flush is on disk")
    post_without_reservation: bool = Field(False, description="BROKEN on purpose: a transaction whose "
                                           "reservation is not granted at once does not suspend and posts "
                                           "anyway (the send queue is overrun)")

    @model_validator(mode="after")
    def _fits(self):
        if self.slots_per_write > self.send_queue_slots:
            raise ValueError(f"slots_per_write ({self.slots_per_write}) exceeds send_queue_slots "
                             f"({self.send_queue_slots}): no write could ever be posted")
        return self


class NvlogWorkload(PoissonArrivals):
    """Open-loop Poisson arrivals of client writes at `rate`, sizes drawn from `size`."""

    size: SizeDist = Field(default_factory=lambda: SizeDist(dist="fixed", value=4096))
