"""The data protection manager: triggers the migration, plans it, and re-plans when a target node fails.

Real behaviour it stands for (Dell's "migrating data clusters using heterogeneous data cluster
infrastructures"): on a migration event (hardware end of life, predicted failure, capacity
pressure) for a watched cluster, the manager has already chosen a target from the candidates'
inventories (`placement.select_target`: compatibility, then capacity) and placed the components
on its nodes; it builds the dependency map on the target, derives the sequence in waves and hands
the components to the movers. When a target node fails mid-migration it re-places the
components that were on it (copied, in flight or running) on the remaining capacity with the
same algorithm, rolls back to the source those that no longer fit, and restarts their migration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.systems.cluster_migration.mover import ACTIVE, DONE, NodeLost
from sim.systems.cluster_migration.oracle import check_placement

if TYPE_CHECKING:
    from sim.systems.cluster_migration.model import ClusterMigration


def migration_manager(system: ClusterMigration):
    """Wait for the migration event, record the target decision, check the plan, start the movers."""
    env, p, sel = system.env, system.params, system.selection
    yield env.timeout(p.trigger_at)
    for name, reason in sel.rejected:
        system.sim.note("candidate_rejected", cluster=name, reason=reason)
    if sel.cluster is None:
        system.sim.note("no_target", candidates=len(p.targets))
        return
    system.sim.note("target_selected", cluster=sel.cluster.spec.name, fit_score=system.fit_score,
                    waves=system.n_waves, movers=system.movers)
    system.triggered = True
    system.oracle.check_plan(system.dmap, system.sequence, env.now)
    if system.checks_placement:
        check_placement(sel.cluster.spec, system.comps, system.placement, system.failed_nodes(), p,
                        system.violation_log, env.now, "initial placement")
    system.requeue([c for c in system.sequence if c in system.placement])
    for c in system.sequence:
        if c not in system.placement:  # no node left for it (nodes failed before the event)
            system.rollback(c)


def replan(system: ClusterMigration, idx: int) -> None:
    """Target node `idx` failed: re-place its components on the live nodes' remaining capacity."""
    p = system.params
    node = system.nodes[idx]
    node.failed = True
    system.alive[idx] = False
    pos = system.seq_pos
    displaced = sorted((c for c, n in system.placement.items() if n == idx), key=lambda c: pos[c])
    for c in displaced:
        system.running_on.pop(c, None)
        system.availability.set_running(c, False)
    if displaced:
        system.notify_running()
    system.c_replans.inc()
    if p.broken_replan != "skip":
        for c in displaced:
            comp = system.comps[c]
            system.used_cpu[idx] -= comp.cpu
            system.used_mem[idx] -= comp.memory
            del system.placement[c]
        moved, unplaced = _place(system, displaced)
        system.placement.update(moved)
    else:
        moved, unplaced = {}, []
    system.sim.note("replan", node=idx, displaced=len(displaced), moved=len(moved), unplaced=len(unplaced))
    if system.checks_placement:
        check_placement(system.selection.cluster.spec, system.comps, system.placement, system.failed_nodes(), p,
                        system.violation_log, system.env.now, f"re-plan after node[{idx}] failed")
    if not system.triggered:
        return
    for c in unplaced:
        system.rollback(c)
    again = [c for c in displaced if c in moved]
    for c in again:
        w = system.worker_of.pop(c, None)
        if system.state[c] == ACTIVE and w is not None and w.is_alive and w is not system.env.active_process:
            w.interrupt(NodeLost(c))
        if system.state[c] == DONE:
            system.undone(c)
    system.requeue(again)


def _place(system: ClusterMigration, displaced: list[int]) -> tuple[dict[int, int], list[int]]:
    if system.params.broken_replan == "ignore_capacity":
        live = [k for k, a in enumerate(system.alive) if a]
        if not live:
            return {}, list(displaced)
        fullest = max(live, key=lambda k: (system.used_cpu[k], -k))  # stale "it ran here before" view
        return {c: fullest for c in displaced}, []
    comps = [system.comps[c] for c in displaced]
    return system.placer.place(comps, system.used_cpu, system.used_mem, system.alive)
