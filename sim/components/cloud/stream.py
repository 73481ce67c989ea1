"""Cloud stream service (Amazon Kinesis Data Streams, provisioned mode, by default).

A stream has `shards`; a record goes to one shard (explicit, by partition key, or round robin)
and gets the shard's next sequence number. Per shard, token buckets enforce the write limits
(records/s and bytes/s) and the read limits (GetRecords calls/s and bytes/s; a large read puts
the byte bucket in debt, so the next calls are refused until it refills, as Kinesis does). A
request over a limit fails with `Throttled` (ProvisionedThroughputExceededException) after one
round trip; the caller backs off and retries. Records older than the retention period are gone:
reading from a sequence number that has expired raises `RecordsExpired` carrying how many
records were lost, so a consumer that fell behind detects the data loss instead of hiding it.
Cost: shard-hours (plus extended retention beyond 24 h) and PUT payload units (25 KB chunks).

Faults: `outage` (every request raises `ServiceUnavailable`), `throttle` (limits scaled by
`params.factor`, 0 refuses every request), `lose_data` (the records of `params.shard`, or every
shard, up to now are gone).

Abstracted away: resharding, enhanced fan-out, aggregation (KPL), the put-to-get propagation
delay beyond the put latency, per-account API limits.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from sim.components.base import (
    CloudService,
    RecordsExpired,
    ServiceUnavailable,
    Throttled,
    TokenBucket,
    fault_param,
)
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveRate, PositiveSize


class StreamParams(Params):
    """Kinesis Data Streams, provisioned mode (us-east-1 prices; see docs/calibration.md)."""

    shards: int = Field(1, ge=1, description="number of shards")
    write_records_per_shard: PositiveRate = Field(1000, description="records/s written per shard")
    write_bytes_per_shard: ByteRate = Field(2**20, description="bytes/s written per shard (1 MiB/s)")
    read_calls_per_shard: PositiveRate = Field(5, description="GetRecords calls/s per shard")
    read_bytes_per_shard: ByteRate = Field(2 * 2**20, description="bytes/s read per shard (2 MiB/s)")
    burst: PositiveDuration = Field(1.0, description="token-bucket depth in seconds of each limit")
    max_record_size: PositiveSize = Field(2**20, description="largest record payload, bytes (1 MiB)")
    max_records_per_get: int = Field(10_000, ge=1, description="records one GetRecords returns at most")
    max_bytes_per_get: PositiveSize = Field(10 * 2**20, description="bytes one GetRecords returns at most")
    put_latency: Duration = Field(20e-3, description="PutRecord round trip, s")
    get_latency: Duration = Field(20e-3, description="GetRecords round trip, s")
    retention: PositiveDuration = Field(24 * 3600.0, description="records expire after this, s (24 h .. 365 d)")
    price_shard_hour_usd: float = Field(0.015, ge=0)
    price_put_units_per_million_usd: float = Field(0.014, ge=0)
    put_unit_bytes: PositiveSize = Field(25 * 2**10, description="PUT payload unit size (25 KB)")
    price_extended_retention_shard_hour_usd: float = Field(0.02, ge=0, description="retention beyond 24 h, up to 7 d")


@dataclass(slots=True)
class Record:
    """A record in a shard: sequence number, arrival time, size and the model's payload."""

    shard: int
    seq: int
    arrived_at: float
    nbytes: float
    value: Any = None


class Shard:
    """One shard: its retained records (oldest first) and its four rate limits."""

    __slots__ = ("index", "records", "next_seq", "expired", "retained_bytes",
                 "write_records", "write_bytes", "read_calls", "read_bytes")

    def __init__(self, index: int, p: StreamParams, now: float) -> None:
        self.index = index
        self.records: deque[Record] = deque()
        self.next_seq = 0
        self.expired = 0
        self.retained_bytes = 0.0
        b = p.burst
        self.write_records = TokenBucket(p.write_records_per_shard, p.write_records_per_shard * b, now)
        self.write_bytes = TokenBucket(p.write_bytes_per_shard, max(p.write_bytes_per_shard * b, p.max_record_size), now)
        self.read_calls = TokenBucket(p.read_calls_per_shard, p.read_calls_per_shard * b, now)
        self.read_bytes = TokenBucket(p.read_bytes_per_shard, p.read_bytes_per_shard * b, now)

    @property
    def oldest_seq(self) -> int:
        """Sequence number of the oldest retained record (== next_seq when empty)."""
        return self.records[0].seq if self.records else self.next_seq


@register("components", "stream_service")
class StreamService(CloudService):
    """Sharded record stream with per-shard write/read limits, throttling, retention expiry and costs."""

    fault_kinds = ("outage", "throttle", "lose_data")
    Params = StreamParams

    def __init__(self, sim, params: StreamParams | None = None, name: str = "stream") -> None:
        params = params if params is not None else StreamParams()
        super().__init__(sim, params, name)
        now = self.env.now
        self.shards = [Shard(i, params, now) for i in range(params.shards)]
        self.created_at = now
        self._rr = 0
        self.put_records = 0
        self.put_bytes = 0.0
        self.put_units = 0
        self.throttled_puts = 0
        self.throttled_gets = 0
        self.get_calls = 0
        self.lost_records = 0

    # --- helpers -------------------------------------------------------------------------------
    def shard_for(self, partition_key: Any = None, shard: int | None = None) -> Shard:
        """The shard of an explicit index, a partition key (stable CRC32 hash) or the next in round robin."""
        n = len(self.shards)
        if shard is not None:
            return self.shards[shard % n]
        if partition_key is not None:
            return self.shards[zlib.crc32(str(partition_key).encode()) % n]
        self._rr = (self._rr + 1) % n
        return self.shards[self._rr]

    def _trim(self, sh: Shard) -> None:
        horizon = self.env.now - self.params.retention
        recs = sh.records
        while recs and recs[0].arrived_at <= horizon:
            r = recs.popleft()
            sh.expired += 1
            sh.retained_bytes -= r.nbytes

    def _check_available(self) -> None:
        if self.outage:
            raise ServiceUnavailable(f"{self.name}: service unavailable")

    def _try_write(self, sh: Shard, nbytes: float) -> bool:
        if self.throttle_factor == 0.0:
            return False
        now = self.env.now
        wr, wb = sh.write_records, sh.write_bytes
        wr.factor = wb.factor = self.throttle_factor
        if wr.available(now) + 1e-9 < 1.0 or wb.available(now) + 1e-9 < nbytes:
            return False
        wr.tokens -= 1.0
        wb.tokens -= nbytes
        return True

    def _append(self, sh: Shard, nbytes: float, value: Any) -> Record:
        self._trim(sh)
        rec = Record(sh.index, sh.next_seq, self.env.now, nbytes, value)
        sh.next_seq += 1
        sh.records.append(rec)
        sh.retained_bytes += nbytes
        self.put_records += 1
        self.put_bytes += nbytes
        self.put_units += max(1, math.ceil(nbytes / self.params.put_unit_bytes))
        return rec

    # --- API -----------------------------------------------------------------------------------
    def put(self, nbytes: float, value: Any = None, partition_key: Any = None,
            shard: int | None = None) -> Generator[Any, Any, Record]:
        """PutRecord: returns the stored record, or raises Throttled / ServiceUnavailable after the round trip."""
        if not 0 < nbytes <= self.params.max_record_size:
            raise ValueError(f"record size {nbytes} outside (0, {self.params.max_record_size}] bytes")
        sh = self.shard_for(partition_key, shard)
        lat = self.params.put_latency
        if self.outage:
            yield self.env.timeout(lat)
            self._check_available()
        if not self._try_write(sh, nbytes):
            self.throttled_puts += 1
            yield self.env.timeout(lat)
            raise Throttled(f"{self.name}: shard {sh.index} write limit exceeded")
        yield self.env.timeout(lat)
        return self._append(sh, nbytes, value)

    def put_many(self, records: list[tuple[float, Any, Any]]) -> Generator[Any, Any, list[Record | None]]:
        """PutRecords (up to 500): `(nbytes, value, partition_key)` each; None where a record was throttled."""
        if not 1 <= len(records) <= 500:
            raise ValueError("PutRecords takes 1 to 500 records")
        yield self.env.timeout(self.params.put_latency)
        self._check_available()
        out: list[Record | None] = []
        for nbytes, value, key in records:
            if not 0 < nbytes <= self.params.max_record_size:
                raise ValueError(f"record size {nbytes} outside (0, {self.params.max_record_size}] bytes")
            sh = self.shard_for(key)
            if self._try_write(sh, nbytes):
                out.append(self._append(sh, nbytes, value))
            else:
                self.throttled_puts += 1
                out.append(None)
        return out

    def get_records(self, shard: int, after_seq: int | None = None, max_records: int | None = None
                    ) -> Generator[Any, Any, list[Record]]:
        """GetRecords: records of `shard` with sequence number > `after_seq` (None: from the trim horizon).

        If records after `after_seq` have expired, raises RecordsExpired with `.lost` (how many are
        gone) and `.records` (what the call read from the trim horizon on, so the reader continues
        without chasing the horizon). Throttled over the read limits, ServiceUnavailable in an outage.
        """
        p = self.params
        sh = self.shards[shard]
        self.get_calls += 1
        yield self.env.timeout(p.get_latency)
        self._check_available()
        now = self.env.now
        rc, rb = sh.read_calls, sh.read_bytes
        rc.factor = rb.factor = self.throttle_factor
        if self.throttle_factor == 0.0 or rb.available(now) <= 0.0 or not rc.try_take(now):
            self.throttled_gets += 1
            raise Throttled(f"{self.name}: shard {shard} read limit exceeded")
        self._trim(sh)
        first = sh.oldest_seq
        start = first if after_seq is None else after_seq + 1
        gap = first - start if start < first else 0
        if gap:
            start = first
        limit = min(max_records or p.max_records_per_get, p.max_records_per_get)
        out: list[Record] = []
        total = 0.0
        recs = sh.records
        i = start - first
        n = len(recs)
        while i < n and len(out) < limit:
            r = recs[i]
            if total + r.nbytes > p.max_bytes_per_get and out:
                break
            out.append(r)
            total += r.nbytes
            i += 1
        rb.tokens -= total  # may go into debt: later calls are throttled until it refills
        if gap:
            err = RecordsExpired(f"{self.name}: shard {shard}: {gap} records after seq {after_seq} expired")
            err.lost = gap  # type: ignore[attr-defined]
            err.records = out  # type: ignore[attr-defined]
            err.next_seq = first  # type: ignore[attr-defined]  # continue with after_seq = next_seq - 1
            raise err
        return out

    def latest_seq(self, shard: int) -> int:
        """Sequence number of the newest record in `shard` (-1 if none yet)."""
        return self.shards[shard].next_seq - 1

    def retained_bytes(self) -> float:
        for sh in self.shards:
            self._trim(sh)
        return sum(sh.retained_bytes for sh in self.shards)

    # --- cost ----------------------------------------------------------------------------------
    def cost_usd(self) -> dict[str, float]:
        p = self.params
        hours = (self.env.now - self.created_at) / 3600.0
        extended = p.price_extended_retention_shard_hour_usd if p.retention > 24 * 3600.0 else 0.0
        return {
            "shard_hours_usd": p.shards * hours * (p.price_shard_hour_usd + extended),
            "put_units_usd": self.put_units / 1e6 * p.price_put_units_per_million_usd,
        }

    # --- faults --------------------------------------------------------------------------------
    # `outage` and `throttle`: CloudService
    def _inject_lose_data(self, fault: Any) -> None:
        """Every retained record of `params.shard` (or of all shards) is gone."""
        which = fault_param(fault, "shard")
        for sh in self.shards if which is None else [self.shards[int(which)]]:
            self.lost_records += len(sh.records)
            sh.expired += len(sh.records)
            sh.records.clear()
            sh.retained_bytes = 0.0
