"""The cluster's recovery manager: notices lost management files and has them rebuilt.

Real behaviour it stands for: the cluster's failover service, which on a node failure marks the
management files that node held as lost (operations on their files then wait), picks a takeover
node (an up node holding the fewest management files) and runs the rebuild there, all lost files
of the failure in one pass. If the takeover node fails too (a second failure during recovery),
its own management files join the lost ones and the rebuild starts again on another node.
Left out: the failure detector's delay (a failure is noticed at once), the manager's own failover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery
    from sim.systems.edge_mgmt_recovery.node import EdgeNode


def takeover_node(system: EdgeMgmtRecovery) -> EdgeNode | None:
    """The up node that holds the fewest management files (ties: the lowest index)."""
    up = [n for n in system.nodes if n.up]
    if not up:
        return None
    held = system.mgmt.owner
    return min(up, key=lambda n: (int((held == n.index).sum()), n.index))


def recovery_manager(system: EdgeMgmtRecovery):
    """Rebuild whatever is lost, one job (every file lost so far) at a time, until nothing is."""
    env = system.env
    while True:
        if not system.pending:
            system.pending_event = env.event()
            yield system.pending_event
            continue
        node = takeover_node(system)
        if node is None:
            yield env.any_of([n.wait_up() for n in system.nodes])
            continue
        job = sorted(system.pending)
        system.rebuilding_on = node
        system.sim.note("rebuild_start", node=node.name, files=len(job))
        done = yield node.process(system.variant.rebuild(system, node, job))
        system.rebuilding_on = None
        if done is None:
            system.counts["rebuild_restarts"] += 1
            system.sim.note("rebuild_interrupted", node=node.name)
