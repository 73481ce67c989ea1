"""Shared building blocks of the component library.

- `Component`: base class with a name, its validated `params`, and the fault protocol
  (`inject(fault)` / `heal(fault)` dispatching to `_inject_<kind>` / `_heal_<kind>`; an unsupported
  kind is a `ValueError` naming the kinds the component takes).
- `SharedBandwidth`: a capacity in bytes/s shared equally by the transfers in progress
  (egalitarian processor sharing, the fluid model of fair sharing of a link or memory channel),
  optionally capped per transfer. Event-driven: one pending timer, O(log n) per transfer.
- `TokenBucket`: the rate limiter of cloud APIs (a sustained rate plus a burst allowance).
- `CloudService`: the `outage` and `throttle` faults of a cloud service; `BilledStorage`: bytes
  stored integrated over time for a per-GB-month price.
- The exceptions components raise (throttling, outage, partition, lost or corrupt data).
"""

from __future__ import annotations

import heapq
from typing import Any

import simpy

from sim.core.fault_target import FaultTarget, fault_param


# --- errors a model may catch -------------------------------------------------------------------
class ComponentError(Exception):
    """Base of the errors a component raises at simulated time (the model decides what to do)."""


class Throttled(ComponentError):
    """A request refused by a rate limit (S3 503 SlowDown, Kinesis ProvisionedThroughputExceeded)."""


class ServiceUnavailable(ComponentError):
    """A cloud service in an outage (5xx for every request)."""


class LinkDown(ComponentError):
    """A network link is partitioned."""


class NoSuchKey(ComponentError):
    """An object that does not exist (never written, deleted, or lost by a `lose_data` fault)."""


class CorruptData(ComponentError):
    """Data whose checksum does not match (a `corrupt_data` fault); the reader detects it."""


class RecordsExpired(ComponentError):
    """Stream records asked for have passed the retention period and are gone."""


class NotRunning(ComponentError):
    """An operation on a stopped instance, a crashed node or a detached volume."""


# --- fault protocol -------------------------------------------------------------------------------
class Component(FaultTarget):
    """Base of every component: `sim`, `name`, validated `params`, and the fault protocol.

    Subclasses list the fault kinds they take in `fault_kinds` and implement `_inject_<kind>(fault)`
    and optionally `_heal_<kind>(fault)`; faults of one family nest (see `sim.core.fault_target`).
    """

    def __init__(self, sim, params: Any, name: str) -> None:
        self.sim = sim
        self.env: simpy.Environment = sim.env
        self.params = params
        self.name = name


def random_subset(rng: Any, pool: list[Any], count: int) -> list[Any]:
    """`count` distinct items of `pool` (all of them if fewer) drawn with `rng`, in pool order."""
    if not pool:
        return []
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False))]


def pick_fault_keys(component: Component, fault: Any, data: dict[Any, Any]) -> list[Any]:
    """The keys of `data` a `lose_data` / `corrupt_data` fault hits: `params.key` (if stored), else
    `params.count` (default 1) keys at random from the component's `<name>.faults` stream."""
    key = fault_param(fault, "key")
    if key is not None:
        return [key] if key in data else []
    count = int(fault_param(fault, "count", 1))
    return random_subset(component.sim.rng(f"{component.name}.faults"), list(data), count)


# --- cloud services -------------------------------------------------------------------------------
SECONDS_PER_MONTH = 730 * 3600.0  # AWS bills GB-month over 730 hours
GB = 2.0**30  # AWS bills storage in binary GB (2^30 bytes)


class CloudService(Component):
    """Base of a cloud service (object store, stream, snapshot service): its `outage` and `throttle` faults.

    `outage` sets `self.outage` until it heals (the service then fails its requests with
    `ServiceUnavailable`); `throttle` sets `self.throttle_factor` to `params.factor` in [0, 1] until
    it heals (the service scales its rate limits by it; 0 refuses every request). Which of the two a
    service takes is its `fault_kinds`.
    """

    def __init__(self, sim, params: Any, name: str) -> None:
        super().__init__(sim, params, name)
        self.outage = False
        self.throttle_factor = 1.0

    def _inject_outage(self, fault: Any) -> None:
        self.outage = True

    def _heal_outage(self, fault: Any) -> None:
        self.outage = False

    def _inject_throttle(self, fault: Any) -> None:
        f = float(fault_param(fault, "factor", 0.0))
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"throttle on {self.name}: factor must be in [0, 1]")
        self.throttle_factor = f

    def _heal_throttle(self, fault: Any) -> None:
        self.throttle_factor = 1.0


class BilledStorage:
    """Mixin of a service billing its `stored_bytes` per GB-month: call `_start_storage_meter()` in
    `__init__` and `_account_storage()` before every change of `stored_bytes`."""

    env: simpy.Environment
    stored_bytes: float

    def _start_storage_meter(self) -> None:
        self.stored_bytes = 0.0
        self._byte_seconds = 0.0
        self._t = self.env.now

    def _account_storage(self) -> None:
        now = self.env.now
        self._byte_seconds += self.stored_bytes * (now - self._t)
        self._t = now

    def storage_gb_months(self) -> float:
        """GB-months stored so far (bytes integrated over simulated time)."""
        self._account_storage()
        return self._byte_seconds / GB / SECONDS_PER_MONTH


# --- bandwidth sharing ----------------------------------------------------------------------------
class SharedBandwidth:
    """`capacity` bytes/s shared equally by the transfers in progress (processor sharing).

    Each active transfer receives `min(per_flow_cap, capacity / n)` bytes/s while n are active. A
    virtual clock counts the bytes each active transfer has received, so a transfer of b bytes
    starting at virtual time v finishes when the clock reaches v + b: one heap of finish times
    and a single pending timer. `transfer(nbytes)` returns an event whose value is True when
    the bytes have gone through, False if `abort_all()` cut it (e.g. a link partition).

    Abstracts away packetisation, congestion-control dynamics and unequal weights: the fluid
    limit of fair sharing that TCP flows or memory-channel arbitration approach.
    """

    __slots__ = ("env", "capacity", "per_flow_cap", "_v", "_t", "_heap", "_seq", "_gen", "bytes_done")

    def __init__(self, env: simpy.Environment, capacity: float, per_flow_cap: float | None = None) -> None:
        if capacity <= 0:
            raise ValueError("bandwidth capacity must be > 0")
        self.env = env
        self.capacity = float(capacity)
        self.per_flow_cap = per_flow_cap
        self._v = 0.0
        self._t = env.now
        self._heap: list[tuple[float, int, simpy.Event, float]] = []
        self._seq = 0
        self._gen = 0
        self.bytes_done = 0.0

    @property
    def active(self) -> int:
        """Transfers in progress."""
        return len(self._heap)

    def flow_rate(self) -> float:
        """Bytes/s each active transfer receives now."""
        n = len(self._heap)
        if n == 0:
            return 0.0
        r = self.capacity / n
        cap = self.per_flow_cap
        return r if cap is None or r < cap else cap

    def _advance(self) -> None:
        now = self.env.now
        if self._heap:
            self._v += (now - self._t) * self.flow_rate()
        self._t = now

    def transfer(self, nbytes: float) -> simpy.Event:
        """Event triggered (value True) when `nbytes` have been carried."""
        ev = self.env.event()
        if nbytes <= 0:
            ev.succeed(True)
            return ev
        self._advance()
        self._seq += 1
        heapq.heappush(self._heap, (self._v + nbytes, self._seq, ev, float(nbytes)))
        self._reschedule()
        return ev

    def set_capacity(self, capacity: float, per_flow_cap: float | None = ...) -> None:  # type: ignore[assignment]
        """Change the capacity (a degraded link); transfers in progress continue at the new share."""
        if capacity <= 0:
            raise ValueError("bandwidth capacity must be > 0")
        self._advance()
        self.capacity = float(capacity)
        if per_flow_cap is not ...:
            self.per_flow_cap = per_flow_cap
        self._reschedule()

    def abort_all(self) -> int:
        """End every transfer in progress with value False; returns how many were cut."""
        self._advance()
        cut = self._heap
        self._heap = []
        self._v = 0.0
        self._gen += 1
        for _fv, _s, ev, _b in cut:
            ev.succeed(False)
        return len(cut)

    def _reschedule(self) -> None:
        self._gen += 1
        if not self._heap:
            return
        gen = self._gen
        dt = (self._heap[0][0] - self._v) / self.flow_rate()
        tm = self.env.timeout(dt if dt > 0 else 0.0)
        tm.callbacks.append(lambda _e: self._on_timer(gen))

    def _on_timer(self, gen: int) -> None:
        if gen != self._gen:
            return  # superseded by a later arrival, departure or capacity change
        self._advance()
        heap = self._heap
        fv, _s, ev, b = heapq.heappop(heap)
        if fv > self._v:
            self._v = fv  # rounding: the timer was computed to land exactly on this finish
        self.bytes_done += b
        ev.succeed(True)
        eps = 1e-12 * (self._v + 1.0)  # flows finishing together (equal sizes, same start)
        while heap and heap[0][0] <= self._v + eps:
            _fv, _s, ev, b = heapq.heappop(heap)
            self.bytes_done += b
            ev.succeed(True)
        if not heap:
            self._v = 0.0  # idle: rebase the virtual clock so it never grows large enough to lose precision
        self._reschedule()


# --- rate limits ----------------------------------------------------------------------------------
class TokenBucket:
    """A sustained `rate` (tokens/s) with a `burst` allowance: a request taking n tokens passes if n are there.

    Long-run accepted rate is at most `rate` (plus `burst` once): the model of per-shard and
    per-prefix API limits. `factor` scales the rate (a `throttle` fault).
    """

    __slots__ = ("rate", "burst", "tokens", "_t", "factor")

    def __init__(self, rate: float, burst: float, now: float = 0.0) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("token bucket rate and burst must be > 0")
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self._t = now
        self.factor = 1.0

    def _refill(self, now: float) -> None:
        t = self.tokens + (now - self._t) * self.rate * self.factor
        self.tokens = t if t < self.burst else self.burst
        self._t = now

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def try_take(self, now: float, n: float = 1.0) -> bool:
        """Take `n` tokens if available (True), else take none (False)."""
        self._refill(now)
        if self.tokens + 1e-9 >= n:
            self.tokens -= n
            return True
        return False
