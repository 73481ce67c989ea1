"""NVLog mirroring over RDMA with an interconnect send-queue reservation system (system `nvlog_mirror`).

What it stands for: a storage node (the *primary*) logs each client write in its NVLog
(battery-backed NVRAM / PMEM) and mirrors the entry to its HA *partner* over an RDMA queue pair.
The node's file system runs write transactions (`write_transaction`) on a fixed pool of worker
threads (`sim.components.cpu.WorkerPool`), with completion processing (`completion_handler`) as
a task on the same pool; the partner's apply thread (`partner`) makes each entry durable and
acknowledges it. How a transaction gets its send-queue slots — the reservation, or the baseline's
blocking post — and when the client is told the write is done are the variants (`variants`).
Crashes, degraded mode, restarts and resync are in `recovery`; the oracle (`oracle`) checks the
acknowledged writes against the NVLogs. The full description: docs/models/nvlog_mirror.md.

Fault targets: `primary` and `partner` (`crash`, `power_loss`; hosts, nesting), `partner_apply`
(`throttle`, `outage`: the partner's apply thread slowed or stalled), `interconnect`
(`link_down`, `slow_link`; `sim.components.rdma.RdmaLink`).

The NVLog's two halves and its consistency points are `consistency_point`; the
partner's receive credits and RNR back-pressure are in `mirror_qp`; failure detection in
`failure_detector`.

Abstracted away: the partner's own send queue, CPU contention other than the worker pool,
MetroCluster (DR partner) mirroring, client retries of failed writes.
"""

from __future__ import annotations

from typing import Any

from sim.components.rdma import RdmaLink
from sim.core.fault_target import FaultTarget
from sim.core.registry import register_system
from sim.core.system import System
from sim.systems.nvlog_mirror.client import Client
from sim.systems.nvlog_mirror.completion_handler import CompletionHandler
from sim.systems.nvlog_mirror.consistency_point import ConsistencyPoints
from sim.systems.nvlog_mirror.fault_points import FAULT_POINTS
from sim.systems.nvlog_mirror.metrics import METRICS, collect
from sim.systems.nvlog_mirror.mirror_qp import MirrorQueuePair
from sim.systems.nvlog_mirror.occupancy import SlotOccupancy
from sim.systems.nvlog_mirror.oracle import AckOracle
from sim.systems.nvlog_mirror.params import NvlogParams, NvlogWorkload
from sim.systems.nvlog_mirror.partner import PartnerNode
from sim.systems.nvlog_mirror.primary import PrimaryNode
from sim.systems.nvlog_mirror.recovery import PairRecovery
from sim.systems.nvlog_mirror.takeover import TakeoverService
from sim.systems.nvlog_mirror.variants import ACKS, SLOTS
from sim.systems.nvlog_mirror.wait_for import wait_for_edges
from sim.systems.nvlog_mirror.write_transaction import WriteTransaction


@register_system("nvlog_mirror")
class NvlogMirror(System):
    """NVLog mirroring to an HA partner over RDMA, with or without send-queue slot reservation."""

    Params = NvlogParams
    Workload = NvlogWorkload
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: NvlogParams, workload: NvlogWorkload | None = None) -> None:
        if workload is None:
            workload = self.Workload(rate=200e3)
        super().__init__(sim, params, workload)
        p = params
        rec = sim.recorder
        self.spw = p.slots_per_write
        # recorders
        self.latency = rec.tally("write_latency")
        self.lag = rec.tally("mirror_lag")
        self.suspend_time = rec.tally("reservation_wait")
        self.c_acked = rec.counter("writes_acknowledged")
        self.c_degraded = rec.counter("writes_acknowledged_degraded")
        self.c_arrived = rec.counter("writes_arrived")
        self.c_rejected = rec.counter("writes_rejected")
        self.c_failed = rec.counter("writes_failed")
        self.c_susp = rec.counter("suspensions")
        self.c_blocked = rec.counter("blocked_posts")
        self.c_resync = rec.counter("resync_entries")
        self.c_aborts = rec.counter("reservations_released")
        self.sq_occupancy = SlotOccupancy(self.env, self.violation_log, p.send_queue_slots)
        # components: the two nodes and the interconnect's queue pair
        self.link = RdmaLink(self.env, p.rdma_latency, p.rdma_bandwidth, name="interconnect")
        self.qp = MirrorQueuePair(self.env, self.link, 0, p.send_queue_slots, None,
                                  signal_interval=p.signal_interval, signal_below_free=p.slots_per_write,
                                  rnr_timer=p.rnr_timer)
        self.sq_occupancy.attach(self.qp.sq)
        self.primary = PrimaryNode(sim, p, p.primary_recovery_time)
        self.oracle = AckOracle(self.violation_log)
        # actors
        self.client = Client(self)
        self.completions = CompletionHandler(self)
        self.qp.cq.on_nonempty = self.completions.completions_arrived
        self.partner = PartnerNode(sim, p, self.link, self.completions.ack_arrived_cb)
        self.qp.remote = self.partner
        self.client.partner_log = self.partner.nvlog
        self.txn = WriteTransaction(self, SLOTS[p.reservation], ACKS[p.ack_before_mirror])
        self.client.txn = self.txn
        self.service = TakeoverService(self)
        self.client.service = self.service
        self.recovery = PairRecovery(self)
        self.txn.resync = self.recovery
        self.cps = ConsistencyPoints(self)
        self.txn.cps = self.cps
        self.service.cps = self.recovery.cps = self.cps
        self.targets: dict[str, FaultTarget] = {"primary": self.primary, "partner": self.partner,
                                                "partner_apply": self.partner.apply_faults,
                                                "interconnect": self.link}
        # instants the framework marks
        self.busy_at_warmup = 0.0
        self.resv_waits_at_warmup = 0
        self.heal_started = False
        self.acked_at_heal = 0
        sim.deadlock.watch(lambda: wait_for_edges(self.primary, self.qp, self.completions, self.spw))
        sim.add_probe("send_queue_occupancy", lambda: self.qp.sq.posted)
        sim.add_probe("run_queue_length", lambda: len(self.primary.pool.runq))
        sim.add_probe("suspended_transactions", lambda: len(self.qp.sq._res_waiters))
        sim.add_probe("writes_acknowledged", lambda: self.c_acked.value)

    # --- System contract ---------------------------------------------------------------------------
    def start(self) -> None:
        self.client.start()

    def on_warmup(self) -> None:
        self.busy_at_warmup = self.primary.busy_total()
        self.resv_waits_at_warmup = self.qp.sq.reservation_waits
        self.sq_occupancy.reset()
        self.client.window_start = self.env.now
        self.client.acked_cohort = self.client.degraded_cohort = 0

    def on_heal_phase(self) -> None:
        self.heal_started = True
        self.acked_at_heal = self.c_acked.value

    def converged(self) -> str | None:
        """Liveness after a campaign's heal phase: the pair serves, mirrors and has caught up."""
        primary = self.primary
        if not primary.up:
            return "the primary is not serving writes"
        if not self.partner.up:
            return "the partner is down"
        if not primary.mirroring:
            return "the primary still runs degraded (the partner was never resynced)"
        if not self.link.up:
            return "the interconnect is still down"
        backlog = len(primary.unmirrored)
        if backlog > self.params.send_queue_slots:
            return f"{backlog} log entries are still missing on the partner"
        if self.heal_started and self.c_acked.value == self.acked_at_heal:
            return "no write was acknowledged during the heal phase"
        return None

    def progress(self) -> tuple[float, int]:
        """(client writes acknowledged, client writes in progress) for the framework's stall check."""
        return self.c_acked.value, self.client.inflight

    def fault_targets(self) -> dict[str, FaultTarget]:
        return self.targets

    def inject(self, fault: Any) -> None:
        self._target(fault).inject(fault)

    def heal(self, fault: Any) -> None:
        self._target(fault).heal(fault)

    def _target(self, fault: Any) -> FaultTarget:
        t = self.targets.get(fault.target)
        if t is None:
            raise ValueError(f"nvlog_mirror has no fault target {fault.target!r} (targets: {', '.join(self.targets)})")
        return t

    def metrics(self) -> dict[str, float]:
        return collect(self)

    def check_at_end(self) -> None:
        self.oracle.check_durable(self.primary.nvlog, self.partner.nvlog, self.env.now)
