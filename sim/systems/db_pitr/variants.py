"""The mechanism and its baselines as strategy classes (`VARIANTS`), picked once per run.

- `coordinated` (the mechanism, SAP US 11,720,451 B2): one recovered point for every partition and
  coordinator, clamped to the safety threshold; in-doubt transactions resolved by asking the
  recovered coordinator.
- `independent` (baseline: per-database PITR, e.g. each PostgreSQL server restored with the same
  `recovery_target_time`): each partition recovers to T or to the end of its own backed-up log,
  whichever is earlier, and resolves its in-doubt transactions alone (presumed abort, the usual
  runbook's `ROLLBACK PREPARED` of orphans). Its atomicity loss is a measured outcome.
- `single_coordinator`: the mechanism with one global coordinator (normal operation's bottleneck).
"""

from __future__ import annotations


class Coordinated:
    """One point for all logs: min(T, safety threshold); in-doubt resolved by the coordinators."""

    name = "coordinated"
    atomic = True  # atomicity and the oracle state are invariants of this variant
    restores_coordinators = True

    def points(self, requested: float, covered: dict[str, float], clamp: bool) -> dict[str, float]:
        threshold = min(covered.values())
        point = min(requested, threshold) if clamp else requested
        return dict.fromkeys(covered, point)


class SingleCoordinator(Coordinated):
    name = "single_coordinator"


class Independent:
    """Each partition alone: min(T, its own backed-up log); in-doubt transactions aborted locally."""

    name = "independent"
    atomic = False  # a baseline: atomicity violations and lost transactions are measured, not invariants
    restores_coordinators = False

    def points(self, requested: float, covered: dict[str, float], clamp: bool) -> dict[str, float]:
        return {log: min(requested, c) for log, c in covered.items()}


VARIANTS = {"coordinated": Coordinated, "independent": Independent, "single_coordinator": SingleCoordinator}
