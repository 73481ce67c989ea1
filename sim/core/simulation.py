"""The simulation context: one object per replication holding everything a model needs.

Wraps `simpy.Environment` (`sim.core.environment.Environment`, its run loop inlined; time in seconds, float) with the run's named random streams, its
metrics recorder, optional time-series probes and event trace, the deadlock detector, and the
run loop with its watchdogs. A replication is a pure function of (resolved scenario, seed).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import simpy

from sim.core.deadlock import Deadlock, DeadlockDetector, Stall, StallDetector
from sim.core.environment import Environment
from sim.core.metrics import Recorder
from sim.core.random import Streams


@dataclass
class RunOutcome:
    """How the run loop ended."""

    end_time: float = 0.0
    deadlock: Deadlock | None = None
    stall: Stall | None = None
    wall_timeout: bool = False
    wall_time_s: float = 0.0
    stopped_reason: str | None = None


@dataclass
class Trace:
    """Optional per-event trace (off by default); bounded by `limit` records."""

    limit: int = 1_000_000
    records: list[tuple] = field(default_factory=list)
    dropped: int = 0

    def emit(self, t: float, kind: str, *fields: Any) -> None:
        if len(self.records) < self.limit:
            self.records.append((t, kind, *fields))
        else:
            self.dropped += 1


@contextmanager
def wall_clock_alarm(seconds: float | None, grace: float = 0.1):
    """Back-stop of the wall-clock watchdog for a model stuck in a zero-time loop.

    The run loop checks wall time between chunks of simulated time, which never come if a process
    loops without advancing time. This arms a SIGALRM timer (`seconds + grace`); its handler
    ends the current `env.run` (SimPy's StopSimulation) so the loop's own check stops the run as a
    watchdog timeout. Only in the main thread on POSIX, and only if no other ITIMER_REAL is armed
    (e.g. pytest-timeout); elsewhere it does nothing (the in-loop check still applies).
    """
    usable = (seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0)
    if not usable:
        yield
        return
    run_codes = (simpy.Environment.run.__code__, Environment.run.__code__)

    def handler(signum, frame):
        f = frame
        while f is not None:
            if f.f_code in run_codes:
                raise simpy.core.StopSimulation(None)
            f = f.f_back
        signal.setitimer(signal.ITIMER_REAL, 0.01)  # between chunks: the loop's check will see it

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds + grace)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


class Simulation:
    """Per-replication context handed to systems, components, workloads and faults."""

    def __init__(
        self,
        seed: int,
        duration: float,
        warmup: float = 0.0,
        *,
        check_interval: float | None = None,
        wall_timeout: float | None = None,
        timeseries_interval: float | None = None,
        trace: bool = False,
        checks: dict[str, Any] | None = None,
    ) -> None:
        self.env = Environment()  # simpy.Environment with a leaner run loop (sim.core.environment)
        self.seed = seed
        self.duration = duration
        self.warmup = warmup
        self.streams = Streams(seed)
        self.recorder = Recorder(self.env, self.streams)
        self.deadlock = DeadlockDetector()
        self.check_interval = check_interval or max(duration / 200.0, 1e-9)
        self.wall_timeout = wall_timeout
        self.timeseries_interval = timeseries_interval
        self.trace: Trace | None = Trace() if trace else None
        self.events: list[dict[str, Any]] = []  # notable events (faults, recoveries): small, for plots
        self._probes: dict[str, Callable[[], float]] = {}
        self._series: list[tuple[float, ...]] = []
        self._checks: list[Callable[[], str | None]] = []
        self._stop_reason: str | None = None
        self.outcome = RunOutcome()
        # the scenario's `checks:` options (heal_phase, continuous_invariants...), read by sim.faults/sim.check
        self.checks: dict[str, Any] = dict(checks or {})
        self.faults: Any = None  # the FaultScheduler of this replication (set by sim.faults.schedule)
        self._final_checks: list[Callable[[RunOutcome], list]] = []
        hp = self.checks.get("heal_phase")
        #: when a campaign's heal phase begins (faults off from then on); None: no heal phase
        self.heal_start: float | None = max(0.0, duration - hp) if hp else None
        #: called with a fault point's name at each hit while points are armed (`FaultScheduler`)
        self._point_hook: Callable[[str], None] | None = None
        self.stall_detector: StallDetector | None = None
        self._at_warmup: list[Callable[[], None]] = []
        self._at_heal_phase: list[Callable[[], None]] = []

    # --- conveniences -------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.env.now

    def rng(self, name: str):
        """The named random stream `name` (numpy Generator)."""
        return self.streams.get(name)

    def process(self, gen):
        return self.env.process(gen)

    def note(self, kind: str, /, **fields: Any) -> None:
        """Record a notable event (fault start/end, recovery done) for the manifest and plots."""
        self.events.append({"time_s": self.env.now, "event": kind, **fields})

    def add_probe(self, name: str, fn: Callable[[], float]) -> None:
        """A quantity sampled every `timeseries_interval` when the scenario asks for time series."""
        self._probes[name] = fn

    def add_check(self, fn: Callable[[], str | None]) -> None:
        """A callable run at every check interval; returning a string stops the run with that reason."""
        self._checks.append(fn)

    def add_final_check(self, fn: Callable[[RunOutcome], list]) -> None:
        """A callable run once after the run loop: returns a list of `Violation`s (liveness, etc.)."""
        self._final_checks.append(fn)

    def final_violations(self) -> list:
        """Violations found by the final checks (the runner adds them to the system's own)."""
        out: list = []
        for fn in self._final_checks:
            out.extend(fn(self.outcome))
        return out

    def fault_point(self, name: str) -> None:
        """A model's critical instant (`"cdp.apply.after_undo_put"`): a scenario or campaign may strike
        a fault here (see docs/faults.md, "Fault points"). Costs one attribute test when no fault
        point is armed. The fault strikes before any other event at this instant, once the calling
        process yields: place the call just before the yield that the fault must pre-empt."""
        hook = self._point_hook
        if hook is not None:
            hook(name)

    def watch_progress(self, progress: Callable[[], tuple[float, int] | None]) -> None:
        """Stop the run as stalled when `progress()` shows work in progress but no completion for the
        scenario's `checks.stall_window` (off when the scenario sets none)."""
        window = self.checks.get("stall_window")
        if window:
            self.stall_detector = StallDetector(window, progress)

    def at_warmup(self, fn: Callable[[], None]) -> None:
        """Call `fn()` when the warm-up ends, right after the recorders reset (not called when there is no warm-up)."""
        self._at_warmup.append(fn)

    def at_heal_phase(self, fn: Callable[[], None]) -> None:
        """Call `fn()` when the heal phase begins (after the faults still active have healed)."""
        self._at_heal_phase.append(fn)

    def heal_phase_began(self) -> None:
        """The fault scheduler's word that the heal phase has begun: run the callbacks."""
        for fn in self._at_heal_phase:
            fn()

    def stop(self, reason: str) -> None:
        """Ask the run loop to end at the next check (e.g. a model that has finished its work)."""
        self._stop_reason = reason

    # --- run loop -----------------------------------------------------------------------------
    def _warmup_proc(self):
        yield self.env.timeout(self.warmup)
        self.recorder.reset_all()
        for fn in self._at_warmup:
            fn()

    def _sampler(self):
        names = list(self._probes)
        fns = [self._probes[n] for n in names]
        self._series_names = names
        interval = self.timeseries_interval
        env = self.env
        while True:
            self._series.append((env.now, *[f() for f in fns]))
            yield env.timeout(interval)

    def timeseries(self):
        """Sampled probes as a DataFrame (time_s plus one column per probe), or None."""
        if not self._series:
            return None
        import pandas as pd

        return pd.DataFrame(self._series, columns=["time_s", *self._series_names])

    def run(self) -> RunOutcome:
        """Run to `duration` (or a stop, deadlock or wall-clock timeout); returns how it ended."""
        with wall_clock_alarm(self.wall_timeout):
            return self._run_loop()

    def _run_loop(self) -> RunOutcome:
        env = self.env
        if self.warmup > 0:
            env.process(self._warmup_proc())
        if self.timeseries_interval and self._probes:
            env.process(self._sampler())
        wall0 = time.monotonic()
        out = self.outcome
        until = self.duration
        step = self.check_interval
        while env.now < until:
            nxt = min(until, env.now + step)
            env.run(until=nxt if nxt > env.now else until)
            if self._stop_reason is not None:
                out.stopped_reason = self._stop_reason
                break
            if self.deadlock.active:
                dl = self.deadlock.find(env.now)
                if dl is not None:
                    out.deadlock = dl
                    self.note("deadlock", cycle=dl.describe())
                    break
            if self.stall_detector is not None:
                st = self.stall_detector.check(env.now, self.deadlock)
                if st is not None:
                    out.stall = st
                    self.note("stall", detail=st.describe())
                    break
            for chk in self._checks:
                reason = chk()
                if reason:
                    out.stopped_reason = reason
                    break
            if out.stopped_reason:
                break
            if self.wall_timeout and time.monotonic() - wall0 > self.wall_timeout:
                out.wall_timeout = True
                break
        out.end_time = env.now
        out.wall_time_s = time.monotonic() - wall0
        return out
