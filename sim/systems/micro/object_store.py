"""Micro-benchmark: the cloud object store alone, under Poisson PUT and GET load.

Requests go to `prefixes` prefixes (`p<i>/`) at random, over a fixed key space of
`keys_per_prefix` keys per prefix; a GET asks for a key already written. A throttled request
(503 SlowDown) is counted and dropped. What it shows: latency percentiles from the lognormal
first-byte latency plus transfer time; throttling once a prefix's rate exceeds its limit
(3,500 PUT/s, 5,500 GET/s per prefix), relieved by spreading keys over more prefixes; the
request and storage bill.
"""

from __future__ import annotations

from pydantic import Field

from sim.components.base import ServiceUnavailable, Throttled
from sim.components.cloud.object_store import ObjectStore, ObjectStoreParams
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import PositiveSize, Rate
from sim.workloads import batched


@register_system("object_store")
class ObjectStoreMicro(System):
    """Cloud object store alone: Poisson PUTs and GETs over prefixes, latency, throttling, cost."""

    metrics_spec = (
        Metric("put_requests", "PUT requests sent after the warm-up"),
        Metric("put_accepted_rate_ops_s", "PUT requests not throttled, per s"),
        Metric("put_throttled_fraction", "fraction of PUTs refused with 503 SlowDown"),
        Metric("get_requests", "GET requests sent after the warm-up (keys already written)"),
        Metric("get_accepted_rate_ops_s", "GET requests not throttled, per s"),
        Metric("get_throttled_fraction", "fraction of GETs refused with 503 SlowDown"),
        Metric("put_latency_mean_s", "mean latency of a successful PUT"),
        Metric("put_latency_p50_s", "median latency of a successful PUT"),
        Metric("put_latency_p99_s", "99th percentile latency of a successful PUT"),
        Metric("get_latency_mean_s", "mean latency of a successful GET"),
        Metric("get_latency_p50_s", "median latency of a successful GET"),
        Metric("get_latency_p99_s", "99th percentile latency of a successful GET"),
        Metric("errors", "requests failed by an outage, a lost or a corrupt object"),
        Metric("stored_bytes", "bytes stored at the end of the run"),
        Metric("cost_put_requests_usd", "PUT request bill"),
        Metric("cost_get_requests_usd", "GET request bill"),
        Metric("cost_storage_usd", "storage bill (GB-months integrated over simulated time)"),
    )

    class Params(Params):
        store: ObjectStoreParams = Field(ObjectStoreParams(), description="the object store (latencies, limits, prices)")
        put_rate: Rate = Field(100.0, description="PUT requests per s (all prefixes)")
        get_rate: Rate = Field(0.0, description="GET requests per s (all prefixes)")
        object_size: PositiveSize = Field(64 * 2**10, description="bytes per object")
        prefixes: int = Field(1, ge=1, description="prefixes the keys are spread over")
        keys_per_prefix: int = Field(1000, ge=1, description="keys per prefix (the key space)")

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        self.store = ObjectStore(sim, params.store, "store")
        rec = sim.recorder
        self.put_latency = rec.tally("put_latency")
        self.get_latency = rec.tally("get_latency")
        self.puts = rec.counter("puts")
        self.gets = rec.counter("gets")
        self.put_throttled = rec.counter("put_throttled")
        self.get_throttled = rec.counter("get_throttled")
        self.errors = rec.counter("errors")
        n = params.prefixes * params.keys_per_prefix
        self._written = [None] * n  # expected value (version number) per key: the oracle
        krng = sim.rng("object_store.keys")
        self._key = batched(lambda k: krng.integers(0, n, k))

    def fault_targets(self):
        return {"store": self.store}

    def key_name(self, i: int) -> str:
        return f"p{i // self.params.keys_per_prefix}/k{i % self.params.keys_per_prefix}"

    def start(self) -> None:
        if self.params.put_rate > 0:
            self.env.process(self.client("put", self.params.put_rate))
        if self.params.get_rate > 0:
            self.env.process(self.client("get", self.params.get_rate))

    def client(self, op: str, rate: float):
        rng = self.sim.rng(f"object_store.{op}.arrivals")
        gap = 1.0 / rate
        interarrival = batched(lambda n: rng.exponential(gap, n))
        env = self.env
        req = self.put_request if op == "put" else self.get_request
        while True:
            yield env.timeout(interarrival())
            env.process(req(int(self._key())))

    def put_request(self, i: int):
        t0 = self.env.now
        self.puts.value += 1
        try:
            obj = yield from self.store.put(self.key_name(i), self.params.object_size, t0)
        except Throttled:
            self.put_throttled.value += 1
            return
        except ServiceUnavailable:
            self.errors.value += 1
            return
        self._written[i] = obj.version
        self.put_latency.record(self.env.now - t0)

    def get_request(self, i: int):
        expected = self._written[i]
        if expected is None:
            return  # only keys already written are read
        t0 = self.env.now
        self.gets.value += 1
        try:
            obj = yield from self.store.get(self.key_name(i))
        except Throttled:
            self.get_throttled.value += 1
            return
        except Exception:  # noqa: BLE001 - outage, lost or corrupt object: counted
            self.errors.value += 1
            return
        if obj.version < expected:  # read-after-write consistency broken
            self.violation_log.add("read_after_write", f"GET {self.key_name(i)} returned version {obj.version}"
                                   f" after version {expected} was written", self.env.now)
        self.get_latency.record(self.env.now - t0)

    def metrics(self) -> dict[str, float]:
        t = self.sim.recorder.measured_time()
        puts, gets = self.puts.value, self.gets.value
        cost = self.store.cost_usd()
        return {
            "put_requests": float(puts),
            "put_accepted_rate_ops_s": (puts - self.put_throttled.value) / t,
            "put_throttled_fraction": self.put_throttled.value / puts if puts else 0.0,
            "get_requests": float(gets),
            "get_accepted_rate_ops_s": (gets - self.get_throttled.value) / t,
            "get_throttled_fraction": self.get_throttled.value / gets if gets else 0.0,
            **self.put_latency.summary("put_latency", "s", (50, 99)),
            **self.get_latency.summary("get_latency", "s", (50, 99)),
            "errors": float(self.errors.value),
            "stored_bytes": self.store.stored_bytes,
            **{f"cost_{k}": v for k, v in cost.items()},
        }
