"""The migration plan: the dependency map on the target and the migration sequence in waves.

The dependency map is the source topology's dependency edges carried over to the components'
placements on the target (u -> v: u needs v running first). The sequence groups independent
components into waves, the topological generations of the map (wave 0: components that depend on
nothing; wave k: components whose dependencies are all in earlier waves), longest copy first within
a wave (LPT order, so that the wave's stragglers start early). The movers take components in
this order, at most `parallelism` at a time; the start gate holds each component's cut-over until
its dependencies run on the target.
"""

from __future__ import annotations

import networkx as nx

from sim.systems.cluster_migration.topology import Component


def dependency_map(graph: nx.DiGraph, comps: list[Component], drop_storage: bool = False) -> nx.DiGraph:
    """The dependency map on the target (`drop_storage`: BROKEN on purpose, shared storage left out)."""
    dm = nx.DiGraph()
    dm.add_nodes_from(graph.nodes)
    for u, v in graph.edges:
        if drop_storage and comps[v].type == "storage":
            continue
        dm.add_edge(u, v)
    return dm


def waves(dmap: nx.DiGraph, comps: list[Component]) -> list[list[int]]:
    """Topological generations of the map, dependencies first; within a wave, most data first."""
    gens = nx.topological_generations(dmap.reverse(copy=False))
    return [sorted(g, key=lambda i: (-comps[i].data, i)) for g in gens]


def sequence(wave_list: list[list[int]], reverse: bool = False) -> list[int]:
    """The waves concatenated (`reverse`: BROKEN on purpose, last wave first)."""
    ws = wave_list[::-1] if reverse else wave_list
    return [i for w in ws for i in w]


def critical_path_tails(dmap: nx.DiGraph, own: list[float]) -> list[float]:
    """Per component, the longest chain of `own` times from it up through everything that waits for
    it (its own copy and cut-over, then its dependents', recursively): the critical path it heads."""
    tail = [0.0] * len(own)
    for v in nx.topological_sort(dmap):  # dependents (u -> v: u needs v) come before their dependencies
        tail[v] = own[v] + max((tail[u] for u in dmap.predecessors(v)), default=0.0)
    return tail
