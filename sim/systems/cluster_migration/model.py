"""Dependency-aware migration of a data cluster to a heterogeneous target (system `cluster_migration`).

Composition only; the actors live in modules named after them:

- `topology.build_topology`: the source cluster (components, inventory, dependency graph);
- `placement.select_target`: candidate checks (compatibility, capacity) and best-fit-decreasing
  placement; `planner`: the dependency map and the waves;
- `manager.migration_manager`: the data protection manager (trigger, plan, re-plan on node loss);
- `mover.mover_worker`: the copy streams (online copy, gate, cut-over, delta sync, start);
- `clusters`: the source's chunked data and the target nodes (`Host`s);
- `availability.Availability`: service downtime; `oracle`: the independent checks.

Abstracted away: see docs/models/cluster_migration.md ("Abstracted away").
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import simpy

from sim.components.host import Host
from sim.components.network import Link
from sim.core.process import Backoff
from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.cluster_migration.availability import Availability
from sim.systems.cluster_migration.clusters import SourceCluster, TargetNode
from sim.systems.cluster_migration.manager import migration_manager, replan
from sim.systems.cluster_migration.metrics import METRICS, assemble
from sim.systems.cluster_migration.mover import (
    ACTIVE,
    DONE,
    IDLE,
    LAUNCHED,
    QUEUED,
    ROLLED_BACK,
    ROLLING_BACK,
    mover_worker,
    rollback,
)
from sim.systems.cluster_migration.oracle import MigrationOracle
from sim.systems.cluster_migration.params import ClusterMigrationParams
from sim.systems.cluster_migration.placement import select_target
from sim.systems.cluster_migration.planner import critical_path_tails, dependency_map
from sim.systems.cluster_migration.targets import ActiveNodeTarget
from sim.systems.cluster_migration.topology import build_topology
from sim.systems.cluster_migration.variants import CHECKS_COMPATIBILITY, VARIANTS

_T = ("active_node", "mover")
FAULT_POINTS = (
    FaultPoint("cluster_migration.copy.chunk_stored", "online copy: a chunk is on the target node, the next "
               "not yet sent (the copy must resume, not restart or skip)", _T),
    FaultPoint("cluster_migration.copy.done", "data copied online; the component not yet cut over (between "
               "data copy and start)", _T),
    FaultPoint("cluster_migration.cutover.stop_source", "cut-over begins: the component is about to be stopped "
               "on the source (down from here)", _T),
    FaultPoint("cluster_migration.cutover.delta_sync", "source stopped, final versions frozen; the delta sync "
               "about to re-send the chunks written during the copy", _T),
    FaultPoint("cluster_migration.start.launch", "data complete on the target; the component being launched "
               "(between start and cut-over completion)", _T),
    FaultPoint("cluster_migration.start.running", "the component serves on the target; its dependents about to "
               "be released", _T),
)


@register_system("cluster_migration")
class ClusterMigration(System):
    """A data protection manager migrating a cluster's components to a heterogeneous target cluster."""

    Params = ClusterMigrationParams
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: ClusterMigrationParams, workload=None) -> None:
        super().__init__(sim, params, workload)
        p = params
        self.comps, self.graph = build_topology(p, sim.rng("cluster_migration.topology"))
        self.variant = VARIANTS[p.variant]()
        check_compat = CHECKS_COMPATIBILITY[p.target_selection] and not p.broken_skip_compatibility_check
        self.checks_placement = CHECKS_COMPATIBILITY[p.target_selection]
        self.selection = sel = select_target(self.comps, p, check_compat, p.broken_placement == "none")
        self.placer = sel.placer
        self.placement: dict[int, int] = dict(sel.placement)
        self.used_cpu, self.used_mem = sel.used_cpu, sel.used_mem
        cl = sel.cluster
        self.nodes = [TargetNode(sim, f"node[{k}]", k, p.node_restart_time) for k in range(cl.n if cl else 0)]
        for node in self.nodes:
            node.on_crash.append(lambda _r, k=node.index: replan(self, k))
        self.alive = np.ones(len(self.nodes), dtype=bool)
        self.dmap = dependency_map(self.graph, self.comps, p.broken_dependency_map == "drop_storage")
        self.gate_deps = (self.variant.gate_deps(self.dmap, self.comps, by_wave=True) if p.cutover == "wave"
                          and p.variant == "dependency_aware" else self.variant.gate_deps(self.dmap, self.comps))
        self.sequence, self.movers, self.n_waves = self.variant.plan(
            self.dmap, self.comps, p.parallelism, sim.rng("cluster_migration.order"), p.broken_sequence == "reverse")
        self.seq_pos = {c: k for k, c in enumerate(self.sequence)}
        self.gate = self.variant.gate(p.broken_skip_start_gate)
        n_chunks = [max(1, min(p.max_chunks, math.ceil(c.data / p.chunk_size))) for c in self.comps]
        self.chunk_bytes = [c.data / k for c, k in zip(self.comps, n_chunks, strict=True)]
        self.source = SourceCluster(n_chunks, sim.rng("cluster_migration.writes"), p.dirty_fraction,
                                    p.dirty_rate / 3600.0)
        self.copied_at: dict[int, float] = {}  # component -> end of its online copy (dirty_rate)
        self.link = Link(sim, p.link, "link")
        self.link.forward.per_flow_cap = p.stream_rate
        self.link_slots, self.copy_priority = None, None
        if p.stream_priority == "critical_path":
            # as many streams as fill the link send at once; the longest critical path first
            self.link_slots = simpy.PriorityResource(self.env, max(1, math.ceil(p.link.bandwidth / p.stream_rate)))
            own = [c.data / p.stream_rate + p.stop_time + p.startup_time[c.type] for c in self.comps]
            self.copy_priority = [-t for t in critical_path_tails(self.dmap, own)]
        self.mover = Host(sim, None, "mover", restart_time=p.mover_restart_time)
        self.mover.on_restart.append(self._mover_restarted)
        self.availability = Availability(self.env, self.graph, len(self.comps))
        self.availability.twin = Availability(self.env, self.graph, len(self.comps), through_source=True)
        self.oracle = MigrationOracle(self.graph, self.comps, self.violation_log, self.variant.ordered)
        self.backoff = Backoff(p.restart_backoff, p.restart_backoff_cap, sim.rng("cluster_migration.backoff"))
        self.copy_rng = sim.rng("cluster_migration.chunk_errors")
        self.start_rng = sim.rng("cluster_migration.start_failures")
        self.state = [IDLE] * len(self.comps)
        self.queue: deque[int] = deque()
        self.worker_of: dict[int, Any] = {}
        self.running_on: dict[int, int] = {}
        self.rolled_back = [False] * len(self.comps)
        self.workers = 0
        self.done_count = 0
        self.finished_at: float | None = None
        self.triggered = False
        self.last_component: int | None = None
        self._changed = self.env.event()
        rec = sim.recorder
        self.c_failed, self.c_retries = rec.counter("cm.failed_starts"), rec.counter("cm.retries")
        self.c_bytes, self.c_replans = rec.counter("cm.bytes_moved"), rec.counter("cm.replans")
        self.c_rollbacks = rec.counter("cm.rollbacks")
        fits = [self.can_run(c, n) for c, n in sel.placement.items()]
        self.fit_score = float(sum(fits)) / len(self.comps) if cl else 0.0
        self.peak_utilisation = (float(max((sel.used_cpu / cl.cpu).max(), (sel.used_mem / cl.memory).max()))
                                 if cl else math.nan)
        self._targets: dict[str, FaultTarget] = {"link": self.link, "mover": self.mover,
                                                 "active_node": ActiveNodeTarget(self)}
        self._targets |= {n.name: n for n in self.nodes}

    def start(self) -> None:
        self.env.process(migration_manager(self))

    # --- what the actors ask and report ---------------------------------------------------------
    def hit(self, point: str, c: int) -> None:
        """A fault point reached while migrating component `c` (the `active_node` target's node)."""
        self.last_component = c
        self.sim.fault_point(point)

    def can_run(self, c: int, node_index: int) -> bool:
        """Whether component `c` can start on a node of the chosen target (version and device)."""
        comp, cl = self.comps[c], self.selection.cluster
        return cl.versions.get(comp.type, -1) >= comp.version and cl.device[node_index] in self.params.devices[comp.type]

    def is_running(self, c: int) -> bool:
        """`c` serves: on a live target node that runs it, or on the source after a rollback."""
        if self.rolled_back[c]:
            return True
        k = self.running_on.get(c)
        return k is not None and self.nodes[k].up and c in self.nodes[k].running

    def dependencies_run(self, c: int) -> bool:
        """What the start gate waits for runs: `c`'s dependencies in the planner's map (the mechanism),
        or every component of the tiers below (the runbook's tier barrier)."""
        return all(self.is_running(d) for d in self.gate_deps[c])

    def running_changed(self):
        return self._changed

    def notify_running(self) -> None:
        ev, self._changed = self._changed, self.env.event()
        ev.succeed()

    def started(self, c: int, node: TargetNode) -> None:
        node.running.add(c)
        self.running_on[c] = node.index
        self.availability.set_running(c, True)
        self._set_done(c, DONE)
        self.notify_running()

    def rollback(self, c: int) -> None:
        """Give the target up for `c`: free its placement, restart it on the source."""
        k = self.placement.pop(c, None)
        if k is not None:
            self.used_cpu[k] -= self.comps[c].cpu
            self.used_mem[k] -= self.comps[c].memory
            self.nodes[k].store.pop(c, None)
        self.c_rollbacks.inc()
        self.state[c] = ROLLING_BACK
        if self.source.running[c]:
            self.rolled_back_done(c)
        else:
            self.env.process(rollback(self, c))

    def rolled_back_done(self, c: int) -> None:
        self.rolled_back[c] = True
        self.availability.set_running(c, True)
        self._set_done(c, ROLLED_BACK)
        self.notify_running()

    def _set_done(self, c: int, state: int) -> None:
        if self.state[c] not in (DONE, ROLLED_BACK):
            self.done_count += 1
        self.state[c] = state
        if self.done_count == len(self.comps):
            self.finished_at = self.env.now

    def undone(self, c: int) -> None:
        """A component that ran on the target has to move again (its node failed)."""
        if self.state[c] == DONE:
            self.done_count -= 1
            self.state[c] = IDLE
            self.finished_at = None

    def requeue(self, comps: list[int]) -> None:
        """Put components at the front of the movers' queue (in order) and start movers for them."""
        for c in reversed(comps):
            self.state[c] = QUEUED
            self.queue.appendleft(c)
        self._spawn()

    def _spawn(self) -> None:
        while self.mover.up and self.queue and self.workers < self.movers:
            self.workers += 1
            self.mover.process(mover_worker(self))

    def _mover_restarted(self) -> None:
        """The agent is back: components it was migrating resume (chunks already stored are kept)."""
        self.requeue(sorted((c for c, s in enumerate(self.state) if s == ACTIVE), key=self.seq_pos.__getitem__))
        self.worker_of.clear()

    def failed_nodes(self) -> set[int]:
        return {n.index for n in self.nodes if n.failed}

    # --- faults, liveness, invariants -----------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        return self._targets

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Node and agent crashes, link cuts and degradation, at durations a migration meets."""
        restart = {"dist": "uniform", "low": 10.0, "high": 600.0}
        out = [{"kind": "crash", "target": "mover", "restart_after": restart},
               {"kind": "crash", "target": "active_node", "restart_after": restart},
               {"kind": "link_down", "target": "link", "duration": {"dist": "uniform", "low": 10.0, "high": 900.0}},
               {"kind": "slow_link", "target": "link", "duration": {"dist": "uniform", "low": 60.0, "high": 1800.0},
                "bandwidth_factor": {"dist": "uniform", "low": 0.2, "high": 0.5}}]
        out += [{"kind": "crash", "target": n.name, "restart_after": restart} for n in self.nodes]
        return out

    def converged(self) -> str | None:
        left = len(self.comps) - self.done_count
        if self.selection.cluster is not None and left:
            return f"{left} component(s) neither running on the target nor rolled back"
        return None

    def progress(self) -> tuple[float, int]:
        """Completed: components done plus chunks' bytes moved (GiB); in progress: components in flight."""
        return self.done_count + self.c_bytes.value / 2**30, sum(1 for s in self.state if s in (ACTIVE, LAUNCHED))

    def check_at_end(self) -> None:
        held = {c: self.nodes[k].store.get(c, []) for c, k in self.running_on.items() if self.is_running(c)}
        self.oracle.check_data(held, self.env.now)
        self.oracle.check_running_nodes([(n.index, n.failed, n.running) for n in self.nodes], self.placement,
                                        self.env.now)

    def metrics(self) -> dict[str, float]:
        return assemble(self)
