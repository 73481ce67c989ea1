"""Parameters of `cluster_migration` (defaults and their sources: docs/models/cluster_migration.md).

The source cluster is either generated from the run's seed (`topology`) or given as an explicit
graph (`graph`); the candidate target clusters are inventories (`targets`). A dependency cycle in
an explicit graph, an unknown dependency or a type without a start-up time is a scenario error,
never a hang at run time; a bad edge is located at its `depends_on` entry (for a cycle, the edge
closing it: the one of the component that comes last in the file).
"""

from __future__ import annotations

from typing import Literal

import networkx as nx
from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim.components.network import LinkParams
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveDuration, PositiveSize

TYPES = ("storage", "database", "cache", "app", "web")
Device = Literal["nvme", "ssd", "hdd"]


class ComponentSpec(Params):
    """One component of an explicit source graph."""

    type: Literal["storage", "database", "cache", "app", "web"] = Field(description="component type")
    data: PositiveSize = Field(description="bytes of data to copy to the target")
    cpu: float = Field(2.0, gt=0, description="CPU cores it needs on a target node")
    memory: PositiveSize = Field(8 * 2**30, description="bytes of memory it needs on a target node")
    depends_on: list[str] = Field(default_factory=list, description="components that must run before it")


class GraphSpec(Params):
    """An explicit source cluster: components by name with their dependencies (a DAG)."""

    components: dict[str, ComponentSpec] = Field(description="the components, by name")

    @model_validator(mode="after")
    def _acyclic(self):
        g = nx.DiGraph()
        g.add_nodes_from(self.components)
        for name, c in self.components.items():
            for k, d in enumerate(c.depends_on):
                if d not in self.components:
                    _edge_error(name, k, f"component {name!r} depends on unknown component {d!r}")
                if d == name:
                    _edge_error(name, k, f"component {name!r} depends on itself")
                g.add_edge(name, d)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return self
        # the edge closing the cycle: the one whose component comes last in the file
        order = {n: i for i, n in enumerate(self.components)}
        k = max(range(len(cycle)), key=lambda i: order[cycle[i][0]])
        cycle = cycle[k + 1:] + cycle[:k + 1]
        path = " -> ".join([u for u, _v in cycle] + [cycle[0][0]])
        u, v = cycle[-1]
        _edge_error(u, self.components[u].depends_on.index(v), f"dependency cycle {path}: no migration order exists")


def _edge_error(name: str, k: int, msg: str) -> None:
    """A located error at `components.<name>.depends_on[k]` (the scenario loader gives its line)."""
    raise ValidationError.from_exception_data("GraphSpec", [InitErrorDetails(
        type=PydanticCustomError("graph_edge", msg), loc=("components", name, "depends_on", k), input=name)])


class TopologyParams(Params):
    """A layered source cluster generated from the seed: web -> app -> database/cache -> shared storage."""

    components: int = Field(60, ge=5, le=20_000, description="components in the source cluster")
    density: float = Field(1.0, ge=0.0, le=8.0, description="extra dependencies per component, on average, beyond "
                           "the layered ones (to lower layers or earlier apps)")
    mix: dict[str, float] = Field(
        default_factory=lambda: {"storage": 0.08, "database": 0.15, "cache": 0.07, "app": 0.45, "web": 0.25},
        description="fraction of components of each type")
    data_mean: dict[str, PositiveSize] = Field(
        default_factory=lambda: {"storage": 400 * 2**30, "database": 120 * 2**30, "cache": 8 * 2**30,
                                 "app": 4 * 2**30, "web": 1 * 2**30},
        description="mean bytes of data per component type (lognormal, sigma `data_sigma`)")
    data_sigma: float = Field(0.6, ge=0.0, le=3.0, description="lognormal sigma of the data per component")
    cpu: dict[str, float] = Field(
        default_factory=lambda: {"storage": 4.0, "database": 8.0, "cache": 2.0, "app": 4.0, "web": 1.0},
        description="CPU cores per component type")
    memory: dict[str, PositiveSize] = Field(
        default_factory=lambda: {"storage": 16 * 2**30, "database": 64 * 2**30, "cache": 32 * 2**30,
                                 "app": 16 * 2**30, "web": 4 * 2**30},
        description="memory per component type, bytes")

    @model_validator(mode="after")
    def _types(self):
        for key in ("mix", "data_mean", "cpu", "memory"):
            bad = sorted(set(getattr(self, key)) - set(TYPES))
            if bad:
                raise ValueError(f"{key}: unknown component type(s) {bad} (known: {', '.join(TYPES)})")
            if key != "mix" and set(getattr(self, key)) != set(TYPES):
                raise ValueError(f"{key}: give a value for every type {TYPES}")
        if self.mix.get("storage", 0) <= 0 or sum(self.mix.values()) <= 0:
            raise ValueError("mix: storage must have a positive share (every database sits on shared storage)")
        return self


class NodeGroup(Params):
    """Identical nodes of a target cluster."""

    count: int = Field(ge=1, le=5000, description="nodes in the group")
    cpu: float = Field(gt=0, description="CPU cores per node")
    memory: PositiveSize = Field(description="memory per node, bytes")
    device: Device = Field(description="the nodes' storage device class")


class TargetClusterSpec(Params):
    """A candidate target cluster: its node groups and the runtime version it offers per type."""

    name: str = Field(description="the cluster's name (in events and metrics)")
    nodes: list[NodeGroup] = Field(min_length=1, description="node groups")
    versions: dict[str, int] = Field(description="runtime (major) version offered per component type")


def _default_targets() -> list[TargetClusterSpec]:
    return [
        TargetClusterSpec(name="edge-small", nodes=[NodeGroup(count=4, cpu=32, memory=256 * 2**30, device="nvme")],
                          versions={"storage": 18, "database": 16, "cache": 7, "app": 21, "web": 1}),
        TargetClusterSpec(name="legacy-large", nodes=[NodeGroup(count=16, cpu=64, memory=512 * 2**30, device="hdd")],
                          versions={"storage": 16, "database": 12, "cache": 6, "app": 17, "web": 1}),
        TargetClusterSpec(name="modern", nodes=[NodeGroup(count=6, cpu=64, memory=512 * 2**30, device="nvme"),
                                                NodeGroup(count=6, cpu=64, memory=384 * 2**30, device="ssd")],
                          versions={"storage": 18, "database": 16, "cache": 7, "app": 21, "web": 1}),
    ]


class ClusterMigrationParams(Params):
    """Parameters of the migration; defaults and their sources in docs/models/cluster_migration.md."""

    variant: Literal["dependency_aware", "naive_parallel", "naive_order", "tier_runbook"] = Field(
        "dependency_aware", description="dependency_aware: the mechanism (waves, start after dependencies); "
        "naive_parallel: every component at once; naive_order: a seeded arbitrary order within the limit; "
        "tier_runbook: a manual runbook by tier (storage, databases/caches, services, web), each tier cut over "
        "once the tiers below are healthy")
    target_selection: Literal["compatibility", "capacity_only"] = Field(
        "compatibility", description="compatibility: the mechanism (capacity and version/device checks); "
        "capacity_only: a baseline checking capacity alone")
    topology: TopologyParams = Field(default_factory=TopologyParams, description="the generated source cluster")
    graph: GraphSpec | None = Field(None, description="an explicit source cluster (replaces `topology`)")
    source_versions: dict[str, int] = Field(
        default_factory=lambda: {"storage": 17, "database": 14, "cache": 7, "app": 17, "web": 1},
        description="runtime version each type runs on the source (a target must offer at least it)")
    devices: dict[str, list[Device]] = Field(
        default_factory=lambda: {"storage": ["nvme", "ssd"], "database": ["nvme", "ssd"],
                                 "cache": ["nvme", "ssd", "hdd"], "app": ["nvme", "ssd", "hdd"],
                                 "web": ["nvme", "ssd", "hdd"]},
        description="device classes a component type may run on")
    startup_time: dict[str, Duration] = Field(
        default_factory=lambda: {"storage": 60.0, "database": 20.0, "cache": 120.0, "app": 45.0, "web": 2.0},
        description="time from launch to serving, per type, s")
    targets: list[TargetClusterSpec] = Field(default_factory=_default_targets, min_length=1,
                                             description="candidate target clusters")
    link: LinkParams = Field(LinkParams(latency=2e-3, bandwidth=10e9 / 8),
                             description="the inter-cluster link (10 Gb/s, 2 ms)")
    stream_rate: ByteRate = Field(250e6, description="throughput of one copy stream, bytes/s (one per component)")
    cutover: Literal["per_component", "wave"] = Field(
        "per_component", description="dependency_aware only: per_component cuts a component over once its own "
        "dependencies run; wave once every component of the earlier waves runs (cut-overs of a wave together)")
    stream_priority: Literal["fair", "critical_path"] = Field(
        "fair", description="fair: the copy streams share the link equally; critical_path: at most as many "
        "streams as fill the link send at once, the one with the longest remaining critical path first "
        "(a delta sync at cut-over before any bulk copy)")
    parallelism: int = Field(8, ge=1, le=10_000, description="component migrations in flight at once")
    trigger_at: Duration = Field(60.0, description="when the migration event fires (end of life, capacity)")
    chunk_size: PositiveSize = Field(4 * 2**30, description="copy unit, bytes (a resumable checkpoint)")
    max_chunks: int = Field(64, ge=1, le=1024, description="at most this many chunks per component (larger chunks)")
    dirty_fraction: float = Field(0.05, ge=0.0, le=1.0, description="fraction of a component's chunks written "
                                  "during its online copy (re-sent by the delta sync at cut-over)")
    dirty_rate: float = Field(0.0, ge=0.0, le=100.0, description="further fraction of a component's chunks "
                              "written per hour it keeps serving on the source after its copy (waiting at the "
                              "gate), 1/h: 1 - (1 - dirty_fraction) exp(-rate t) are dirty at cut-over (0: off)")
    chunk_error_rate: float = Field(0.0, ge=0.0, lt=0.5, description="probability a chunk fails its checksum "
                                    "on arrival (re-sent)")
    start_failure_rate: float = Field(0.0, ge=0.0, lt=0.5, description="probability a start attempt fails "
                                      "transiently (retried)")
    stop_time: Duration = Field(10.0, description="time to quiesce and stop a component on the source, s")
    restart_backoff: PositiveDuration = Field(10.0, description="first back-off after a failed start, s (doubling)")
    restart_backoff_cap: PositiveDuration = Field(300.0, description="longest back-off between start attempts, s")
    max_incompatible_starts: int = Field(5, ge=1, le=100, description="start attempts failing on a version/device "
                                         "mismatch before the component is rolled back to the source")
    node_restart_time: Duration = Field(300.0, description="boot time of a crashed target node, s")
    mover_restart_time: Duration = Field(30.0, description="restart time of the migration agent, s")
    broken_skip_compatibility_check: bool = Field(
        False, description="BROKEN on purpose: target selection and placement skip the version/device check")
    broken_placement: Literal["none", "ignore_capacity"] = Field(
        "none", description="BROKEN on purpose: ignore_capacity places every component on its best node without "
                            "booking capacity")
    broken_dependency_map: Literal["none", "drop_storage"] = Field(
        "none", description="BROKEN on purpose: drop_storage builds the map without the edges to shared storage")
    broken_sequence: Literal["none", "reverse"] = Field(
        "none", description="BROKEN on purpose: reverse runs the waves in reverse topological order")
    broken_skip_start_gate: bool = Field(
        False, description="BROKEN on purpose: a component starts once copied, without waiting for its dependencies")
    broken_skip_delta_sync: bool = Field(
        False, description="BROKEN on purpose: cut-over skips the delta sync, so chunks written during the copy "
                           "never reach the target (caught by the data oracle)")
    broken_replan: Literal["none", "ignore_capacity", "skip"] = Field(
        "none", description="BROKEN on purpose: ignore_capacity re-places displaced components on the fullest live node "
                            "without checking its remaining capacity; "
                            "skip leaves them on the failed node")

    @model_validator(mode="after")
    def _consistent(self):
        for key in ("source_versions", "devices", "startup_time"):
            missing = sorted(set(TYPES) - set(getattr(self, key)))
            if missing:
                raise ValueError(f"{key}: missing component type(s) {missing}")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("targets: two candidate clusters share a name")
        for t in self.targets:
            missing = sorted(set(TYPES) - set(t.versions))
            if missing:
                raise ValueError(f"targets: cluster {t.name!r} gives no version for {missing}")
        return self
