"""Model-level fault targets of `edge_mgmt_recovery`: a node's operation log, and the rebuilding node.

`log[i]` takes `lose_data`: node i's log loses its oldest `fraction` (default 0.5) of retained
entries (an operator's or a full disk's truncation before recovery). `recovery` takes `crash`
and `power_loss`: the node running a rebuild fails (a second failure during recovery); with no
rebuild running, the node that would take the next one over. Both go through the node's own
`go_down` / `come_up`, so they nest with faults on `node[i]`.
"""

from __future__ import annotations

from typing import Any

from sim.core.fault_target import FaultTarget, fault_param
from sim.systems.edge_mgmt_recovery.manager import takeover_node


class LogTarget(FaultTarget):
    """`log[i]`: truncation of node i's operation log (its oldest entries are gone)."""

    fault_kinds = ("lose_data",)

    def __init__(self, system, node) -> None:
        self.system = system
        self.node = node
        self.name = f"log[{node.index}]"

    def check_fault_params(self, kind: str, params: dict[str, Any]) -> None:
        frac = params.get("fraction")
        if frac is not None and not (0.0 < float(frac) <= 1.0):
            raise ValueError("fraction: must be in (0, 1]")

    def _inject_lose_data(self, fault: Any) -> None:
        log = self.node.log
        dropped = log.drop_prefix(int(round(float(fault_param(fault, "fraction", 0.5)) * log.n)))
        self.system.counts["log_entries_truncated_by_fault"] += dropped
        self.system.sim.note("log_truncated", node=self.node.name, entries=dropped)


class RecoveryTarget(FaultTarget):
    """`recovery`: the takeover node running the rebuild fails (else the next takeover node)."""

    fault_kinds = ("crash", "power_loss")

    def __init__(self, system) -> None:
        self.system = system
        self.name = "recovery"
        self._struck = None  # the node the active fault(s) took down (nested faults share it)

    def _down(self, fault: Any, reason: str) -> None:
        node = self.system.rebuilding_on or takeover_node(self.system) or self.system.nodes[0]
        self._struck = node
        node.go_down(reason)

    def _up(self, fault: Any) -> None:
        node, self._struck = self._struck, None
        if node is not None:
            node.come_up()

    def power_loss_is_crash(self) -> bool:
        """The struck node's own answer (every node is alike)."""
        return all(n.power_loss_is_crash() for n in self.system.nodes)

    def _inject_crash(self, fault: Any) -> None:
        self._down(fault, "crash")

    def _heal_crash(self, fault: Any) -> None:
        self._up(fault)

    def _inject_power_loss(self, fault: Any) -> None:
        self._down(fault, "power_loss")

    def _heal_power_loss(self, fault: Any) -> None:
        self._up(fault)
