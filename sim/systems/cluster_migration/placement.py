"""Target selection and placement: which candidate cluster, and which of its nodes hosts each component.

Placement is multi-dimensional (CPU, memory) bin packing with per-node compatibility constraints
(device class, runtime version), NP-hard in general. The planner uses **best-fit decreasing on
the dominant share** (components sorted by their largest normalised demand, each put on the
compatible node with room that it leaves with the least normalised slack): the classic vector
bin-packing heuristic (Panigrahy et al., "Heuristics for Vector Bin Packing", MSR 2011), the
scoring idea of the Kubernetes scheduler's `MostAllocated` strategy and of VMware DRS initial
placement. It is O(components x nodes) with numpy, fine at 5,000 components. Re-placement after
a node failure runs the same algorithm on the live nodes' remaining capacity.

Target selection: every candidate is checked (compatibility: every type's runtime version and a
node of an allowed device class; capacity: a placement exists); the rejected ones are named with
their reason; among the feasible ones the planner picks the one left with the most headroom
(the lowest dominant aggregate utilisation, CPU or memory, after placement: room to grow and to
re-plan after a node failure; best fit packs nodes full, so the peak node is no criterion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.systems.cluster_migration.params import ClusterMigrationParams, TargetClusterSpec
from sim.systems.cluster_migration.topology import Component


@dataclass
class TargetCluster:
    """A candidate cluster's nodes as arrays (capacity, device) and the versions it offers."""

    spec: TargetClusterSpec
    cpu: np.ndarray
    memory: np.ndarray
    device: list[str]
    versions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: TargetClusterSpec) -> TargetCluster:
        cpu, mem, dev = [], [], []
        for grp in spec.nodes:
            cpu += [float(grp.cpu)] * grp.count
            mem += [float(grp.memory)] * grp.count
            dev += [grp.device] * grp.count
        return cls(spec, np.array(cpu), np.array(mem), dev, dict(spec.versions))

    @property
    def n(self) -> int:
        return len(self.device)


def compatible_mask(cluster: TargetCluster, comp: Component, p: ClusterMigrationParams) -> np.ndarray:
    """Nodes of `cluster` on which `comp` can start: a version at least the source's, an allowed device."""
    if cluster.versions.get(comp.type, -1) < comp.version:
        return np.zeros(cluster.n, dtype=bool)
    allowed = p.devices[comp.type]
    return np.array([d in allowed for d in cluster.device], dtype=bool)


def incompatibility(cluster: TargetCluster, comps: list[Component], p: ClusterMigrationParams) -> str | None:
    """Why `cluster` cannot host some type of `comps` at all (None: every type can run somewhere)."""
    for typ in sorted({c.type for c in comps}):
        need = p.source_versions[typ]
        have = cluster.versions.get(typ, -1)
        if have < need:
            return f"{typ} runtime version {have} < source version {need}"
        if not any(d in p.devices[typ] for d in cluster.device):
            return f"no node with a device for {typ} ({', '.join(p.devices[typ])})"
    return None


class Placer:
    """Best-fit decreasing on the dominant share, with compatibility masks per component type."""

    def __init__(self, cluster: TargetCluster, p: ClusterMigrationParams, check_compat: bool,
                 book_capacity: bool = True) -> None:
        self.cluster = cluster
        self.p = p
        self.check_compat = check_compat
        self.book_capacity = book_capacity
        self._masks: dict[tuple[str, int], np.ndarray] = {}

    def mask(self, comp: Component) -> np.ndarray:
        key = (comp.type, comp.version)
        m = self._masks.get(key)
        if m is None:
            m = compatible_mask(self.cluster, comp, self.p) if self.check_compat else np.ones(self.cluster.n, bool)
            self._masks[key] = m
        return m

    def place(self, comps: list[Component], used_cpu: np.ndarray, used_mem: np.ndarray,
              alive: np.ndarray) -> tuple[dict[int, int], list[int]]:
        """Place `comps` on live nodes (booking into `used_*` in place); returns (placement, unplaced)."""
        cl = self.cluster
        ccap, mcap = cl.cpu, cl.memory
        scale_c, scale_m = float(ccap.max()), float(mcap.max())
        order = sorted(comps, key=lambda c: (-max(c.cpu / scale_c, c.memory / scale_m), c.index))
        out: dict[int, int] = {}
        unplaced: list[int] = []
        for c in order:
            left_c = ccap - used_cpu - c.cpu
            left_m = mcap - used_mem - c.memory
            ok = alive & self.mask(c)
            if self.book_capacity:
                ok = ok & (left_c >= -1e-9) & (left_m >= -1e-9)
            cand = np.flatnonzero(ok)
            if len(cand) == 0:
                unplaced.append(c.index)
                continue
            slack = left_c[cand] / ccap[cand] + left_m[cand] / mcap[cand]
            if not self.book_capacity:
                slack = -slack  # without booking every component lands on the same roomiest node
            node = int(cand[int(np.argmin(slack))])
            out[c.index] = node
            if self.book_capacity:
                used_cpu[node] += c.cpu
                used_mem[node] += c.memory
        return out, unplaced


@dataclass
class Selection:
    """The chosen target, its placement, and the candidates rejected with their reasons."""

    cluster: TargetCluster | None
    placement: dict[int, int]
    used_cpu: np.ndarray
    used_mem: np.ndarray
    rejected: list[tuple[str, str]]
    placer: Placer | None


def select_target(comps: list[Component], p: ClusterMigrationParams, check_compat: bool,
                  book_capacity: bool) -> Selection:
    """Check every candidate, place onto the feasible ones, choose the one with the most headroom."""
    rejected: list[tuple[str, str]] = []
    best: tuple[float, int, Selection] | None = None
    for k, spec in enumerate(p.targets):
        cl = TargetCluster.from_spec(spec)
        if check_compat:
            why = incompatibility(cl, comps, p)
            if why is not None:
                rejected.append((spec.name, f"incompatible: {why}"))
                continue
        placer = Placer(cl, p, check_compat, book_capacity)
        uc, um = np.zeros(cl.n), np.zeros(cl.n)
        placement, unplaced = placer.place(comps, uc, um, np.ones(cl.n, dtype=bool))
        if unplaced:
            rejected.append((spec.name, f"capacity: {len(unplaced)} of {len(comps)} components do not fit"))
            continue
        load = float(max(uc.sum() / cl.cpu.sum(), um.sum() / cl.memory.sum()))  # dominant aggregate share
        if best is None or load < best[0]:
            best = (load, k, Selection(cl, placement, uc, um, [], placer))
    if best is None:
        return Selection(None, {}, np.zeros(0), np.zeros(0), rejected, None)
    sel = best[2]
    sel.rejected = rejected
    return sel
