"""Micro-benchmark: the cloud stream service alone, under an offered write load.

Producers put records of `record_size` bytes as a Poisson stream at `arrival_rate` (spread over the
shards by random partition keys). A throttled put is counted and, with `retry: true`, retried after
an exponential backoff (`backoff` doubling per attempt, as the AWS SDKs do), otherwise dropped.
Optionally a consumer polls every shard every `poll_interval` and reads what is new, measuring
the lag from put to read and detecting records that expired before it read them.

What it shows: the accepted write rate saturates at the shard limits
(min(records/s, bytes/s / record size) per shard) and the excess is throttled; a consumer slower
than the retention period loses records, and the loss is reported (`expired_records`).
"""

from __future__ import annotations

from pydantic import Field

from sim.components.base import RecordsExpired, ServiceUnavailable, Throttled
from sim.components.cloud.stream import StreamParams, StreamService
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import Duration, PositiveDuration, PositiveRate, PositiveSize
from sim.workloads import batched


@register_system("stream_service")
class StreamServiceMicro(System):
    """Cloud stream service alone: Poisson puts against per-shard limits, throttling, optional consumer."""

    metrics_spec = (
        Metric("offered_rate_ops_s", "puts offered per s (first attempts)"),
        Metric("accepted_rate_ops_s", "puts the stream accepted, per s"),
        Metric("accepted_bytes_s", "bytes of accepted puts per s"),
        Metric("throttled_fraction", "fraction of put attempts throttled"),
        Metric("dropped_records", "records given up on (throttled without retry, out of attempts, outage)"),
        Metric("put_latency_mean_s", "mean time from the first attempt to the accepted put"),
        Metric("cost_usd", "stream bill: shard hours and PUT payload units"),
        Metric("read_rate_ops_s", "consumer: records read per s"),
        Metric("read_bytes_s", "consumer: bytes read per s"),
        Metric("read_throttled", "consumer: GetRecords calls throttled"),
        Metric("read_lag_mean_s", "consumer: mean time from a record's put to its read"),
        Metric("read_lag_p99_s", "consumer: 99th percentile of the read lag"),
        Metric("expired_records", "consumer: records that expired before the consumer read them"),
    )

    class Params(Params):
        stream: StreamParams = Field(StreamParams(), description="the stream service (shards, limits, retention, prices)")
        arrival_rate: PositiveRate = Field(description="offered puts per s (all shards)")
        record_size: PositiveSize = Field(1024, description="bytes per record")
        retry: bool = Field(False, description="retry throttled puts with exponential backoff")
        backoff: PositiveDuration = Field(0.1, description="first retry delay, s (doubles per attempt)")
        max_attempts: int = Field(5, ge=1, description="retry: attempts per record before it is dropped")
        consumer: bool = Field(False, description="poll every shard and read new records")
        poll_interval: Duration = Field(1.0, description="consumer: time between polls of a shard, s (0: poll again at once)")
        read_batch: int = Field(10_000, ge=1, description="consumer: records asked for per GetRecords")

    def __init__(self, sim, params, workload=None) -> None:
        super().__init__(sim, params, workload)
        self.stream = StreamService(sim, params.stream, "stream")
        rec = sim.recorder
        self.offered = rec.counter("offered")
        self.accepted = rec.counter("accepted")
        self.accepted_bytes = rec.counter("accepted_bytes")
        self.throttled = rec.counter("throttled")
        self.dropped = rec.counter("dropped")
        self.read_records = rec.counter("read_records")
        self.read_bytes = rec.counter("read_bytes")
        self.read_throttled = rec.counter("read_throttled")
        self.expired = rec.counter("expired_records")
        self.lag = rec.tally("read_lag")
        self.put_latency = rec.tally("put_latency")

    def fault_targets(self):
        return {"stream": self.stream}

    def start(self) -> None:
        self.env.process(self.producer())
        if self.params.consumer:
            for i in range(self.params.stream.shards):
                self.env.process(self.consumer(i))

    def producer(self):
        p = self.params
        rng = self.sim.rng("stream.arrivals")
        gap = 1.0 / p.arrival_rate
        interarrival = batched(lambda n: rng.exponential(gap, n))
        key_rng = self.sim.rng("stream.keys")
        key = batched(lambda n: key_rng.integers(0, 2**31, n))
        env = self.env
        while True:
            yield env.timeout(interarrival())
            self.offered.value += 1
            env.process(self.put_record(int(key())))

    def put_record(self, key: int):
        p = self.params
        t0 = self.env.now
        delay = p.backoff
        for _attempt in range(p.max_attempts if p.retry else 1):
            try:
                yield from self.stream.put(p.record_size, t0, partition_key=key)
            except Throttled:
                self.throttled.value += 1
                if p.retry:
                    yield self.env.timeout(delay)
                    delay *= 2
                continue
            except ServiceUnavailable:
                break
            self.accepted.value += 1
            self.accepted_bytes.value += p.record_size
            self.put_latency.record(self.env.now - t0)
            return
        self.dropped.value += 1

    def consumer(self, shard: int):
        """Reads shard `shard` from the trim horizon on, every `poll_interval`."""
        env = self.env
        after = None
        while True:
            try:
                recs = yield from self.stream.get_records(shard, after, self.params.read_batch)
            except RecordsExpired as e:
                self.expired.value += e.lost
                recs = e.records
                after = e.next_seq - 1
            except Throttled:
                self.read_throttled.value += 1
                recs = []
            except ServiceUnavailable:
                recs = []
            now = env.now
            for r in recs:
                if after is not None and r.seq != after + 1:
                    self.violation_log.add("stream_order", f"shard {shard}: record {r.seq} read after {after}",
                                           now)
                after = r.seq
                self.lag.record(now - r.value)
                self.read_bytes.value += r.nbytes
            self.read_records.value += len(recs)
            if self.params.poll_interval > 0 or not recs:
                yield env.timeout(self.params.poll_interval or self.params.stream.get_latency)

    def metrics(self) -> dict[str, float]:
        t = self.sim.recorder.measured_time()
        offered = self.offered.value
        attempts = self.accepted.value + self.throttled.value
        out = {
            "offered_rate_ops_s": offered / t,
            "accepted_rate_ops_s": self.accepted.value / t,
            "accepted_bytes_s": self.accepted_bytes.value / t,
            "throttled_fraction": self.throttled.value / attempts if attempts else 0.0,
            "dropped_records": float(self.dropped.value),
            "put_latency_mean_s": self.put_latency.mean if self.put_latency.n else float("nan"),
            "cost_usd": sum(self.stream.cost_usd().values()),
        }
        if self.params.consumer:
            out.update({
                "read_rate_ops_s": self.read_records.value / t,
                "read_bytes_s": self.read_bytes.value / t,
                "read_throttled": float(self.read_throttled.value),
                "read_lag_mean_s": self.lag.mean if self.lag.n else float("nan"),
                "read_lag_p99_s": self.lag.percentile(99),
                "expired_records": float(self.expired.value),
            })
        return out
