"""The mechanism and its baselines: how components are ordered and started, and how a target is chosen.

- `DependencyAware` (the mechanism): waves of the dependency map within the parallelism limit; a
  component is cut over and started only once its dependencies run on the target.
- `NaiveParallel`: every component migrated at once (no limit, no order): a component starts when
  its copy ends; one whose dependencies are not up yet fails to start and retries with
  CrashLoopBackOff-style back-off (what a Kubernetes deployment of the whole estate at once does).
- `NaiveOrder`: the components in an arbitrary seeded order (an inventory spreadsheet's, a
  script's), within the parallelism limit, with the same retrying starts.
- `TierRunbook`: what a careful operator runs without a dependency map: a manual runbook by tier
  (shared storage, then databases and caches, then application services, then web front ends),
  each tier cut over only once every component of the tiers below passes its health check (a
  tier barrier); within a tier there is no order, so a service calling another service of its own
  tier may fail to start and retries with CrashLoopBackOff. The copies run ahead within the
  parallelism limit, as the mechanism's do.

Target selection: `compatibility` (the mechanism: versions and devices checked, then capacity) or
`capacity_only` (a baseline sizing the target by capacity alone).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim.systems.cluster_migration.planner import sequence, waves
from sim.systems.cluster_migration.topology import LAYER, Component


class DependencyAware:
    name = "dependency_aware"
    ordered = True  # the dependency-order invariant applies
    supervised_start = True  # the mover launches behind the gate and retries itself
    def plan(self, dmap: nx.DiGraph, comps: list[Component], parallelism: int, rng: np.random.Generator,
             reverse: bool) -> tuple[list[int], int, int]:
        """(sequence, movers, waves)."""
        ws = waves(dmap, comps)
        return sequence(ws, reverse), parallelism, len(ws)

    def gate(self, broken_skip: bool) -> bool:
        return not broken_skip

    def gate_deps(self, dmap: nx.DiGraph, comps: list[Component], by_wave: bool = False) -> list[tuple[int, ...]]:
        """What the start gate waits for: the component's dependencies in the map, or (`by_wave`)
        every component of the earlier waves (one shared tuple per wave)."""
        if not by_wave:
            return [tuple(dmap.successors(i)) for i in range(len(comps))]
        out: list[tuple[int, ...]] = [()] * len(comps)
        before: list[int] = []
        for w in waves(dmap, comps):
            gate = tuple(before)
            for i in w:
                out[i] = gate
            before.extend(w)
        return out


class NaiveParallel:
    name = "naive_parallel"
    ordered = False
    supervised_start = False  # deployed once copied; the node's restart loop retries
    def plan(self, dmap, comps, parallelism, rng, reverse):
        return list(range(len(comps))), len(comps), 1

    def gate(self, broken_skip: bool) -> bool:
        return False

    def gate_deps(self, dmap: nx.DiGraph, comps: list[Component]) -> list[tuple[int, ...]]:
        return [() for _ in comps]


class NaiveOrder:
    name = "naive_order"
    ordered = False
    supervised_start = False
    def plan(self, dmap, comps, parallelism, rng, reverse):
        return [int(i) for i in rng.permutation(len(comps))], parallelism, 1

    def gate(self, broken_skip: bool) -> bool:
        return False

    def gate_deps(self, dmap: nx.DiGraph, comps: list[Component]) -> list[tuple[int, ...]]:
        return [() for _ in comps]


class TierRunbook:
    name = "tier_runbook"
    ordered = False  # intra-tier dependencies may start out of order (retried): a baseline, not a bug
    supervised_start = False

    def plan(self, dmap, comps, parallelism, rng, reverse):
        seq = sorted(range(len(comps)), key=lambda i: (LAYER[comps[i].type], -comps[i].data, i))
        return seq, parallelism, len({LAYER[c.type] for c in comps})

    def gate(self, broken_skip: bool) -> bool:
        return True

    def gate_deps(self, dmap: nx.DiGraph, comps: list[Component]) -> list[tuple[int, ...]]:
        """The tier barrier: every component of a lower tier (one shared tuple per tier)."""
        below = {t: tuple(i for i, c in enumerate(comps) if LAYER[c.type] < t) for t in set(LAYER.values())}
        return [below[LAYER[c.type]] for c in comps]


VARIANTS = {"dependency_aware": DependencyAware, "naive_parallel": NaiveParallel, "naive_order": NaiveOrder,
            "tier_runbook": TierRunbook}
#: target selection -> whether compatibility is checked
CHECKS_COMPATIBILITY = {"compatibility": True, "capacity_only": False}
