"""Cloud stream service (Amazon Kinesis Data Streams, provisioned mode, by default).

A stream has `shards`; a record goes to one shard (explicit, by partition key, or round robin)
and gets the shard's next sequence number. Per shard, token buckets enforce the write limits
(records/s and bytes/s) and the read limits (GetRecords calls/s and bytes/s; a large read puts
the byte bucket in debt, so the next calls are refused until it refills, as Kinesis does). A
request over a limit fails with `Throttled` (ProvisionedThroughputExceededException) after one
round trip; the caller backs off and retries. Records older than the retention period are gone:
reading from a sequence number that has expired raises `RecordsExpired` carrying how many
records were lost, so a consumer that fell behind detects the data loss instead of hiding it.
Retention is Kinesis's range, 24 h to 8,760 h (365 d); anything else is a parameter error. Cost:
shard-hours, PUT payload units (25 KB chunks) and, with a retention beyond 24 h, extended retention
per shard-hour (24 h to 7 d); beyond 7 d, long-term retention per GB-month of the data kept past
its first 7 days (`cost_usd` charges what the run accrued; `long_term_gb_steady` gives the
steady-state stored GB for a monthly extrapolation from a short run). Reads of records older than
7 d are billed per GB retrieved by AWS: not charged here.

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

from pydantic import Field, field_validator

from sim.components.base import (
    GB,
    SECONDS_PER_MONTH,
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

RETENTION_MIN = 24 * 3600.0  # Kinesis Data Streams: 24 h (default and minimum) ..
RETENTION_MAX = 8760 * 3600.0  # .. 8,760 h (365 d); AWS docs, "Change the data retention period"
EXTENDED_UNTIL = 7 * 24 * 3600.0  # extended retention (per shard-hour) covers up to 7 d; beyond: per GB-month


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
    retention: PositiveDuration = Field(24 * 3600.0, description="records expire after this, s (24 h .. 8,760 h)")
    price_shard_hour_usd: float = Field(0.015, ge=0)
    price_put_units_per_million_usd: float = Field(0.014, ge=0)
    put_unit_bytes: PositiveSize = Field(25 * 2**10, description="PUT payload unit size (25 KB)")
    price_extended_retention_shard_hour_usd: float = Field(0.02, ge=0, description="retention beyond 24 h, up to 7 d")
    price_long_term_retention_gb_month_usd: float = Field(0.023, ge=0, description="data kept beyond 7 d, per "
                                                          "GB-month (retention > 7 d)")

    @field_validator("retention")
    @classmethod
    def _kinesis_retention(cls, v: float) -> float:
        if not RETENTION_MIN <= v <= RETENTION_MAX:
            raise ValueError(f"{v:g} s is outside the Kinesis retention range, 24 h (86,400 s) to 8,760 h "
                             f"(365 d)")
        return v


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
        self.long_term_byte_s = 0.0  # bytes x seconds records spent beyond 7 d (expired or lost ones)

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
        retention = self.params.retention
        horizon = self.env.now - retention
        recs = sh.records
        long_term = retention - EXTENDED_UNTIL
        while recs and recs[0].arrived_at <= horizon:
            r = recs.popleft()
            sh.expired += 1
            sh.retained_bytes -= r.nbytes
            if long_term > 0:
                self.long_term_byte_s += r.nbytes * long_term

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
        """Costs so far: shard-hours (with extended retention beyond 24 h), PUT payload units, and
        long-term retention: GB-months of data kept beyond its first 7 days (retention > 7 d)."""
        p = self.params
        hours = (self.env.now - self.created_at) / 3600.0
        extended = p.price_extended_retention_shard_hour_usd if p.retention > RETENTION_MIN else 0.0
        return {
            "shard_hours_usd": p.shards * hours * (p.price_shard_hour_usd + extended),
            "put_units_usd": self.put_units / 1e6 * p.price_put_units_per_million_usd,
            "long_term_retention_usd": self.long_term_gb_months() * p.price_long_term_retention_gb_month_usd,
        }

    def long_term_gb_months(self) -> float:
        """GB-months of long-term retention accrued so far: records' bytes x time beyond 7 days."""
        if self.params.retention <= EXTENDED_UNTIL:
            return 0.0
        for sh in self.shards:
            self._trim(sh)  # expired records move their whole time beyond 7 d into long_term_byte_s
        byte_s = self.long_term_byte_s
        cut = self.env.now - EXTENDED_UNTIL
        for sh in self.shards:
            for r in sh.records:  # oldest first: stop at the first record younger than 7 d
                if r.arrived_at >= cut:
                    break
                byte_s += r.nbytes * (cut - r.arrived_at)
        return byte_s / GB / SECONDS_PER_MONTH

    def long_term_gb_steady(self, put_bytes_s: float) -> float:
        """GB held in long-term retention at steady state when `put_bytes_s` bytes/s are put: each
        record spends `retention - 7 d` there (0 up to 7 d). Times the GB-month price: the monthly cost
        a run shorter than 7 d cannot accrue yet."""
        return put_bytes_s * max(0.0, self.params.retention - EXTENDED_UNTIL) / GB

    # --- faults --------------------------------------------------------------------------------
    # `outage` and `throttle`: CloudService
    def _inject_lose_data(self, fault: Any) -> None:
        """Every retained record of `params.shard` (or of all shards) is gone."""
        which = fault_param(fault, "shard")
        cut = self.env.now - EXTENDED_UNTIL
        for sh in self.shards if which is None else [self.shards[int(which)]]:
            self.lost_records += len(sh.records)
            if self.params.retention > EXTENDED_UNTIL:  # billed for the time they were kept beyond 7 d
                self.long_term_byte_s += sum(r.nbytes * (cut - r.arrived_at) for r in sh.records
                                             if r.arrived_at < cut)
            sh.expired += len(sh.records)
            sh.records.clear()
            sh.retained_bytes = 0.0
