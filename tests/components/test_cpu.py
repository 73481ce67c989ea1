"""The fast worker pool against its plain-SimPy reference: identical task start and finish times.

Random task mixes (submission times, several waits per task, zero-time tasks, tasks that submit
further tasks while they run), on 1-4 workers, with a crash (`stop()`) at a random instant in the
middle of some of them. Times are on a 0.25 s grid so that many events coincide (ties between a
task finishing and another being submitted), and the crash is off the grid (a crash at the very
instant a task starts is ordered differently by the two, a tie no real run produces).
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.components.cpu import RELEASE, ReferenceWorkerPool, WorkerPool
from sim.core.environment import Environment

GRID = st.integers(0, 12).map(lambda k: k * 0.25)


@st.composite
def task_mix(draw):
    workers = draw(st.integers(1, 4))
    n = draw(st.integers(1, 25))
    tasks = []
    for _ in range(n):
        at = draw(GRID)
        waits = draw(st.lists(GRID, max_size=4))
        children = draw(st.lists(st.lists(GRID, max_size=3), max_size=2))  # submitted while running
        tasks.append((at, waits, children))
    stop = draw(st.none() | st.integers(0, 24).map(lambda k: k * 0.25 + 0.1))
    return workers, tasks, stop


def run(pool_cls, workers, tasks, stop, env_cls=simpy.Environment):
    env = env_cls()
    pool = pool_cls(env, workers)
    started: dict[str, float] = {}
    finished: dict[str, float] = {}

    def task(name, waits, children):
        started[name] = env.now
        for i, w in enumerate(waits):
            if i == 1:
                for j, child in enumerate(children):
                    pool.submit(task(f"{name}.{j}", child, []), f"{name}.{j}")
            yield env.timeout(w) if i % 2 == 0 else w  # every other wait as a bare work time
        finished[name] = env.now

    def client(i, at, waits, children):
        yield env.timeout(at)
        pool.submit(task(str(i), waits, children), str(i))

    def crash():
        yield env.timeout(stop)
        busy[0] = pool.busy_now()
        pool.stop()

    busy = [None]
    for i, (at, waits, children) in enumerate(tasks):
        env.process(client(i, at, waits, children))
    if stop is not None:
        env.process(crash())
    env.run()
    return started, finished, pool.queued(), busy[0], pool.busy_now()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(task_mix())
def test_fast_pool_matches_the_simpy_reference(mix):
    workers, tasks, stop = mix
    fast = run(WorkerPool, workers, tasks, stop)
    ref = run(ReferenceWorkerPool, workers, tasks, stop)
    assert fast[0] == ref[0]  # start times
    assert fast[1] == ref[1]  # finish times (tasks running at the crash have none)
    assert fast[2] == ref[2]  # still queued
    if stop is not None:
        assert fast[3] == pytest.approx(ref[3], rel=1e-12, abs=1e-12)  # busy time up to the crash
    assert fast[4] == pytest.approx(ref[4], rel=1e-12, abs=1e-12)


def test_fifo_and_crash_by_hand():
    # 2 workers, three 1 s tasks at t=0 and one at 0.5: the third starts at 1, the fourth at 1;
    # a crash at 1.5 abandons both and loses nothing queued
    for cls in (WorkerPool, ReferenceWorkerPool):
        started, finished, queued, busy, _ = run(cls, 2, [(0, [1.0], []), (0, [1.0], []), (0, [1.0], []),
                                                          (0.5, [1.0], [])], 1.5)
        assert started == {"0": 0, "1": 0, "2": 1.0, "3": 1.0}, cls
        assert finished == {"0": 1.0, "1": 1.0}, cls
        assert queued == [] and busy == pytest.approx(2.0 + 2 * 0.5), cls


def run_released(pool_cls, workers, runs, submits):
    """A long-lived actor whose runs end with `yield RELEASE`: each submit resumes the same generator."""
    env = simpy.Environment()
    pool = pool_cls(env, workers)
    log: list[tuple[float, str, int]] = []
    it = iter(runs)

    def actor():
        k = 0
        while True:
            log.append((env.now, "start", k))
            yield env.timeout(next(it, 0.5))
            log.append((env.now, "end", k))
            k += 1
            yield RELEASE

    gen = actor()

    def other(i, d):
        log.append((env.now, f"other{i}", 0))
        yield env.timeout(d)

    def client():
        for i, at in enumerate(submits):
            yield env.timeout(at)
            pool.submit(other(i, 0.75), f"o{i}")
            if i % 2 == 0:
                pool.submit(gen, "actor")  # every other submit is the actor (never twice before its RELEASE)

    env.process(client())
    env.run()
    return log, pool.busy_now()


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.lists(GRID, max_size=8), st.lists(st.integers(4, 8).map(lambda k: k * 0.25), min_size=1,
                                                               max_size=8))
def test_a_task_released_with_RELEASE_runs_alike_on_both_pools(workers, runs, submits):
    fast = run_released(WorkerPool, workers, runs, submits)
    ref = run_released(ReferenceWorkerPool, workers, runs, submits)
    assert fast[0] == ref[0]
    assert fast[1] == pytest.approx(ref[1], rel=1e-12, abs=1e-12)
    assert [k for _t, what, k in fast[0] if what == "start"] == list(range((len(submits) + 1) // 2))  # one generator


@pytest.mark.parametrize("pool_cls", [WorkerPool, ReferenceWorkerPool])
def test_a_task_may_yield_its_work_time_as_a_number(pool_cls):
    """A float, an int or a numpy float is that many seconds of work; anything else is refused."""
    env = Environment()
    pool = pool_cls(env, 1)
    done = []

    def task():
        yield 0.5
        yield 2
        yield np.float64(1.0)
        done.append(env.now)

    pool.submit(task(), "t")
    env.run()
    assert done == [3.5]

    def bad():
        yield "soon"

    pool = pool_cls(env, 1)
    with pytest.raises((TypeError, RuntimeError), match="soon"):  # (the fast pool runs it at once)
        pool.submit(bad(), "b")
        env.run()


def test_the_fast_pool_matches_the_reference_on_the_models_environment():
    mix = (2, [(0.0, [0.5, 0.25, 0.25], [[0.5], [0.25, 0.25]]), (0.25, [0.5, 0.5], []), (0.25, [0.25], [])], None)
    assert run(WorkerPool, *mix, env_cls=Environment) == run(ReferenceWorkerPool, *mix, env_cls=Environment)
