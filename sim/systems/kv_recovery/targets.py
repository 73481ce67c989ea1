"""What a scenario's `faults:` may strike in `kv_recovery`: the node, the primary, the storage.

The node (`store.node`) and the primary (`store.primary`) are Hosts. A `node` crash takes down
the node (its replicas) and the primary on it; a `primary` crash takes down the primary alone.
Both call `go_down` / `come_up` on the primary's Host, so overlapping crashes of the two nest:
the primary restarts (and recovers) only when the last of them heals.
"""

from __future__ import annotations

from typing import Any

from sim.core.fault_target import FaultTarget, fault_param
from sim.systems.kv_recovery.durable import CORRUPTIBLE


class PrimaryTarget(FaultTarget):
    """`primary`: the store's primary process crashes; the replicas keep serving their snapshots."""

    fault_kinds = ("crash",)

    def __init__(self, store) -> None:
        self.store = store
        self.name = "primary"

    def _inject_crash(self, fault: Any) -> None:
        self.store.c["crashes"].inc()
        self.store.primary.go_down("primary")

    def _heal_crash(self, fault: Any) -> None:
        self.store.primary.come_up()


class NodeTarget(FaultTarget):
    """`node`: the machine crashes: the primary and its replicas lose all volatile state."""

    fault_kinds = ("crash",)

    def __init__(self, store) -> None:
        self.store = store
        self.name = "node"

    def _inject_crash(self, fault: Any) -> None:
        store = self.store
        store.c["crashes"].inc()
        store.node.go_down("node")  # the replicas first, then the primary on the node
        store.primary.go_down("node")

    def _heal_crash(self, fault: Any) -> None:
        store = self.store
        store.node.come_up()  # the replicas form again, then the primary recovers
        store.primary.come_up()


class StorageTarget(FaultTarget):
    """`storage`: a checksum mismatch on the newest metadata record or the newest checkpoint."""

    fault_kinds = ("corrupt_data",)

    def __init__(self, store) -> None:
        self.store = store
        self.name = "storage"

    def check_fault_params(self, kind: str, params: dict[str, Any]) -> None:
        what = params.get("what")
        if kind == "corrupt_data" and what is not None and what not in CORRUPTIBLE:
            raise ValueError(f"what: {what!r} is not something kv_recovery can corrupt "
                             f"(known: {', '.join(CORRUPTIBLE)})")

    def _inject_corrupt_data(self, fault: Any) -> None:
        what = fault_param(fault, "what", "newest_metadata_record")
        if self.store.media.corrupt(what):
            self.store.sim.note("corrupt", what=what)
