"""An edge node: a `StorageNode` with its own clock, an HLC, an operation log and a checkpointer.

Real behaviour it stands for: one node of an edge file storage cluster (Hitachi Data Ingestor
style) that accepts client operations, logs each one in its own operation log, holds some
management files and checkpoints them. Its clock is the component's clock (which the
`clock_skew` fault steps and drifts) plus a fixed offset and drift drawn per node (NTP residual
error). The HLC is volatile; a restarted node resumes it above its log's newest entry. A node
failure (`crash`, `power_loss`) loses the management files it holds. Left out: the data path
(reads and writes of file contents), the node's CPU contention between operations and recovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.components.node import NodeParams, StorageNode
from sim.systems.edge_mgmt_recovery.oplog import OpLog
from sim.systems.edge_mgmt_recovery.state import HybridLogicalClock

if TYPE_CHECKING:
    from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery


class EdgeNode(StorageNode):
    """A cluster node: clock with per-node offset and drift, HLC, operation log, held locks."""

    def __init__(self, sim, system: EdgeMgmtRecovery, index: int, offset: float, drift: float) -> None:
        p = system.params
        super().__init__(sim, NodeParams(workers=1, restart_time=p.restart_time), f"node[{index}]")
        self.system = system
        self.index = index
        self.base_offset = offset
        self.base_drift = drift
        self.hlc = HybridLogicalClock(self.clock)
        self.log = OpLog()
        self.held: set = set()  # locks this node holds on files (released by its owner on a failure)
        self.on_restart.append(self._resume)

    def clock(self) -> float:
        """Wall clock: simulated time, the injected skew (`clock_skew`) and the node's own error."""
        return super().clock() + self.base_offset + self.base_drift * self.env.now

    def _lose_volatile(self, reason: str) -> None:
        super()._lose_volatile(reason)
        self.hlc = HybridLogicalClock(self.clock)

    def _resume(self) -> None:
        """After a reboot: HLC above the newest logged entry, checkpointer and log truncation again."""
        self.hlc.recv(self.log.last_hlc())
        self.start_daemons()

    def start_daemons(self) -> None:
        self.process(checkpointer(self.system, self))
        self.process(log_truncation(self.system, self))


def checkpointer(system: EdgeMgmtRecovery, node: EdgeNode):
    """Checkpoint each management file the node holds every `checkpoint_interval` (staggered): copy
    its entries and log position at one instant, write them to shared storage, then commit."""
    env, p, mg = system.env, system.params, system.mgmt
    due = system.ckpt_due
    while True:
        mine = mg.owned_by(node.index)
        if len(mine) == 0:
            yield env.timeout(p.checkpoint_interval)
            continue
        m = int(mine[due[mine].argmin()])
        if due[m] > env.now:
            yield env.timeout(due[m] - env.now)
            continue  # ownership may have changed meanwhile
        ckpt = mg.snapshot(m)
        epoch = mg.epoch[m]
        system.sim.fault_point("edge.checkpoint.write")
        yield env.timeout(len(ckpt.table) * p.mgmt_entry_size / p.log_read_bandwidth)
        if mg.epoch[m] == epoch and mg.owner[m] == node.index:
            ckpt.time = env.now
            mg.ckpt[m] = ckpt
            system.counts["checkpoints_written"] += 1
        due[m] = env.now + p.checkpoint_interval


def log_truncation(system: EdgeMgmtRecovery, node: EdgeNode):
    """Every `retention_check`: drop the log entries older than `log_retention` (node's clock)."""
    env, p = system.env, system.params
    while True:
        yield env.timeout(p.retention_check)
        node.log.truncate_older_than(node.clock() - p.log_retention)
