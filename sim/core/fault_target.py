"""What a fault lands on: a `FaultTarget` names the kinds it takes and how each is injected and healed.

Faults on one target **nest**: a second fault of the same family (crash and power loss are one
family, "down"; every other lasting kind is its own) striking while the first is still active only
deepens a depth count, and the target heals when the last of them heals. Without this an outage
overlapped by a shorter one would end with the shorter one. Instantaneous kinds (`lose_data`,
`corrupt_data`) and `ransomware` (each attack is its own process) do not nest.

A subclass lists its kinds in `fault_kinds` and implements `_inject_<kind>(fault)` and, for kinds
that last, `_heal_<kind>(fault)`; `check_fault_params(kind, params)` validates model-specific
keys before any run (raise `ValueError("<key>: message")`).
"""

from __future__ import annotations

from typing import Any, ClassVar

#: fault kinds that share one depth count on a target
FAMILY = {"crash": "down", "power_loss": "down"}
#: kinds that never nest (instantaneous, or each occurrence independent)
UNNESTED = frozenset({"lose_data", "corrupt_data", "ransomware"})


class FaultTarget:
    """Base of everything a scenario's `faults:` may target (components, model-level targets)."""

    fault_kinds: ClassVar[tuple[str, ...]] = ()
    name: str = ""

    def takes(self, kind: str) -> bool:
        return kind in self.fault_kinds

    def check_fault(self, kind: str) -> None:
        """Raise ValueError if this target cannot take fault `kind`."""
        if kind not in self.fault_kinds:
            took = ", ".join(self.fault_kinds) if self.fault_kinds else "none"
            what = self.__name__ if isinstance(self, type) else f"{type(self).__name__} {self.name!r}"
            raise ValueError(f"{what} cannot take fault {kind!r} (supported: {took})")

    def check_fault_params(self, kind: str, params: dict[str, Any]) -> None:
        """Validate model-specific keys of a fault before any run. Default: accept."""
        return None

    def power_loss_is_crash(self) -> bool:
        """True if a `power_loss` here does exactly what a `crash` does (nothing persistent-but-volatile
        to lose, such as PMEM's unpersisted stores): a campaign then draws only the crash. Default: False."""
        return False

    def fault_depth(self, kind: str) -> int:
        """How many faults of `kind`'s family are active on this target."""
        return self.__dict__.get("_fault_depths", {}).get(FAMILY.get(kind, kind), 0)

    def inject(self, fault: Any) -> None:
        """Start `fault` (`.kind`, `.target`, `.params`); a nested one only deepens the count."""
        kind = fault.kind
        self.check_fault(kind)
        if kind not in UNNESTED:
            depths = self.__dict__.setdefault("_fault_depths", {})
            fam = FAMILY.get(kind, kind)
            depths[fam] = depths.get(fam, 0) + 1
            if depths[fam] > 1:
                return
        getattr(self, f"_inject_{kind}")(fault)

    def heal(self, fault: Any) -> None:
        """End `fault`; the target heals when the last fault of its family heals."""
        kind = fault.kind
        self.check_fault(kind)
        if kind not in UNNESTED:
            depths = self.__dict__.setdefault("_fault_depths", {})
            fam = FAMILY.get(kind, kind)
            if depths.get(fam, 0) == 0:
                return
            depths[fam] -= 1
            if depths[fam] > 0:
                return
        fn = getattr(self, f"_heal_{kind}", None)
        if fn is not None:
            fn(fault)


def fault_param(fault: Any, key: str, default: Any = None) -> Any:
    """A kind-specific key of `fault`; `default` when it is absent or unset (None)."""
    params = getattr(fault, "params", None) or {}
    value = params.get(key)
    return default if value is None else value
