"""Run-time checks beyond the system's end-of-run `violations()`: continuous invariants and liveness.

Installed by the runner according to the scenario's `checks:` block:

- `continuous_invariants: true` calls the system's optional `check_invariants()` at every check
  interval; violations found mid-run are kept (the first few, and a count) and added to the run's.
- `heal_phase: 2s` makes the last 2 s of the run fault-free and, at the end, asks whether the
  system recovered (safety first, then liveness): no deadlock, no wall-clock timeout, and the
  system's optional `converged()` returns None. A run that never recovers is reported as a
  violation named `liveness.*`, like a broken invariant.
"""

from __future__ import annotations

from typing import Any

from sim.core.system import Violation

MAX_CONTINUOUS_KEPT = 10


class ContinuousChecker:
    """Calls `system.check_invariants()` every check interval and keeps the first violations."""

    def __init__(self, sim: Any, system: Any) -> None:
        self.sim = sim
        self.system = system
        self.kept: list[Violation] = []
        self.count = 0
        self._seen: set[tuple[str, str]] = set()

    def __call__(self) -> None:
        found = self.system.check_invariants() or []
        for v in found:
            key = (v.invariant, v.detail)
            if key in self._seen:
                continue  # the same broken state seen at the next check is not a new violation
            self._seen.add(key)
            self.count += 1
            if v.time_s is None:
                v.time_s = self.sim.now
            if len(self.kept) < MAX_CONTINUOUS_KEPT:
                self.kept.append(v)
                self.sim.note("invariant_violation", invariant=v.invariant, detail=v.detail)
        return None

    def final(self, outcome) -> list[Violation]:
        return list(self.kept)


def liveness_violations(sim: Any, system: Any, outcome: Any) -> list[Violation]:
    """Did the system recover during the heal phase? (deadlock, watchdog, `converged()`)."""
    out = []
    if outcome.deadlock is not None:
        out.append(Violation("liveness.deadlock", f"processes blocked in a cycle: {outcome.deadlock.describe()}",
                             outcome.deadlock.formed_at))
    if outcome.stall is not None:
        out.append(Violation("liveness.stall", outcome.stall.describe(), outcome.stall.since))
    if outcome.wall_timeout:
        out.append(Violation("liveness.watchdog", f"wall-clock timeout after {outcome.wall_time_s:.3g} s "
                                                  f"at simulated time {outcome.end_time:.6g} s", outcome.end_time))
    hook = getattr(system, "converged", None)
    if hook is not None and outcome.deadlock is None and outcome.stall is None and not outcome.wall_timeout:
        why = hook()
        if why:
            out.append(Violation("liveness.not_converged", str(why), outcome.end_time))
    return out


def install_checks(sim: Any, system: Any, options: dict[str, Any]) -> None:
    """Install the continuous and end-of-run checks the scenario's `checks:` options ask for."""
    if options.get("continuous_invariants"):
        checker = ContinuousChecker(sim, system)
        sim.add_check(checker)
        sim.add_final_check(checker.final)
    if options.get("heal_phase"):
        sim.add_final_check(lambda outcome: liveness_violations(sim, system, outcome))
