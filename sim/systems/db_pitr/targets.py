"""Model-level fault targets of `db_pitr`.

- `RecoveryLink` (`recovery_link[j]`, `link_down`): restored coordinator j is unreachable from the
  restore partitions (a network partition during recovery); their queries wait and retry.
- `AtPoint` (`partition_at_point`, `coordinator_at_point`, `restore_host_at_point`, `crash`): the
  host of that role that last reached a fault point (the one executing the critical step), so that
  a campaign's crash at a point strikes the partition or coordinator doing the step.
"""

from __future__ import annotations

from typing import Any

from sim.core.fault_target import FaultTarget


class RecoveryLink(FaultTarget):
    """The network path from the restore partitions to one restored coordinator."""

    fault_kinds = ("link_down",)

    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True

    def _inject_link_down(self, fault: Any) -> None:
        self.up = False

    def _heal_link_down(self, fault: Any) -> None:
        self.up = True


class AtPoint(FaultTarget):
    """Whichever host of `role` last reached a fault point (the first host of the role before any)."""

    fault_kinds = ("crash",)

    def __init__(self, model, role: str, name: str) -> None:
        self.m = model
        self.role = role
        self.name = name
        self._down: Any = None  # the host struck (faults on this target nest: one at a time)

    def _host(self):
        return self.m.at_point.get(self.role) or self.m.default_host(self.role)

    def _inject_crash(self, fault: Any) -> None:
        self._down = self._host()
        self._down.go_down("crash")

    def _heal_crash(self, fault: Any) -> None:
        host, self._down = self._down, None
        if host is not None:
            host.come_up()
