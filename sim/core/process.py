"""Small process helpers every model needs, each written once: pacing, retry with backoff, bounded parallelism.

- `Pacer`: admits work at a sustained `rate` in arrival order and returns the wait before each
  admission (a device's IOPS limit, a client pacing its puts to a shard's byte rate).
- `Backoff`: capped exponential backoff with jitter (AWS SDKs' "equal jitter": half fixed, half
  random), drawn from a named stream.
- `retry(op, retry_on, backoff)`: run a generator operation again after a backoff while it raises
  one of `retry_on`.
- `bounded_parallel(env, items, fn, workers)`: run `fn(item)` generators with at most `workers` in
  flight (a client's connection pool); results in item order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy


class Pacer:
    """Admits work at `rate` units/s in arrival order: `delay(now, amount)` is the wait before admission."""

    __slots__ = ("rate", "gap", "_next")

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.gap = 1.0 / rate
        self._next = 0.0

    def delay(self, now: float, amount: float | None = None) -> float:
        """Wait before `amount` units (default one command) may start; books them."""
        start = self._next if self._next > now else now
        self._next = start + (self.gap if amount is None else amount / self.rate)
        return start - now


class Backoff:
    """`base * 2**attempt`, capped at `cap`, times a jitter factor uniform in [0.5, 1)."""

    __slots__ = ("base", "cap", "rng")

    def __init__(self, base: float, cap: float, rng: Any) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(attempt, 30)) * (0.5 + 0.5 * self.rng.random())


def retry(env: simpy.Environment, op: Callable[[], Generator], retry_on: tuple[type[BaseException], ...],
          backoff: Backoff, on_retry: Callable[[BaseException], None] | None = None) -> Generator:
    """`yield from retry(env, lambda: vol.read(n), (NotRunning,), backoff)`: the op's value, once it succeeds."""
    attempt = 0
    while True:
        try:
            return (yield from op())
        except retry_on as e:
            if on_retry is not None:
                on_retry(e)
            yield env.timeout(backoff.delay(attempt))
            attempt += 1


def bounded_parallel(env: simpy.Environment, items: Sequence[Any], fn: Callable[[Any], Generator], workers: int,
                     collect: tuple[type[BaseException], ...] = ()) -> Generator:
    """Run `fn(item)` for every item, `workers` at a time; returns (results in item order, errors).

    An exception in `collect` is kept (as that item's result and in `errors`) and the others go on;
    any other exception ends the whole call."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    it = iter(range(len(items)))

    def worker():
        for i in it:
            try:
                results[i] = yield from fn(items[i])
            except collect as e:
                errors.append(e)
                results[i] = e

    procs = [env.process(worker()) for _ in range(min(workers, len(items)))]
    if procs:
        yield simpy.AllOf(env, procs)
    return results, errors
