"""NVLog mirroring over RDMA with an interconnect send-queue reservation system (system `nvlog_mirror`).

What it stands for: a storage node (the *primary*) logs each client write in its NVLog
(battery-backed NVRAM / PMEM) and mirrors the entry to its HA *partner* over an RDMA queue pair.
The node's file system runs write transactions on a fixed pool of worker threads:

- suspendable phase: the transaction may wait by suspending (it gives its worker back and is
  restarted later). With `reservation: true` it reserves `slots_per_write` send-queue slots here;
  if they are short it suspends and is restarted when completions free slots.
- modify phase: it may not suspend and keeps its worker until it ends. It does its file-system
  work, appends the NVLog entry locally and posts the mirror transfer. With `reservation: false`
  (the baseline) a full send queue makes it wait *holding its worker*.
- completion processing (which frees send-queue slots, and receives the partner's
  acknowledgements) runs as a task on the same worker pool. When every worker waits for a slot,
  no completion can be processed: a deadlock, which the wait-for graph finds.
- the partner applies each mirrored entry to its NVLog (one apply thread, FIFO) and acknowledges
  it; the client's write completes when the local append and the partner's acknowledgement are
  both done (or right after the local append with the deliberately broken `ack_before_mirror`).

Faults (targets `primary`, `partner`, `interconnect`):
- `crash` / `power_loss` of the primary: volatile state is lost (queued and running transactions,
  the send and completion queues, unacknowledged writes fail); the NVLog survives. The partner
  takes over: at that instant every write acknowledged in mirrored mode must be in the partner's
  NVLog (invariant `acked_write_on_partner`). Arrivals while the primary is down are rejected
  (takeover service by the partner is abstracted away). Heal = restart: after
  `primary_recovery_time` the primary serves again and resyncs log entries the partner lacks.
- `crash` / `power_loss` of the partner: its unapplied entries are lost, its NVLog survives. The
  primary notices at once (heartbeat detection time abstracted away), flushes the queue pair and
  runs *degraded*: writes are acknowledged after the local append only (counted apart; they are
  outside the mirrored invariant). Heal = restart: the primary resyncs the entries the partner
  lacks, then mirrors again.
- `link_down` / `slow_link` on the interconnect: see `sim.components.rdma.RdmaLink`.

Abstracted away: consistency points (the NVLog never fills; entries are never retired), the
partner's own send queue, CPU contention other than the worker pool, NVLog halves, MetroCluster
(DR partner) mirroring, client retries of failed writes.

Oracle: the LSNs (log sequence numbers) of acknowledged writes, in mirrored and degraded mode,
checked against the LSNs durably in each node's NVLog; all kept as range sets (memory grows
with the number of gaps, not of writes).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from pydantic import Field, model_validator
from simpy.events import Timeout

from sim.check.rangeset import RangeSet
from sim.components.rdma import QueuePair, RdmaLink
from sim.core.registry import register_metric, register_system
from sim.core.system import Params, System, Violation
from sim.core.units import ByteRate, Duration, Size
from sim.workloads import PoissonArrivals, SizeDist

NODE_FAULT_KINDS = ("crash", "power_loss")
MAX_VIOLATIONS = 20


# --------------------------------------------------------------------------------------------------
# Range sets: the oracle and the NVLog contents
# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# Model objects
# --------------------------------------------------------------------------------------------------
class Write:
    """One client write and its transaction state."""

    __slots__ = ("seq", "size", "t_arrival", "t_appended", "lsn", "res", "blocked_since",
                 "suspended_since", "epoch", "mirror", "acked")

    def __init__(self, seq: int, size: float, now: float, epoch: int) -> None:
        self.seq = seq
        self.size = size
        self.t_arrival = now
        self.t_appended = -1.0
        self.lsn = -1
        self.res = None
        self.blocked_since: float | None = None
        self.suspended_since: float | None = None
        self.epoch = epoch
        self.mirror = True
        self.acked = False


class _CompletionTask:
    """The run-queue entry that makes a worker run the completion handler."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "completion_handler"


COMPLETIONS = _CompletionTask()


class Worker:
    """One worker thread: runs a task's generator, resuming it when the SimPy event it yields fires.

    The pool drives task generators directly rather than through one SimPy Process per worker,
    so handing a task to a free worker costs no extra event. A task yields ordinary SimPy events;
    a worker is held from the task's start until its generator returns.
    """

    __slots__ = ("pool", "index", "task", "gen", "alive", "t_start", "_cb")

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.task: Any = None  # what the worker runs (for the wait-for graph)
        self.gen = None  # its generator
        self.alive = True
        self.t_start = 0.0
        self._cb = self._resume

    def _resume(self, ev) -> None:
        if self.alive:
            self._step(ev._value)

    def _step(self, value: Any) -> None:
        gen = self.gen
        while True:
            try:
                ev = gen.send(value)
            except StopIteration:
                pool = self.pool
                now = pool.env._now  # (the `now` property, without the call: this runs per task)
                pool.busy_time += now - self.t_start
                runq = pool.runq
                if runq and self.alive:  # the next task, FIFO
                    self.gen, self.task = gen, _ = runq.popleft()
                    self.t_start = now
                    value = None
                    continue
                self.task = None
                self.gen = None
                if self.alive:
                    pool.idle.append(self)
                return
            ev.callbacks.append(self._cb)
            return


class WorkerPool:
    """A fixed pool of worker threads with one FIFO run queue (the file system's message scheduler).

    A task is a generator (what the worker executes) plus the object it works for (`task`, shown
    in the wait-for graph)."""

    def __init__(self, env, n: int) -> None:
        self.env = env
        self.runq: deque[tuple] = deque()
        self.workers = [Worker(self, i) for i in range(n)]
        self.idle: list[Worker] = list(reversed(self.workers))  # pop() takes worker 0 first
        self.busy_time = 0.0

    def submit(self, gen, task: Any) -> None:
        """Run `gen` on a free worker now, or queue it."""
        if self.idle:
            w = self.idle.pop()
            w.gen = gen
            w.task = task
            w.t_start = self.env.now
            w._step(None)
        else:
            self.runq.append((gen, task))

    def queued(self) -> list[Any]:
        return [t for _g, t in self.runq]

    def stop(self) -> None:
        """The node crashed: every task is abandoned, the run queue is lost."""
        for w in self.workers:
            w.alive = False
            if w.gen is not None:
                w.gen.close()
                w.gen = None
            w.task = None
        for gen, _t in self.runq:
            gen.close()
        self.runq.clear()
        self.idle.clear()

    def busy_now(self) -> float:
        now = self.env.now
        return self.busy_time + sum(now - w.t_start for w in self.workers if w.task is not None)


class NodeTarget:
    """A fault target standing for one node of the pair (`primary` or `partner`)."""

    fault_kinds = NODE_FAULT_KINDS

    def __init__(self, system: NvlogMirror, role: str) -> None:
        self.system = system
        self.role = role

    def inject(self, fault) -> None:
        self.system._node_fault(self.role, fault, True)

    def heal(self, fault) -> None:
        self.system._node_fault(self.role, fault, False)


for _name, _desc in {
    "throughput_ops_s": "acknowledged client writes per second of measured time",
    "write_latency_mean_s": "client write latency (arrival to acknowledgement), mean",
    "mirror_lag_mean_s": "replica freshness: local NVLog append to the partner's acknowledgement, mean",
    "send_queue_occupancy_mean": "posted send-queue slots, time average",
    "reservation_waits": "send-queue reservations that could not be granted at once",
    "suspensions": "write transactions suspended for lack of send-queue slots",
    "lost_acknowledged_writes": "writes acknowledged in mirrored mode missing from the partner's NVLog at a primary crash",
}.items():
    register_metric(_name, _desc)


@register_system("nvlog_mirror")
class NvlogMirror(System):
    """NVLog mirroring to an HA partner over RDMA, with or without send-queue slot reservation."""

    class Params(Params):
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
        primary_recovery_time: Duration = Field(10e-3, description="primary restart to service: NVLog replay and giveback, s")

        @model_validator(mode="after")
        def _fits(self):
            if self.slots_per_write > self.send_queue_slots:
                raise ValueError(f"slots_per_write ({self.slots_per_write}) exceeds send_queue_slots "
                                 f"({self.send_queue_slots}): no write could ever be posted")
            return self

    class Workload(PoissonArrivals):
        """Open-loop Poisson arrivals of client writes at `rate`, sizes drawn from `size`."""

        size: SizeDist = Field(default_factory=lambda: SizeDist(dist="fixed", value=4096))

    # ----------------------------------------------------------------------------------------------
    def __init__(self, sim, params: Params, workload: Workload | None = None) -> None:
        if workload is None:
            workload = self.Workload(rate=200e3)
        super().__init__(sim, params, workload)
        p = params
        env = self.env
        rec = sim.recorder
        self.reservation = p.reservation
        self.spw = p.slots_per_write
        # hot-path constants
        self._cpu = p.txn_cpu_cost
        self._inv_nvbw = 1.0 / p.nvlog_bandwidth
        self._nv_lat = p.nvlog_append_latency
        self._hdr = p.mirror_header
        self._apply_cost = p.partner_apply_cost + p.nvlog_append_latency
        self._cq_batch = p.cq_poll_batch
        self._cq_cost = p.completion_cost
        self._ack_bytes = p.rdma_ack_bytes
        self._ack_early = p.ack_before_mirror
        self._restart_cb = self._restart  # bound methods made once, not per write
        self._apply_cb = self.partner_apply
        self._applied_cb = self._partner_applied
        self._ack_arrived_cb = self._ack_arrived
        self.link = RdmaLink(env, p.rdma_latency, p.rdma_bandwidth, name="interconnect")
        self.sq_occupancy = rec.gauge("send_queue_occupancy")
        self.qp = QueuePair(env, self.link, 0, p.send_queue_slots, self._completions_arrived, self.sq_occupancy,
                            signal_interval=p.signal_interval, signal_below_free=p.slots_per_write)
        self._cq_q = self.qp.cq._q
        self.targets = {"primary": NodeTarget(self, "primary"), "partner": NodeTarget(self, "partner"),
                        "interconnect": self.link}
        # worker pool and run queue
        self.pool = WorkerPool(env, p.workers)
        self._busy_prev = 0.0  # worker busy time of pools lost in crashes
        self._busy_at_warmup = 0.0
        self.cq_scheduled = False
        self.cq_queued_since: float | None = None
        # node state
        self.epoch = 0  # primary incarnation
        self.primary_up = True
        self.primary_serving = True
        self._primary_faults = 0
        self.partner_up = True
        self.partner_epoch = 0
        self._partner_faults = 0
        self.mirroring = True  # false while the primary runs degraded (partner down)
        self.nvlog_busy = 0.0  # NVLog bandwidth: time the log device is free
        self.next_lsn = 0
        self.partner_busy = 0.0  # the partner's apply thread is busy until this time
        self.awaiting_ack: dict[int, Write] = {}  # lsn -> write posted and not yet acknowledged
        # durable state and oracle
        self.primary_log = RangeSet()
        self.partner_log = RangeSet()
        self.acked_mirrored = RangeSet()
        self.acked_degraded = RangeSet()
        self.unmirrored: list[int] = []  # LSNs in the primary log the partner may lack
        self.resync_in_flight = False
        self._violations: list[Violation] = []
        self.lost_acked = 0
        # metrics
        self.latency = rec.tally("write_latency")
        self.lag = rec.tally("mirror_lag")
        self.suspend_time = rec.tally("reservation_wait")
        self.c_acked = rec.counter("writes_acknowledged")
        self.c_degraded = rec.counter("writes_acknowledged_degraded")
        self.c_arrived = rec.counter("writes_arrived")
        self.c_rejected = rec.counter("writes_rejected")
        self.c_failed = rec.counter("writes_failed")
        self.c_susp = rec.counter("suspensions")
        self._resv_waits_at_warmup = 0
        self.c_blocked = rec.counter("blocked_posts")
        self.c_resync = rec.counter("resync_entries")
        self.c_aborts = rec.counter("reservations_released")
        self.seq = 0
        self.inflight = 0
        sim.deadlock.watch(self._wait_for_edges)
        sim.add_probe("send_queue_occupancy", lambda: self.qp.sq.posted)
        sim.add_probe("run_queue_length", lambda: len(self.pool.runq))
        sim.add_probe("suspended_transactions", lambda: len(self.qp.sq._res_waiters))
        sim.add_probe("writes_acknowledged", lambda: self.c_acked.value)

    # --- System contract ---------------------------------------------------------------------------
    def start(self) -> None:
        self.env.process(self.client_arrivals())
        self._heal_start: float | None = None
        self._acked_at_heal = 0
        heal = self.sim.checks.get("heal_phase")
        if heal:
            self.env.process(self._heal_phase_mark(max(0.0, self.sim.duration - heal)))
        if self.sim.warmup > 0:
            self.env.process(self._warmup_mark())

    def _warmup_mark(self):
        yield Timeout(self.env, self.sim.warmup)
        self._busy_at_warmup = self._busy_prev + self.pool.busy_now()
        self._resv_waits_at_warmup = self.qp.sq.reservation_waits

    def converged(self) -> str | None:
        """Liveness after a campaign's heal phase: the pair serves, mirrors and has caught up."""
        if not (self.primary_up and self.primary_serving):
            return "the primary is not serving writes"
        if not self.partner_up:
            return "the partner is down"
        if not self.mirroring:
            return "the primary still runs degraded (the partner was never resynced)"
        if not self.link.up:
            return "the interconnect is still down"
        backlog = len(self.unmirrored)
        if backlog > self.params.send_queue_slots:
            return f"{backlog} log entries are still missing on the partner"
        recent = self.c_acked.value - self._acked_at_heal
        if self._heal_start is not None and recent == 0:
            return "no write was acknowledged during the heal phase"
        return None

    def _heal_phase_mark(self, at: float):
        yield Timeout(self.env, at)
        self._heal_start = self.env.now
        self._acked_at_heal = self.c_acked.value

    def fault_targets(self) -> dict[str, Any]:
        return self.targets

    def fault_kinds(self) -> dict[str, tuple[str, ...]]:
        """Fault kinds each target accepts (for validating a scenario's `faults:`)."""
        return {name: tuple(t.fault_kinds) for name, t in self.targets.items()}

    def inject(self, fault) -> None:
        self._target(fault).inject(fault)

    def heal(self, fault) -> None:
        self._target(fault).heal(fault)

    def _target(self, fault):
        t = self.targets.get(fault.target)
        if t is None:
            raise ValueError(f"nvlog_mirror has no fault target {fault.target!r} (targets: {', '.join(self.targets)})")
        if fault.kind not in t.fault_kinds:
            raise ValueError(f"fault target {fault.target!r} cannot take {fault.kind!r} "
                             f"(supported: {', '.join(t.fault_kinds)})")
        return t

    # --- actors ------------------------------------------------------------------------------------
    def client_arrivals(self):
        """Open-loop Poisson arrivals of client writes."""
        wl = self.workload
        gap = wl.interarrival(self.sim.rng("nvlog_mirror.arrivals"))
        size = wl.size.sampler(self.sim.rng("nvlog_mirror.sizes"))
        fixed = float(wl.size.value) if wl.size.dist == "fixed" else 0.0  # skip the call when constant
        env = self.env
        arrived = self.c_arrived
        while True:
            yield Timeout(env, gap())
            arrived.value += 1
            if not self.primary_serving:
                self.c_rejected.value += 1
                continue
            self.seq += 1
            self.inflight += 1
            w = Write(self.seq, fixed or size(), env.now, self.epoch)
            self.pool.submit(self.write_transaction(w), w)

    def write_transaction(self, w: Write):
        """A write transaction: suspendable phase (reserve), then modify phase (append, post)."""
        env = self.env
        # ---- suspendable phase
        if w.suspended_since is not None:  # restarted after a suspension
            self.suspend_time.record(env.now - w.suspended_since)
            w.suspended_since = None
        w.mirror = self.mirroring
        if self.reservation and w.mirror and w.res is None:
            res = self.qp.reserve(self.spw, self._restart_cb, w)
            if res is None:
                # suspend: give the worker back; `_restart` requeues us with the granted slots
                w.suspended_since = env.now
                self.c_susp.value += 1
                return
            w.res = res
        # ---- modify phase: no suspension from here on; the worker is held until the end
        now = env.now
        start = now + self._cpu  # file-system work, then the append on the NVLog's bandwidth (FIFO)
        busy = self.nvlog_busy
        if busy > start:
            start = busy
        self.nvlog_busy = end = start + w.size * self._inv_nvbw
        w.lsn = lsn = self.next_lsn
        self.next_lsn = lsn + 1
        yield Timeout(env, end + self._nv_lat - now)
        self.primary_log.add(lsn)  # durable in the local NVLog
        w.t_appended = env.now
        if not self.mirroring or (self.reservation and w.res is None):
            # degraded: the partner is down (or came back while this transaction, begun without a
            # reservation, ran: it may not block for slots now); hand back an unused
            # reservation (the abort path); the entry goes to the partner with the next resync
            if w.res is not None:
                self.qp.release(w.res)
                self.c_aborts.value += 1
                w.res = None
            self.unmirrored.append(lsn)
            self._ack(w, True, env.now)
            if self.mirroring:
                self._resync()
            return
        nbytes = w.size + self._hdr
        self.awaiting_ack[lsn] = w
        if self._ack_early:
            self._ack(w, False, env.now)  # the bug: the partner may not have it yet
        if w.res is not None:
            res = w.res
            w.res = None
            self.qp.send(res, nbytes, self._apply_cb, w, w)
        else:
            ev = self.qp.post(self.spw)
            if ev is not None:
                # baseline: the send queue is full; wait for a slot while holding the worker
                w.blocked_since = env.now
                self.c_blocked.value += 1
                yield ev
                w.blocked_since = None
            self.qp.transmit(self.spw, nbytes, self._apply_cb, w, w)

    def _restart(self, w: Write, res) -> None:
        """Slots were granted to a suspended transaction: restart it."""
        if w.epoch != self.epoch:
            self.qp.release(res)
            return
        w.res = res
        self.pool.submit(self.write_transaction(w), w)

    def _completions_arrived(self) -> None:
        if not self.cq_scheduled and self.primary_up:
            self.cq_scheduled = True
            self.cq_queued_since = self.env.now
            self.pool.submit(self.completion_handler(), COMPLETIONS)

    def completion_handler(self):
        """Process a batch of work completions: free send-queue slots, take partner acknowledgements."""
        self.cq_queued_since = None
        qp = self.qp
        q = self._cq_q
        if len(q) <= self._cq_batch:  # poll (as CompletionQueue.poll): everything, or a batch
            batch = list(q)
            q.clear()
        else:
            batch = qp.cq.poll(self._cq_batch)
        yield Timeout(self.env, len(batch) * self._cq_cost)
        send_kind = QueuePair.SEND
        now = self.env.now
        awaiting = self.awaiting_ack
        for wc in batch:
            if wc[0] == send_kind:
                if wc[3] == qp.epoch:  # (a flushed connection's slots are already free)
                    qp.sq.complete(wc[2])  # frees slots: waiting reservations are granted, transactions restart
                continue
            # the partner's acknowledgement of a mirrored entry
            w = wc[1]
            if awaiting.pop(w.lsn, None) is None:
                continue  # already settled (acknowledged in degraded mode at a partner crash)
            self.lag.record(now - w.t_appended)
            if not w.acked:
                self._ack(w, False, now)
        if q:
            self.cq_queued_since = self.env.now
            self.pool.submit(self.completion_handler(), COMPLETIONS)
        else:
            self.cq_scheduled = False

    def partner_apply(self, w: Write) -> None:
        """A mirrored entry reached the partner: its apply thread writes it to the partner's NVLog, then
        acknowledges it. The apply thread is a FIFO single server; its finishing time is computed
        on arrival (Lindley's recursion), so an entry costs one event, not a process wake-up."""
        if not self.partner_up:
            return  # a crashed partner receives nothing
        now = self.env.now
        start = self.partner_busy
        if now > start:
            start = now
        self.partner_busy = done = start + self._apply_cost + w.size * self._inv_nvbw
        Timeout(self.env, done - now, (w, self.partner_epoch)).callbacks.append(self._applied_cb)

    def _partner_applied(self, ev) -> None:
        w, epoch = ev._value
        if epoch != self.partner_epoch:
            return  # the partner crashed before the entry was durable: lost with its volatile state
        self.partner_log.add(w.lsn)
        self.link.transfer(1, self._ack_bytes, self._ack_arrived_cb, w)

    def _ack_arrived(self, w: Write) -> None:
        """The partner's acknowledgement reached the primary's NIC: a receive completion."""
        if w.epoch != self.epoch or not self.primary_up:
            return
        q = self._cq_q
        q.append((QueuePair.RECV, w, 0, 0))  # a receive completion (CompletionQueue.push, inlined)
        if len(q) == 1:
            self._completions_arrived()

    def _ack(self, w: Write, degraded: bool, now: float) -> None:
        """Complete the client's write."""
        w.acked = True
        self.inflight -= 1
        self.latency.record(now - w.t_arrival)
        self.c_acked.value += 1
        if degraded:
            self.c_degraded.value += 1
            self.acked_degraded.add(w.lsn)
        else:
            self.acked_mirrored.add(w.lsn)

    # --- deadlock detection --------------------------------------------------------------------------
    def _wait_for_edges(self):
        """Wait-for graph: transactions holding workers wait for send-queue slots; slots are freed only
        by the completion handler; the completion handler waits for a worker.

        The worker pool is an OR-wait (any free worker will do), so it appears on a cycle only when
        every worker is held by a transaction that itself waits; its edges then carry the time the
        last of them started waiting (when the pool was lost)."""
        edges: list[tuple] = []
        if not self.primary_up:
            return edges
        sq = self.qp.sq
        tasks = [wk.task for wk in self.pool.workers]
        blocked = [w for w in tasks if isinstance(w, Write) and w.blocked_since is not None]
        for w in blocked:
            edges.append((f"write_transaction#{w.seq}", "send_queue", w.blocked_since))
        if sq.posted > 0 and sq.free < self.spw:
            edges.append(("send_queue", "completion_handler"))
        if self.cq_queued_since is not None and not self.pool.idle:
            edges.append(("completion_handler", "workers", self.cq_queued_since))
        if blocked and len(blocked) == len(tasks):
            since = max(w.blocked_since for w in blocked)
            for w in blocked:
                edges.append(("workers", f"write_transaction#{w.seq}", since))
        return edges

    # --- faults ------------------------------------------------------------------------------------
    def _node_fault(self, role: str, fault, start: bool) -> None:
        if role == "primary":
            if start:
                self._primary_faults += 1
                if self._primary_faults == 1:
                    self._primary_crash(fault.kind)
            elif self._primary_faults > 0:
                self._primary_faults -= 1
                if self._primary_faults == 0:
                    self.env.process(self.primary_recovery())
        else:
            if start:
                self._partner_faults += 1
                if self._partner_faults == 1:
                    self._partner_crash(fault.kind)
            elif self._partner_faults > 0:
                self._partner_faults -= 1
                if self._partner_faults == 0:
                    self._partner_restart()

    def _primary_crash(self, kind: str) -> None:
        now = self.env.now
        self.sim.note("primary_crash", kind=kind)
        # the invariant: the partner takes over with its NVLog; every write acknowledged in
        # mirrored mode must be in it
        missing = self.acked_mirrored.difference(self.partner_log)
        if len(missing):
            self.lost_acked += len(missing)
            if len(self._violations) < MAX_VIOLATIONS:
                self._violations.append(Violation(
                    "acked_write_on_partner",
                    f"{len(missing)} acknowledged write(s) missing from the partner's NVLog at primary {kind}",
                    now, {"missing": len(missing), "first_lsns": missing.first(5)}))
        self.primary_up = False
        self.primary_serving = False
        self.epoch += 1
        self._busy_prev += self.pool.busy_now()
        self.pool.stop()
        self.pool = WorkerPool(self.env, self.params.workers)
        self.pool.idle.clear()  # no worker runs until the node has restarted
        self.cq_scheduled = False
        self.cq_queued_since = None
        self.qp.reset()
        # appended but unacknowledged entries may be missing on the partner: resync them later
        self.unmirrored.extend(sorted(self.awaiting_ack))
        self.awaiting_ack.clear()
        self.c_failed.value += self.inflight
        self.inflight = 0
        self.nvlog_busy = now

    def primary_recovery(self):
        """Restart of the primary: NVLog replay and giveback, then service and resync."""
        epoch = self.epoch
        yield Timeout(self.env, self.params.primary_recovery_time)
        if self._primary_faults or epoch != self.epoch:
            return
        self.primary_up = True
        self.primary_serving = True
        if self.partner_up:
            self.mirroring = True
            self.qp.connect()
        else:
            self.mirroring = False
            self.qp.disconnect()
        self.pool = WorkerPool(self.env, self.params.workers)
        self.sim.note("primary_restarted")
        self._resync()

    def _partner_crash(self, kind: str) -> None:
        self.sim.note("partner_crash", kind=kind)
        self.partner_up = False
        self.partner_epoch += 1
        self.partner_busy = self.env.now
        if not self.primary_up:
            return
        self._enter_degraded()

    def _enter_degraded(self) -> None:
        self.mirroring = False
        # entries waiting for the partner's acknowledgement: acknowledged now, durable locally
        pending = [self.awaiting_ack[k] for k in sorted(self.awaiting_ack)]
        self.awaiting_ack.clear()
        for w in pending:
            self.unmirrored.append(w.lsn)
            if not w.acked:
                self._ack(w, True, self.env.now)
        self.qp.disconnect()  # flushes posted sends; waiting reservations are granted and restart

    def _partner_restart(self) -> None:
        self.partner_up = True
        self.sim.note("partner_restarted")
        if self.primary_up:
            self.mirroring = True
            self.qp.connect()
            self._resync()

    def _resync(self) -> None:
        """Send the partner the log entries it may lack, as one bulk transfer; repeat until none."""
        if self.resync_in_flight or not self.unmirrored or not (self.primary_up and self.partner_up):
            return
        batch = RangeSet()
        for lsn in sorted(self.unmirrored):
            batch.add(lsn)
        self.unmirrored = []
        self.resync_in_flight = True
        nbytes = len(batch) * (self.workload.size.expected() + self.params.mirror_header)
        self.link.transfer(0, nbytes, self._resync_arrived, (batch, self.partner_epoch, self.epoch))

    def _resync_arrived(self, msg) -> None:
        batch, pepoch, epoch = msg
        self.resync_in_flight = False
        if pepoch != self.partner_epoch or not self.partner_up:
            self.unmirrored.extend(batch)  # partner crashed again meanwhile: try later
            return
        self.partner_log.update(batch)
        self.c_resync.value += len(batch)
        self.sim.note("resync_done", entries=len(batch))
        self._resync()

    # --- results -----------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        sim = self.sim
        t = sim.recorder.measured_time()  # observed span: warm-up end (or 0) to the run's end
        acked = self.c_acked.value
        latency = self.latency.summary("write_latency", "s")
        lag = self.lag.summary("mirror_lag", "s")
        span = t
        acked_in_window = acked
        if sim.outcome.deadlock is not None:
            # A detected deadlock is permanent (nothing on its cycle can move again), so the run
            # stops early only to save time: the measured window stays the scenario's
            # [warm-up, duration], with no acknowledgement after the detection. Dividing by the
            # time to the detection instead would make the figure depend on the check interval.
            span = sim.duration - sim.warmup
            if sim.warmup > 0 and sim.recorder.warmup_end == 0.0:
                # deadlocked before the warm-up ended: the window holds no acknowledgement, and the
                # recorders still hold warm-up samples, which the scenario asks to leave out
                acked_in_window = 0
                latency = dict.fromkeys(latency, math.nan)
                lag = dict.fromkeys(lag, math.nan)
        out = {
            "throughput_ops_s": acked_in_window / span if span > 0 else math.nan,
            **latency,
            **lag,
            "send_queue_occupancy_mean": self.sq_occupancy.mean(),
            "send_queue_occupancy_max": self.sq_occupancy.max,
            "workers_busy_mean": ((self._busy_prev + self.pool.busy_now() - self._busy_at_warmup) / t
                                  if t > 0 else math.nan),
            # the send queue's count of reservations it could not grant at once (the transactions'
            # own count of suspensions must agree: a transaction suspends exactly then)
            "reservation_waits": self.qp.sq.reservation_waits - self._resv_waits_at_warmup,
            "reservation_wait_mean_s": self.suspend_time.mean if self.suspend_time.n else math.nan,
            "suspensions": self.c_susp.value,
            "reservations_released": self.c_aborts.value,
            "blocked_posts": self.c_blocked.value,
            "writes_arrived": self.c_arrived.value,
            "writes_acknowledged": acked,
            "writes_acknowledged_degraded": self.c_degraded.value,
            "writes_rejected": self.c_rejected.value,
            "writes_failed": self.c_failed.value,
            "writes_in_progress": self.inflight,
            "resync_entries": self.c_resync.value,
            "unmirrored_entries": len(self.unmirrored),
            "lost_acknowledged_writes": self.lost_acked,
            "link_messages": self.link.messages,
        }
        return out

    def violations(self) -> list[Violation]:
        out = list(self._violations)
        # every acknowledged write (mirrored or degraded) is durable in at least one NVLog
        durable = RangeSet()
        durable.update(self.primary_log)
        durable.update(self.partner_log)
        for name, acked in (("mirrored", self.acked_mirrored), ("degraded", self.acked_degraded)):
            gone = acked.difference(durable)
            if len(gone):
                out.append(Violation("acked_write_durable",
                                     f"{len(gone)} write(s) acknowledged in {name} mode are in no NVLog",
                                     self.env.now, {"missing": len(gone), "first_lsns": gone.first(5)}))
        return out
