"""CPU: a fixed pool of worker threads with one FIFO run queue (a file system's message scheduler).

What it stands for: the `n` worker threads of a storage node's file system (or any server's
thread pool) serving one run queue in arrival order. A *task* is a generator (the code a worker
executes) plus the object it works for (shown in a wait-for graph); it holds its worker from its
start until its generator returns, including while it waits for a SimPy event it yields (a
thread blocked on a lock or a queue keeps its thread). A task that wants to give its worker back
while it waits (a suspension) ends its generator and is submitted again later.

- `WorkerPool`: the fast implementation. It drives the task generators directly rather than
  through one SimPy Process per worker or per task, so handing a task to a free worker costs no
  event: `submit` starts the task at once on an idle worker (synchronously, inside the caller),
  and a worker whose task ends takes the next one from the run queue in the same step.
- `ReferenceWorkerPool`: the same behaviour written the plain SimPy way (a `simpy.Resource` of
  `n` workers and one Process per task). Slower; it is the executable specification the fast
  pool is checked against (`tests/components/test_cpu.py`: identical task start and finish times
  on random task mixes, with a crash in the middle).

A task that computes for a while yields the duration as a float (`yield 2e-6`: 2 µs of work,
holding its worker): the worker schedules its own resumption (a `sim.core.environment.Call`), which
costs less than a `Timeout` for the task to build and the worker to wait on. Same time, same
position among equal times as `yield env.timeout(2e-6)`.

A long-lived actor that runs as a series of tasks (a completion handler scheduled again and again)
may reuse one generator: it yields `RELEASE` where a task would return. The task ends there (its
worker is free, exactly as at a return), the generator stays suspended, and the next `submit` of
the same generator resumes it after the `yield`. It saves a generator and a StopIteration per task;
the generator must not be submitted again before it has yielded `RELEASE`.

Both: `submit(gen, task)`, `queued()`, `stop()` (the node crashed: running tasks are abandoned,
the run queue is lost, nothing runs any more; a restarted node builds a new pool), `busy_now()`
(worker-seconds spent on tasks so far, the running ones up to now; after a stop, the finished
tasks only: read it before stopping to count the abandoned ones up to the crash).

Abstracted away: CPU speed (a model prices a task's work as durations it yields), priorities,
preemption and time slicing, scheduling latency, cache and NUMA effects.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush
from numbers import Real
from typing import Any

import simpy
from simpy.events import NORMAL

from sim.core.environment import Call

__all__ = ["RELEASE", "Worker", "WorkerPool", "ReferenceWorkerPool"]


class _Release:
    """What a task generator yields to end its task and stay alive for a later `submit`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RELEASE"


RELEASE = _Release()


class Worker:
    """One worker thread: runs a task's generator, resuming it when the SimPy event it yields fires.

    A task yields ordinary SimPy events; a worker is held from the task's start until its
    generator returns.
    """

    __slots__ = ("pool", "index", "task", "gen", "alive", "t_start", "_cb", "_env")

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.task: Any = None  # what the worker runs (for the wait-for graph)
        self.gen = None  # its generator
        self.alive = True
        self.t_start = 0.0
        self._cb = self._step
        self._env = pool.env

    def _step(self, ev: Any) -> None:
        """Run the task until it waits: `ev` is the event it waited on (None: the task starts)."""
        if not self.alive:
            return
        value = None if ev is None else ev._value
        gen = self.gen
        while True:
            try:
                ev = gen.send(value)
            except StopIteration:
                ev = RELEASE
            if ev is RELEASE:  # the task ended (returned, or yielded RELEASE to be resubmitted later)
                pool = self.pool
                now = self._env._now  # (the `now` property, without the call: this runs per task)
                pool.busy_time += now - self.t_start
                runq = pool.runq
                if runq and self.alive:  # the next task, FIFO
                    self.gen, self.task = gen, _ = runq.popleft()
                    self.t_start = now
                    value = None
                    continue
                self.task = None
                self.gen = None
                if self.alive:
                    pool.idle.append(self)
                return
            if ev.__class__ is not float:
                try:
                    ev.callbacks.append(self._cb)  # a SimPy event: resume when it fires
                    return
                except AttributeError:
                    if not isinstance(ev, Real):
                        raise TypeError(f"a task yielded {ev!r}: a SimPy event, a delay in seconds or RELEASE") from None
                    ev = float(ev)
            # work for `ev` seconds: the worker schedules its own resumption
            if ev < 0:
                raise ValueError(f"Negative delay {ev}")
            env = self._env
            c = Call()
            c.fn = self._cb
            c._value = None
            heappush(env._queue, (env._now + ev, NORMAL, next(env._eid), c))
            return


class WorkerPool:
    """A fixed pool of `n` worker threads with one FIFO run queue.

    A task is a generator (what the worker executes) plus the object it works for (`task`, shown
    in the wait-for graph)."""

    def __init__(self, env, n: int) -> None:
        self.env = env
        self.runq: deque[tuple] = deque()
        self.workers = [Worker(self, i) for i in range(n)]
        self.idle: list[Worker] = list(reversed(self.workers))  # pop() takes worker 0 first
        self.busy_time = 0.0

    def submit(self, gen, task: Any) -> None:
        """Run `gen` on a free worker now, or queue it."""
        if self.idle:
            w = self.idle.pop()
            w.gen = gen
            w.task = task
            w.t_start = self.env._now
            w._step(None)
        else:
            self.runq.append((gen, task))

    def queued(self) -> list[Any]:
        """The tasks waiting in the run queue, oldest first."""
        return [t for _g, t in self.runq]

    def stop(self) -> None:
        """The node crashed: every task is abandoned, the run queue is lost, no worker runs again."""
        for w in self.workers:
            w.alive = False
            if w.gen is not None:
                w.gen.close()
                w.gen = None
            w.task = None
        for gen, _t in self.runq:
            gen.close()
        self.runq.clear()
        self.idle.clear()

    def busy_now(self) -> float:
        """Worker-seconds spent on tasks: finished ones, plus the running ones up to now."""
        now = self.env.now
        return self.busy_time + sum(now - w.t_start for w in self.workers if w.task is not None)


class ReferenceWorkerPool:
    """`WorkerPool` written the plain SimPy way: a `simpy.Resource` of `n` workers, one Process per task.

    Each task's process requests a worker (FIFO), then drives the task's generator, passing it
    the value of each event it yields, and releases the worker when the generator returns.
    `stop()` interrupts every process (a running task's generator is closed, a queued request is
    cancelled); tasks submitted after a stop never run.
    """

    def __init__(self, env, n: int) -> None:
        self.env = env
        self.cpus = simpy.Resource(env, capacity=n)
        self.busy_time = 0.0
        self.alive = True
        self._procs: dict[simpy.Process, list] = {}  # process -> [task, start time or None]
        self._dead: list[tuple] = []  # submitted after the stop

    def submit(self, gen, task: Any) -> None:
        """Run `gen` on a free worker as soon as one is free (FIFO)."""
        if not self.alive:
            self._dead.append((gen, task))
            return
        entry = [task, None]
        proc = self.env.process(self._run(gen, entry))
        self._procs[proc] = entry

    def _run(self, gen, entry: list):
        env = self.env
        req = self.cpus.request()
        try:
            yield req
        except simpy.Interrupt:
            req.cancel()
            gen.close()
            return
        entry[1] = start = env.now
        value = None
        try:
            while True:
                try:
                    ev = gen.send(value)
                except StopIteration:
                    break
                if ev is RELEASE:
                    break
                if isinstance(ev, Real):
                    ev = env.timeout(float(ev))
                value = yield ev
        except simpy.Interrupt:
            gen.close()
            return
        self.busy_time += env.now - start
        del self._procs[env.active_process]
        self.cpus.release(req)

    def queued(self) -> list[Any]:
        """The tasks waiting for a worker, oldest first."""
        if not self.alive:
            return [t for _g, t in self._dead]
        return [task for task, start in self._procs.values() if start is None]

    def stop(self) -> None:
        """The node crashed: every task is abandoned, the queue is lost, no worker runs again."""
        self.alive = False
        procs, self._procs = self._procs, {}
        for proc in procs:
            if proc.is_alive and proc is not self.env.active_process:
                proc.interrupt("stop")

    def busy_now(self) -> float:
        """Worker-seconds spent on tasks: finished ones, plus the running ones up to now."""
        now = self.env.now
        return self.busy_time + sum(now - s for _t, s in self._procs.values() if s is not None)
