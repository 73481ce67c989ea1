"""What the invariants check against, independent of the planner's own bookkeeping.

- Data: the source cluster tells the oracle each component's final chunk versions when it stops
  it (the source's own record of what it holds); at every launch, and at the end for every
  component running on the target, its node must hold, chunk by chunk, the checksum of exactly
  that version, and all its bytes.
- Dependency order: the oracle keeps its own copy of the source topology's edges (taken before
  the planner runs) and, at every launch on the target, checks that each dependency is running
  (on the target, or back on the source after a rollback). It also checks the planner's map and
  sequence against those edges.
- Placement: capacity and compatibility recomputed from the target's inventory (the scenario's
  node groups expanded here, not the planner's arrays), after the initial placement and after
  every re-plan; no component may stay placed on a failed node.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from sim.core.system import ViolationLog
from sim.systems.cluster_migration.params import ClusterMigrationParams, TargetClusterSpec
from sim.systems.cluster_migration.topology import Component


def checksum(comp: int, chunk: int, version: int) -> int:
    """Checksum of one chunk's content at a version (stands for a CRC of the bytes)."""
    return (comp * 1_000_003 + chunk * 7_919 + version * 104_729 + 0x9E3779B1) & 0xFFFFFFFF


class MigrationOracle:
    """The source topology's edges, the final source versions, and the launches seen."""

    def __init__(self, graph: nx.DiGraph, comps: list[Component], log: ViolationLog, ordered: bool) -> None:
        self.deps: list[tuple[int, ...]] = [tuple(graph.successors(i)) for i in range(len(comps))]
        self.edges = frozenset(graph.edges)
        self.comps = comps
        self.log = log
        self.ordered = ordered  # the mechanism promises dependency order
        self.final: dict[int, tuple[int, ...]] = {}  # component -> chunk versions when the source stopped it
        self.sizes: dict[int, float] = {c.index: c.data for c in comps}
        self.dependency_violations = 0

    def source_stopped(self, comp: int, versions: list[int]) -> None:
        self.final[comp] = tuple(versions)

    def launch(self, comp: int, now: float, running: Callable[[int], bool], held: list | None) -> bool:
        """A launch on the target: its node must hold all its data at the version the source froze
        (any variant); True if every dependency runs, else one dependency violation."""
        versions = self.final.get(comp)
        if versions is None or held is None or len(held) != len(versions) or any(
                s != checksum(comp, k, v) for k, (s, v) in enumerate(zip(held, versions, strict=True))):
            self.log.add("data_complete_at_launch", f"{self.comps[comp].name} launched on a node without all "
                         "its data at the version frozen at cut-over", now, component=self.comps[comp].name)
        missing = [d for d in self.deps[comp] if not running(d)]
        if not missing:
            return True
        self.dependency_violations += 1
        if self.ordered:
            c = self.comps[comp]
            self.log.add("start_after_dependencies", f"{c.name} launched on the target while "
                         f"{', '.join(self.comps[d].name for d in missing[:3])} did not run", now, component=c.name)
        return False

    def check_plan(self, dmap: nx.DiGraph, seq: list[int], now: float) -> None:
        """The planner's map holds every dependency; its sequence puts every dependency first."""
        if not self.ordered:
            return
        lost = [e for e in self.edges if not dmap.has_edge(*e)]
        if lost:
            u, v = min(lost)
            self.log.add("dependency_map_complete", f"{len(lost)} dependency edge(s) missing from the map; first: "
                         f"{self.comps[u].name} -> {self.comps[v].name}", now, missing=len(lost))
        pos = {c: k for k, c in enumerate(seq)}
        bad = [(u, v) for u, v in self.edges if pos.get(u, -1) < pos.get(v, -1)]
        if bad or len(pos) != len(self.comps):
            u, v = min(bad) if bad else (0, 0)
            self.log.add("sequence_topological", f"{len(bad)} component(s) sequenced before a dependency; first: "
                         f"{self.comps[u].name} before {self.comps[v].name}", now, bad=len(bad))

    def check_data(self, held: dict[int, list[int]], now: float) -> None:
        """Every component running on the target holds every chunk at its final version."""
        bad = 0
        first = None
        for comp, sums in held.items():
            versions = self.final.get(comp)
            ok = versions is not None and len(sums) == len(versions) and all(
                s == checksum(comp, k, v) for k, (s, v) in enumerate(zip(sums, versions, strict=True)))
            if not ok:
                bad += 1
                first = first if first is not None else comp
        if bad:
            self.log.add("data_complete", f"{bad} component(s) on the target do not hold their final data; first: "
                         f"{self.comps[first].name}", now, components=bad)

    def check_running_nodes(self, nodes: list[tuple[int, bool, set[int]]], placement: dict[int, int],
                            now: float) -> None:
        """At the end, what each node runs (the nodes' own sets): no component on a node that failed
        (lost to the migration), none off the node the (re-)plan put it on, none on two nodes."""
        seen: dict[int, int] = {}
        bad = []
        for k, failed, running in nodes:
            for c in running:
                if failed or placement.get(c) != k or c in seen:
                    bad.append(self.comps[c].name)
                seen[c] = k
        if bad:
            self.log.add("running_on_placed_node", f"{len(bad)} component(s) run on a failed node, off their "
                         f"placed node or twice at the end; first {sorted(bad)[0]}", now, components=len(bad))


def expand_nodes(spec: TargetClusterSpec) -> list[tuple[float, float, str]]:
    """(cpu, memory, device) of every node of a target cluster, in order."""
    return [(float(g.cpu), float(g.memory), g.device) for g in spec.nodes for _ in range(g.count)]


def check_placement(spec: TargetClusterSpec, comps: list[Component], placement: dict[int, int],
                    failed: set[int], p: ClusterMigrationParams, log: ViolationLog, now: float, when: str) -> None:
    """Capacity and compatibility of `placement` on `spec`, and no component on a failed node."""
    nodes = expand_nodes(spec)
    cpu = [0.0] * len(nodes)
    mem = [0.0] * len(nodes)
    incompatible = []
    on_failed = []
    for ci, n in placement.items():
        c = comps[ci]
        cpu[n] += c.cpu
        mem[n] += c.memory
        if spec.versions.get(c.type, -1) < c.version or nodes[n][2] not in p.devices[c.type]:
            incompatible.append(c.name)
        if n in failed:
            on_failed.append(c.name)
    over = [k for k, (cc, mm, _d) in enumerate(nodes) if cpu[k] > cc + 1e-9 or mem[k] > mm + 1e-9]
    if over:
        log.add("placement_capacity", f"{when}: {len(over)} node(s) of {spec.name} over capacity; first node {over[0]}",
                now, nodes=len(over))
    if incompatible:
        log.add("placement_compatible", f"{when}: {len(incompatible)} component(s) on a node they cannot run on; "
                f"first {incompatible[0]}", now, components=len(incompatible))
    if on_failed:
        log.add("placement_live_nodes", f"{when}: {len(on_failed)} component(s) still placed on a failed node; "
                f"first {on_failed[0]}", now, components=len(on_failed))
