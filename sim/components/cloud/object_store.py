"""Cloud object store (Amazon S3 Standard by default).

A request waits a first-byte latency drawn from a lognormal distribution (given by its median and
99th percentile), then moves its bytes at the per-connection throughput (each request is one
connection). Requests are limited per prefix (the key up to its last `/`) by token buckets at the
published sustained rates; a request finding its bucket empty gets `Throttled` (HTTP 503 SlowDown)
after one round trip. Objects are visible as soon as the PUT completes (S3 is strongly
read-after-write consistent). Costs: per request (PUT/COPY/POST/LIST, and GET) and per GB-month
stored, integrated over simulated time.

Faults: `outage` (every request fails with `ServiceUnavailable` after one round trip), `throttle`
(rates scaled by `params.factor`, 0 = refuse everything), `lose_data` / `corrupt_data` (one key,
a prefix, or `count` random objects).

Abstracted away: prefix auto-partitioning over 30-60 min, multipart upload, storage classes
and lifecycle, the client's NIC limit unless a request passes it as `via` (a `SharedBandwidth`), data-transfer prices
(free within a region to EC2).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from sim.components.base import (
    BilledStorage,
    CloudService,
    CorruptData,
    NoSuchKey,
    ServiceUnavailable,
    SharedBandwidth,
    Throttled,
    TokenBucket,
    fault_param,
    random_subset,
)
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, PositiveDuration, PositiveRate


class ObjectStoreParams(Params):
    """S3 Standard, us-east-1 prices (see docs/calibration.md for sources and dates)."""

    put_latency_median: PositiveDuration = Field(30e-3, description="first-byte latency of a PUT, median, s")
    put_latency_p99: PositiveDuration = Field(200e-3, description="first-byte latency of a PUT, p99, s")
    get_latency_median: PositiveDuration = Field(20e-3, description="first-byte latency of a GET, median, s")
    get_latency_p99: PositiveDuration = Field(150e-3, description="first-byte latency of a GET, p99, s")
    connection_throughput: ByteRate = Field(90e6, description="bytes/s of one request's connection")
    put_rate_per_prefix: PositiveRate = Field(3500, description="PUT/COPY/POST/DELETE requests/s per prefix")
    get_rate_per_prefix: PositiveRate = Field(5500, description="GET/HEAD requests/s per prefix")
    burst: PositiveDuration = Field(1.0, description="token-bucket depth in seconds of the sustained rate")
    price_put_per_1000_usd: float = Field(0.005, ge=0, description="PUT, COPY, POST, LIST per 1,000 requests")
    price_get_per_1000_usd: float = Field(0.0004, ge=0, description="GET, SELECT and others per 1,000 requests")
    price_gb_month_usd: float = Field(0.023, ge=0, description="storage, first 50 TB per month")

    @model_validator(mode="after")
    def _p99_above_median(self):
        if self.put_latency_p99 < self.put_latency_median or self.get_latency_p99 < self.get_latency_median:
            raise ValueError("latency p99 must be >= its median")
        return self


@dataclass
class StoredObject:
    """An object: its key, size, the model's value (payload/version), version number and write time."""

    key: str
    nbytes: float
    value: Any
    version: int
    written_at: float
    corrupt: bool = False


def prefix_of(key: str) -> str:
    """The prefix a request rate limit applies to: the key up to its last '/'."""
    i = key.rfind("/")
    return key[:i] if i >= 0 else ""


def _lognormal_sigma(median: float, p99: float) -> float:
    return math.log(p99 / median) / 2.3263478740408408 if p99 > median else 0.0


@register("components", "object_store")
class ObjectStore(BilledStorage, CloudService):
    """Object store: PUT/GET latency distributions, per-prefix rate limits, per-connection throughput, costs."""

    fault_kinds = ("outage", "throttle", "lose_data", "corrupt_data")
    Params = ObjectStoreParams

    def __init__(self, sim, params: ObjectStoreParams | None = None, name: str = "object_store") -> None:
        params = params if params is not None else ObjectStoreParams()
        super().__init__(sim, params, name)
        self._rng = sim.rng(f"{name}.latency")
        self._put_sigma = _lognormal_sigma(params.put_latency_median, params.put_latency_p99)
        self._get_sigma = _lognormal_sigma(params.get_latency_median, params.get_latency_p99)
        self.objects: dict[str, StoredObject] = {}
        self._put_buckets: dict[str, TokenBucket] = {}
        self._get_buckets: dict[str, TokenBucket] = {}
        self._version = 0
        self.put_requests = 0
        self.get_requests = 0
        self.throttled = 0
        self.failed = 0
        self._start_storage_meter()

    # --- helpers -------------------------------------------------------------------------------
    def _latency(self, median: float, sigma: float) -> float:
        if sigma == 0.0:
            return median
        return median * math.exp(sigma * self._rng.standard_normal())

    def _admit(self, key: str, write: bool) -> bool:
        buckets = self._put_buckets if write else self._get_buckets
        prefix = prefix_of(key)
        b = buckets.get(prefix)
        if b is None:
            rate = self.params.put_rate_per_prefix if write else self.params.get_rate_per_prefix
            b = buckets[prefix] = TokenBucket(rate, rate * self.params.burst, self.env.now)
        if self.throttle_factor == 0.0:
            return False
        b.factor = self.throttle_factor
        return b.try_take(self.env.now)

    def _request(self, key: str, write: bool) -> Generator[Any, Any, None]:
        """Count and price the request; wait one first-byte latency; raise on outage or throttling."""
        p = self.params
        if write:
            self.put_requests += 1
            lat = self._latency(p.put_latency_median, self._put_sigma)
        else:
            self.get_requests += 1
            lat = self._latency(p.get_latency_median, self._get_sigma)
        if self.outage:
            yield self.env.timeout(lat)
            self.failed += 1
            raise ServiceUnavailable(f"{self.name}: service unavailable")
        if not self._admit(key, write):
            yield self.env.timeout(lat)
            self.throttled += 1
            raise Throttled(f"{self.name}: SlowDown on prefix {prefix_of(key)!r}")
        yield self.env.timeout(lat)

    # --- API -----------------------------------------------------------------------------------
    def _transfer(self, nbytes: float, via: SharedBandwidth | None) -> Generator[Any, Any, None]:
        """Move a request's bytes: at the connection throughput, or through the client's network
        `via` (a `SharedBandwidth` shared by its requests, each capped at the connection throughput)."""
        if via is None:
            yield self.env.timeout(nbytes / self.params.connection_throughput)
        else:
            yield via.transfer(nbytes)

    def put(self, key: str, nbytes: float, value: Any = None,
            via: SharedBandwidth | None = None) -> Generator[Any, Any, StoredObject]:
        """Store an object (replacing any previous one); returns it once durable and visible.
        `via`: the client's network, shared by its requests (see `_transfer`)."""
        if nbytes < 0:
            raise ValueError("object size must be >= 0")
        yield from self._request(key, True)
        if nbytes > 0:
            yield from self._transfer(nbytes, via)
        if self.outage:
            self.failed += 1
            raise ServiceUnavailable(f"{self.name}: service unavailable")
        self._account_storage()
        old = self.objects.get(key)
        if old is not None:
            self.stored_bytes -= old.nbytes
        self._version += 1
        obj = StoredObject(key, float(nbytes), value, self._version, self.env.now)
        self.objects[key] = obj
        self.stored_bytes += nbytes
        return obj

    def get(self, key: str, nbytes: float | None = None,
            via: SharedBandwidth | None = None) -> Generator[Any, Any, StoredObject]:
        """Read an object (or its first `nbytes`, a range GET); raises NoSuchKey or CorruptData.
        `via`: the client's network, shared by its requests (see `_transfer`)."""
        yield from self._request(key, False)
        obj = self.objects.get(key)
        if obj is None:
            raise NoSuchKey(f"{self.name}: no such key {key!r}")
        n = obj.nbytes if nbytes is None else min(nbytes, obj.nbytes)
        if n > 0:
            yield from self._transfer(n, via)
        if obj.corrupt:
            raise CorruptData(f"{self.name}: checksum mismatch on {key!r}")
        return obj

    def delete(self, key: str) -> Generator[Any, Any, bool]:
        """Delete an object (DELETE requests are free); True if it existed."""
        if self.outage:
            yield self.env.timeout(self.params.put_latency_median)
            raise ServiceUnavailable(f"{self.name}: service unavailable")
        yield self.env.timeout(self._latency(self.params.put_latency_median, self._put_sigma))
        return self.remove(key)

    def list(self, prefix: str = "") -> Generator[Any, Any, list[str]]:
        """Keys under `prefix`, sorted (one LIST request per 1,000 keys, priced as PUT)."""
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        pages = max(1, math.ceil(len(keys) / 1000))
        for _ in range(pages):
            yield from self._request(prefix + "/", True)
        return keys

    def remove(self, key: str) -> bool:
        """Delete without simulated time (lifecycle expiry, a model's garbage collection)."""
        obj = self.objects.pop(key, None)
        if obj is None:
            return False
        self._account_storage()
        self.stored_bytes -= obj.nbytes
        return True

    def exists(self, key: str) -> bool:
        return key in self.objects

    # --- cost ----------------------------------------------------------------------------------
    def cost_usd(self) -> dict[str, float]:
        """Cost so far: requests and storage (GB-months integrated over simulated time)."""
        p = self.params
        storage = self.storage_gb_months() * p.price_gb_month_usd
        return {
            "put_requests_usd": self.put_requests / 1000 * p.price_put_per_1000_usd,
            "get_requests_usd": self.get_requests / 1000 * p.price_get_per_1000_usd,
            "storage_usd": storage,
        }

    # --- faults --------------------------------------------------------------------------------
    # `outage` and `throttle`: CloudService
    def _pick(self, fault: Any) -> list[str]:
        key = fault_param(fault, "key")
        if key is not None:
            return [key] if key in self.objects else []
        prefix = fault_param(fault, "prefix")
        pool = sorted(k for k in self.objects if prefix is None or k.startswith(prefix))
        count = fault_param(fault, "count")
        if count is None:
            return pool if prefix is not None else pool[:1]
        return random_subset(self.sim.rng(f"{self.name}.faults"), pool, int(count))

    def _inject_lose_data(self, fault: Any) -> None:
        """Objects vanish: `params.key`, every key under `params.prefix`, or `params.count` at random."""
        for k in self._pick(fault):
            self.remove(k)

    def _inject_corrupt_data(self, fault: Any) -> None:
        """Objects whose bytes no longer match their checksum: GET raises CorruptData."""
        for k in self._pick(fault):
            self.objects[k].corrupt = True
