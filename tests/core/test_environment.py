"""`sim.core.environment` against SimPy's own: the same events processed in the same order.

Random mixes of processes (timeouts, shared events succeeded by others, failed events that are
defused, process interrupts) and callback timeouts on a coarse time grid, so that many events
coincide and their order is decided by priority and schedule position. The log of every callback
run must be identical under `simpy.Environment` + `Timeout` and under `Environment` + `timeout` /
`call_later`, and so must runs stopped at an `until` time or event and resumed.
"""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.events import Timeout

from sim.core.environment import Environment, call_later, timeout

GRID = st.integers(0, 8).map(lambda k: k * 0.5)


def run(fast: bool, procs, callbacks, stops):
    env = Environment() if fast else simpy.Environment()
    tmo = timeout if fast else (lambda e, d, v=None: Timeout(e, d, v))

    def later(d, cb, v=None):
        if fast:
            call_later(env, d, cb, v)
        else:
            Timeout(env, d, v).callbacks.append(cb)

    log = []
    shared = env.event()

    def proc(i, waits):
        for j, w in enumerate(waits):
            try:
                v = yield tmo(env, w, (i, j))
                log.append((env.now, "p", i, j, v))
            except simpy.Interrupt:
                log.append((env.now, "int", i, j))
            if j == 1 and not shared.triggered:
                shared.succeed(i)
            if j == 2:
                bad = env.event()
                bad.fail(RuntimeError("x"))
                bad.defused = True
                log.append((env.now, "failed", i))
        v = yield shared
        log.append((env.now, "shared", i, v))

    ps = [env.process(proc(i, w)) for i, w in enumerate(procs)]

    def cb(ev):
        i, depth = ev._value
        log.append((env.now, "cb", i, depth))
        if depth < 3:
            later(0.5 * (depth % 2), cb, (i, depth + 1))
        if depth == 1 and ps:
            p = ps[i % len(ps)]
            if p.is_alive and p is not env.active_process:
                p.interrupt()

    for i, d in enumerate(callbacks):
        later(d, cb, (i, 0))
    try:
        for s in stops:
            if s > env.now:
                env.run(until=s)
                log.append((env.now, "stopped"))
        end = env.timeout(20)
        env.run(until=end)
    except Exception as exc:  # noqa: BLE001 - an uncaught interrupt ends both runs alike
        log.append((env.now, "error", type(exc).__name__, str(exc)))
    log.append((env.now, "end"))
    return log


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.lists(GRID, max_size=5), max_size=6), st.lists(GRID, max_size=6), st.lists(GRID, max_size=3)
)
def test_the_fast_loop_and_timeouts_process_events_as_simpy_does(procs, callbacks, stops):
    assert run(True, procs, callbacks, sorted(stops)) == run(False, procs, callbacks, sorted(stops))


def test_a_wrapped_step_still_sees_every_event():
    env = Environment()
    seen = []
    plain = env.step

    def step():
        seen.append(env.peek())
        plain()

    env.step = step  # as sim.runner.determinism does
    for d in (1.0, 2.0, 3.0):
        call_later(env, d, lambda ev: None)
    env.run(until=10)
    assert seen[:3] == [1.0, 2.0, 3.0]


def test_negative_delays_and_failed_events_behave_as_in_simpy():
    env = Environment()
    with pytest.raises(ValueError):
        timeout(env, -1.0)
    with pytest.raises(ValueError):
        call_later(env, -1.0, lambda ev: None)
    ev = env.event()
    ev.fail(KeyError("k"))
    with pytest.raises(KeyError):
        env.run()
    with pytest.raises(RuntimeError):
        env.run(until=env.event())  # nothing left to trigger it


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_call_whose_callback_stops_the_run_is_not_run_again(wrapped):
    """The wall-clock alarm ends `run` by raising StopSimulation inside whatever callback runs; the
    next `run` goes on without running that callback twice (SimPy's step reschedules the event
    with the callbacks left: none)."""
    env = Environment()
    if wrapped:
        plain = env.step
        env.step = lambda: plain()  # SimPy's own loop, as under the determinism check
    seen = []

    def stop(ev):
        seen.append(env.now)
        raise simpy.core.StopSimulation(None)

    call_later(env, 1.0, stop)
    call_later(env, 2.0, lambda ev: seen.append(env.now))
    env.run(until=5)
    assert seen == [1.0]
    env.run(until=5)
    assert seen == [1.0, 2.0]
