"""Fault targets of `cluster_migration` beyond the components (link, mover, target nodes).

`active_node`: the target node of the component that last hit a fault point (the node being
written, cut over to or started on at that instant): a campaign striking a fault point crashes
the node that matters there, whichever component it is. It nests with the node's own crashes
(both go through the node's `go_down` / `come_up`).
"""

from __future__ import annotations

from typing import Any

from sim.core.fault_target import FaultTarget


class ActiveNodeTarget(FaultTarget):
    """`active_node`: crash the target node of the component that last reached a fault point."""

    fault_kinds = ("crash",)

    def __init__(self, system) -> None:
        self.system = system
        self.name = "active_node"
        self._struck = None  # the node the outermost active fault crashed (nested faults share it)

    def _inject_crash(self, fault: Any) -> None:
        s = self.system
        node_index = s.placement.get(s.last_component) if s.last_component is not None else None
        if node_index is None or not s.nodes:
            return
        node = s.nodes[node_index]
        self._struck = node
        node.go_down("crash")

    def _heal_crash(self, fault: Any) -> None:
        node, self._struck = self._struck, None
        if node is not None:
            node.come_up()
