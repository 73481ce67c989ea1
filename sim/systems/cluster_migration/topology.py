"""The source cluster's topology: components with their inventory and a dependency graph (networkx).

Generated from the run's seed as a layered service graph, the shape of a multi-tier application
estate: shared storage pools at the bottom, databases (each on one storage pool) and caches, then
application services (each on at least one database, some on a cache, some calling earlier
services), then web front ends (on one or two services). `density` adds further edges to lower
layers. Or read from an explicit graph in the scenario (`params.graph`). An edge u -> v means
"u depends on v": v must run before u may start.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.systems.cluster_migration.params import TYPES, ClusterMigrationParams

LAYER = {"storage": 0, "database": 1, "cache": 1, "app": 2, "web": 3}


@dataclass(slots=True)
class Component:
    """One source component: what it is, what it needs on a target, how much data it has."""

    index: int
    name: str
    type: str
    data: float
    cpu: float
    memory: float
    version: int  # the runtime version it runs on the source


def build_topology(p: ClusterMigrationParams, rng: np.random.Generator) -> tuple[list[Component], nx.DiGraph]:
    """The components and the dependency graph (nodes: component indices)."""
    if p.graph is not None:
        return _explicit(p)
    return _generated(p, rng)


def _explicit(p: ClusterMigrationParams) -> tuple[list[Component], nx.DiGraph]:
    comps = []
    index = {}
    for i, (name, c) in enumerate(p.graph.components.items()):
        comps.append(Component(i, name, c.type, float(c.data), float(c.cpu), float(c.memory), p.source_versions[c.type]))
        index[name] = i
    g = nx.DiGraph()
    g.add_nodes_from(range(len(comps)))
    for name, c in p.graph.components.items():
        for d in c.depends_on:
            g.add_edge(index[name], index[d])
    return comps, g


def _counts(n: int, mix: dict[str, float]) -> dict[str, int]:
    total = sum(mix.get(t, 0.0) for t in TYPES)
    counts = {t: int(n * mix.get(t, 0.0) / total) for t in TYPES}
    counts["storage"] = max(1, counts["storage"])
    counts["app"] += n - sum(counts.values())  # the remainder are application services
    if counts["app"] < 0:
        counts["app"] = 0
    return counts


def _generated(p: ClusterMigrationParams, rng: np.random.Generator) -> tuple[list[Component], nx.DiGraph]:
    t = p.topology
    counts = _counts(t.components, t.mix)
    comps: list[Component] = []
    by_type: dict[str, list[int]] = {k: [] for k in TYPES}
    for typ in TYPES:
        mean = float(t.data_mean[typ])
        mu = np.log(mean) - t.data_sigma**2 / 2  # lognormal with the given mean
        sizes = rng.lognormal(mu, t.data_sigma, counts[typ]) if t.data_sigma > 0 else np.full(counts[typ], mean)
        for k in range(counts[typ]):
            i = len(comps)
            comps.append(Component(i, f"{typ}-{k}", typ, float(sizes[k]), float(t.cpu[typ]), float(t.memory[typ]),
                                   p.source_versions[typ]))
            by_type[typ].append(i)
    g = nx.DiGraph()
    g.add_nodes_from(range(len(comps)))
    storage, dbs, caches, apps = by_type["storage"], by_type["database"], by_type["cache"], by_type["app"]
    for i in dbs + caches:  # every database sits on one shared storage pool; caches persist to one too
        g.add_edge(i, storage[int(rng.integers(len(storage)))])
    for i in apps:
        if dbs:
            g.add_edge(i, dbs[int(rng.integers(len(dbs)))])
        elif storage:
            g.add_edge(i, storage[int(rng.integers(len(storage)))])
        if caches and rng.random() < 0.5:
            g.add_edge(i, caches[int(rng.integers(len(caches)))])
    for i in by_type["web"]:
        pool = apps or dbs or storage
        for _ in range(1 + int(rng.random() < 0.5)):
            g.add_edge(i, pool[int(rng.integers(len(pool)))])
    _extra_edges(g, comps, apps, t.density, rng)
    return comps, g


def _extra_edges(g: nx.DiGraph, comps: list[Component], apps: list[int], density: float,
                 rng: np.random.Generator) -> None:
    """`density` more edges per component on average: to a lower layer, or from an app to an earlier app."""
    n = len(comps)
    extra = int(rng.poisson(density * n)) if density > 0 else 0
    layer = np.array([LAYER[c.type] for c in comps])
    app_pos = {i: k for k, i in enumerate(apps)}
    for _ in range(extra):
        u = int(rng.integers(n))
        lu = layer[u]
        if lu == 0:
            continue
        if lu == 2 and app_pos[u] > 0 and rng.random() < 0.5:
            v = apps[int(rng.integers(app_pos[u]))]  # a call to an earlier service keeps the graph acyclic
        else:
            lower = np.flatnonzero(layer < lu)
            v = int(lower[int(rng.integers(len(lower)))])
        g.add_edge(u, v)
