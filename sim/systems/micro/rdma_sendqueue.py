"""Micro-benchmark: the RDMA send queue alone, as a multi-server queue with `slots` servers.

Work requests arrive as a Poisson stream; each takes one slot of the send queue
(`sim.components.rdma.SendQueue`, the same class the NVLog model uses) from posting until its
completion is processed, a service time drawn from an exponential or deterministic distribution.
- `mode: loss`: a post that finds every slot busy fails (`ibv_post_send` returns ENOMEM) and the
  work request is dropped: an M/M/c/c (or M/D/c/c) loss system, whose blocking probability is
  Erlang B for any service distribution.
- `mode: wait`: the post waits FIFO for a slot (`SendQueue.post`): M/M/c (Erlang C waiting
  times; M/M/1 with one slot), or M/M/c/K with `queue_capacity` = K - c waiting places.

No SimPy process per work request: a completion is a timeout whose callback frees the slot,
so the benchmark measures the queue, not process overhead.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from pydantic import Field

from sim.components.rdma import SendQueue
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import PositiveDuration, PositiveRate
from sim.workloads import batched


@register_system("rdma_sendqueue")
class RdmaSendQueueMicro(System):
    """RDMA send queue alone: Poisson posts, slot held for a service time; loss or FIFO-wait mode."""

    metrics_spec = (
        Metric("arrivals", "work requests posted after the warm-up"),
        Metric("blocking_probability", "fraction of posts refused (loss: ENOMEM; wait: no waiting place)"),
        Metric("mean_wait_s", "mean time a post waited for a slot (0 in loss mode)"),
        Metric("mean_occupancy", "time-average number of busy send-queue slots"),
        Metric("utilization", "mean_occupancy / slots"),
        Metric("throughput_ops_s", "work requests completed per s"),
        Metric("accepted_rate_ops_s", "work requests not refused, per s"),
        Metric("mean_in_system", "wait mode: time-average number of work requests waiting or in service"),
        Metric("mean_sojourn_s", "wait mode: mean time from post to completion"),
        Metric("p99_wait_s", "wait mode: 99th percentile of the wait for a slot"),
    )

    class Params(Params):
        slots: int = Field(8, ge=1, description="send-queue slots (servers)")
        arrival_rate: PositiveRate = Field(description="Poisson arrivals of work requests, per s")
        mean_service_time: PositiveDuration = Field(description="mean time a slot is held, s")
        service_distribution: Literal["exponential", "deterministic"] = Field(
            "exponential", description="distribution of the time a slot is held")
        mode: Literal["loss", "wait"] = Field("loss", description="loss: a full queue drops the post (ENOMEM); wait: FIFO")
        queue_capacity: int | None = Field(None, ge=0, description="wait mode: waiting places (None: unbounded)")
        max_arrivals: int = Field(0, ge=0, description="stop after this many arrivals (0: run for the duration)")

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        rec = sim.recorder
        self.in_system = rec.gauge("in_system")
        self.send_queue = SendQueue(self.env, params.slots)
        self._busy_at_warmup = 0.0  # posted slot-seconds at the warm-up's end
        self.arrivals = rec.counter("arrivals")
        self.blocked = rec.counter("blocked")
        self.completed = rec.counter("completed")
        self.wait = rec.tally("wait")
        self.sojourn_sum = rec.counter("sojourn_sum")  # a float sum: mean sojourn = sum / completed
        self.total_arrivals = 0
        self.total_completed = 0
        mean = params.mean_service_time
        if params.service_distribution == "exponential":
            rng = sim.rng("rdma_sendqueue.service")
            self.service_time = batched(lambda n: rng.exponential(mean, n))
        else:
            self.service_time = lambda: mean
        arr_rng = sim.rng("rdma_sendqueue.arrivals")
        gap = 1.0 / params.arrival_rate
        self.interarrival = batched(lambda n: arr_rng.exponential(gap, n))
        self._waiting: deque[float] = deque()

    def on_warmup(self) -> None:
        self._busy_at_warmup = self.send_queue.slot_seconds()[0]

    def start(self) -> None:
        if self.params.mode == "loss":
            self.env.process(self.post_loss())
        else:
            self.env.process(self.post_wait())

    # --- loss mode: ENOMEM drops the work request ---------------------------------------------
    def post_loss(self):
        env = self.env
        timeout = env.timeout
        interarrival = self.interarrival
        service_time = self.service_time
        try_post = self.send_queue.try_post
        arrivals = self.arrivals
        blocked = self.blocked
        done = self.completion_handler
        limit = self.params.max_arrivals or -1
        n = 0
        while n != limit:
            yield timeout(interarrival())
            n += 1
            arrivals.value += 1
            if try_post(1):
                timeout(service_time()).callbacks.append(done)
            else:
                blocked.value += 1
        self.total_arrivals = n
        self.sim.stop("max_arrivals reached")

    def completion_handler(self, _ev) -> None:
        """The completion of a work request is processed: its slot is free."""
        self.send_queue.complete(1)
        self.completed.value += 1
        self.total_completed += 1

    # --- wait mode: the post waits FIFO for a slot --------------------------------------------
    def post_wait(self):
        env = self.env
        timeout = env.timeout
        interarrival = self.interarrival
        sq = self.send_queue
        cap = self.params.queue_capacity
        limit = self.params.max_arrivals or -1
        n = 0
        while n != limit:
            yield timeout(interarrival())
            n += 1
            self.arrivals.value += 1
            now = env.now
            if cap is not None and sq.waiting >= cap and sq.free == 0:
                self.blocked.value += 1
                continue
            self.in_system.add(1)
            ev = sq.post(1)
            if ev is None:
                self.wait.record(0.0)
                self._start_service(now)
            else:
                self._waiting.append(now)
                ev.callbacks.append(self._granted)
        self.total_arrivals = n
        self.sim.stop("max_arrivals reached")

    def _granted(self, _ev) -> None:
        t0 = self._waiting.popleft()
        self.wait.record(self.env.now - t0)
        self._start_service(t0)

    def _start_service(self, t0: float) -> None:
        ev = self.env.timeout(self.service_time())
        ev.callbacks.append(lambda _e: self._depart(t0))

    def _depart(self, t0: float) -> None:
        self.send_queue.complete(1)
        self.in_system.add(-1)
        self.sojourn_sum.value += self.env.now - t0
        self.completed.value += 1
        self.total_completed += 1

    # --- results ------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        arrivals = self.arrivals.value
        t = self.sim.recorder.measured_time()
        occ = (self.send_queue.slot_seconds()[0] - self._busy_at_warmup) / t if t > 0 else float("nan")
        out = {
            "arrivals": float(arrivals),
            "blocking_probability": self.blocked.value / arrivals if arrivals else float("nan"),
            "mean_wait_s": self.wait.mean if self.wait.n else 0.0,
            "mean_occupancy": occ,
            "utilization": occ / self.params.slots,
            "throughput_ops_s": self.completed.value / t if t > 0 else float("nan"),
            "accepted_rate_ops_s": (arrivals - self.blocked.value) / t if t > 0 else float("nan"),
        }
        if self.params.mode == "wait":
            out["mean_in_system"] = self.in_system.mean()
            done = self.completed.value
            out["mean_sojourn_s"] = self.sojourn_sum.value / done if done else float("nan")
            out["p99_wait_s"] = self.wait.percentile(99)
        return out

    def check_at_end(self) -> None:
        sq = self.send_queue
        log = self.violation_log
        if not 0 <= sq.posted <= self.params.slots:
            log.add("slots", f"{sq.posted} slots posted of {self.params.slots}", self.env.now)
        if self.total_completed > self.total_arrivals and self.total_arrivals:
            log.add("conservation", "more completions than arrivals", self.env.now)
