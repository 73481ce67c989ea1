"""The event loop of a run: `simpy.Environment` with a leaner `run`, and a cheaper way to schedule a callback.

- `Environment`: SimPy's environment whose `run` processes the events in one loop instead of
  calling `step()` once per event. It does exactly what `simpy.Environment.run` + `step` do (the
  same order, the same `until` semantics, the same handling of `StopSimulation` and of failed
  events), only without a Python call per event. When `step` has been replaced on an instance
  (`sim.runner.determinism` wraps it to hash every event), `run` falls back to SimPy's own loop,
  so such a wrapper still sees every event.
- `timeout(env, delay, value)`: a `simpy.Timeout` built and scheduled in one Python call instead of
  two (`Timeout.__init__` + `Environment.schedule`), at the same time (`env.now + delay`), priority
  and position among equal times (its id is drawn at the same point), so a model using it processes
  the same events in the same order.
- `call_later(env, delay, callback, value)`: `callback(event)` at `env.now + delay`, scheduled like
  that timeout (same time, priority and position) but as a `Call`: a slotted object with only what
  the loop needs, which `run` calls directly (no `Timeout`, no instance dict, no callbacks list).
  For events nobody waits on (a message's arrival, a completion, a worker's resumption); what a
  process yields stays a SimPy event.

`tests/core/test_environment.py` checks both against SimPy's own on random event mixes.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, EventPriority, Timeout

__all__ = ["Call", "Environment", "timeout", "call_later"]

_new = object.__new__
_STEP = simpy.Environment.step


def timeout(env: simpy.Environment, delay: float, value: Any = None) -> Timeout:
    """`simpy.Timeout(env, delay, value)` in one call (same event, same schedule position)."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    ev = _new(Timeout)
    ev.env = env
    ev.callbacks = []
    ev._value = value
    ev._delay = delay
    ev._ok = True
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), ev))
    return ev


class Call:
    """A scheduled callback: `fn(call)` runs when it is processed, and reads `call._value`.

    What the run loop needs of an event and no more (no `Timeout`, no instance dict, no callbacks
    list): `Environment.run` calls `fn` directly. For SimPy's own `step` (the wrapped-step fallback,
    `sim.runner.determinism`) it also has `callbacks` (`[fn]`) and `_ok`. Not a `simpy.Event`:
    nothing may yield it or add callbacks to it."""

    __slots__ = ("fn", "_value", "_left")
    _ok = True

    @property
    def callbacks(self) -> list | None:
        fn = self.fn
        return [fn] if fn is not None else getattr(self, "_left", None)

    @callbacks.setter
    def callbacks(self, cbs: list | None) -> None:
        # SimPy's `step` sets None before running the callbacks and, stopped by a StopSimulation,
        # the ones left to run (none: a Call has one)
        if cbs:
            self.fn = cbs[0]
        else:
            self.fn = None
            self._left = cbs

    def __repr__(self) -> str:
        return f"Call({self.fn!r}, {self._value!r})"


def call_later(
    env: simpy.Environment, delay: float, callback: Callable[[Any], None], value: Any = None
) -> Call:
    """`callback(call)` runs at `env.now + delay`, with `call._value` = `value` (scheduled where
    `Timeout(env, delay, value)` would be: same time, priority and position among equal times)."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    ev = Call()
    ev.fn = callback
    ev._value = value
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), ev))
    return ev


class Environment(simpy.Environment):
    """`simpy.Environment` whose `run` loop does `step()`'s work inline (same semantics, fewer calls)."""

    def run(self, until: float | Event | None = None) -> Any:
        """As `simpy.Environment.run`: process events until `until` (a time or an event), or none are left."""
        if getattr(self.step, "__func__", None) is not _STEP:
            # an instrumented step (the determinism check wraps it): SimPy's loop calls it per event.
            # (Not `"step" in self.__dict__`: reading `__dict__` would slow every attribute access to env.)
            return super().run(until)
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue = self._queue
        pop = heappop
        event = callback = callbacks = None
        try:
            while queue:
                self._now, _, _, event = pop(queue)
                if event.__class__ is Call:  # a scheduled callback: one call, nothing else to do
                    event.fn(event)
                    continue
                callbacks = event.callbacks
                event.callbacks = None
                for callback in callbacks:
                    callback(event)
                callbacks = None  # (between events: a StopSimulation now has no callbacks to keep)
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
            raise EmptySchedule
        except StopSimulation as exc:
            if callbacks is not None:  # raised by a callback: as SimPy's step, keep the remaining ones
                event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                self.schedule(event, EventPriority(-1))
            return exc.args[0]
        except EmptySchedule:
            if until is not None:
                assert not until.triggered
                raise RuntimeError(
                    f'No scheduled events left but "until" event was not triggered: {until}'
                ) from None
        return None
