"""The mechanism and its baselines: how components are ordered and started, and how a target is chosen.

- `DependencyAware` (the mechanism): waves of the dependency map within the parallelism limit; a
  component is cut over and started only once its dependencies run on the target.
- `NaiveParallel`: every component migrated at once (no limit, no order): a component starts when
  its copy ends; one whose dependencies are not up yet fails to start and retries with
  CrashLoopBackOff-style back-off (what a Kubernetes deployment of the whole estate at once does).
- `NaiveOrder`: the components in an arbitrary seeded order (an inventory spreadsheet's, a
  script's), within the parallelism limit, with the same retrying starts.

Target selection: `compatibility` (the mechanism: versions and devices checked, then capacity) or
`capacity_only` (a baseline sizing the target by capacity alone).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim.systems.cluster_migration.planner import sequence, waves
from sim.systems.cluster_migration.topology import Component


class DependencyAware:
    name = "dependency_aware"
    ordered = True  # the dependency-order invariant applies

    def plan(self, dmap: nx.DiGraph, comps: list[Component], parallelism: int, rng: np.random.Generator,
             reverse: bool) -> tuple[list[int], int, int]:
        """(sequence, movers, waves)."""
        ws = waves(dmap, comps)
        return sequence(ws, reverse), parallelism, len(ws)

    def gate(self, broken_skip: bool) -> bool:
        return not broken_skip


class NaiveParallel:
    name = "naive_parallel"
    ordered = False

    def plan(self, dmap, comps, parallelism, rng, reverse):
        return list(range(len(comps))), len(comps), 1

    def gate(self, broken_skip: bool) -> bool:
        return False


class NaiveOrder:
    name = "naive_order"
    ordered = False

    def plan(self, dmap, comps, parallelism, rng, reverse):
        return [int(i) for i in rng.permutation(len(comps))], parallelism, 1

    def gate(self, broken_skip: bool) -> bool:
        return False


VARIANTS = {"dependency_aware": DependencyAware, "naive_parallel": NaiveParallel, "naive_order": NaiveOrder}
#: target selection -> whether compatibility is checked
CHECKS_COMPATIBILITY = {"compatibility": True, "capacity_only": False}
