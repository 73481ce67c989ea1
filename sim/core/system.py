"""The contract every modelled system fulfils (see ARCHITECTURE.md).

A system is a class registered by name with a pydantic `Params` model (and optionally a
`Workload` model), a constructor taking the Simulation and its validated params and workload,
`start()` which starts its SimPy processes, `metrics()` and `violations()`. Faults reach it
through `fault_targets()` / `inject()` / `heal()`. The runner does the rest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sim.core.simulation import Simulation


class Params(BaseModel):
    """Base for system, component and workload parameter models: strict keys, finite numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


@dataclass
class Violation:
    """An invariant that did not hold: a result of the run, not a crash."""

    invariant: str
    detail: str
    time_s: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class System:
    """Base class for modelled systems. Subclasses set `Params` (and `Workload`) and register."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params
    Workload: ClassVar[type[BaseModel] | None] = None
    #: metric name -> one-line description (shown by `sim list metrics`)
    metric_docs: ClassVar[dict[str, str]] = {}

    def __init__(self, sim: Simulation, params: BaseModel, workload: BaseModel | None = None) -> None:
        self.sim = sim
        self.env = sim.env
        self.params = params
        self.workload = workload

    def start(self) -> None:
        """Start the system's SimPy processes."""
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:
        """One flat dict of scalar metrics, names carrying their unit (`_s`, `_bytes`, `_ops_s`, `_usd`)."""
        raise NotImplementedError

    def violations(self) -> list[Violation]:
        """Invariants checked against the system's oracle at the end of the run."""
        return []

    # --- optional check hooks (see docs/faults.md) --------------------------------------------
    def check_invariants(self) -> list[Violation]:
        """Invariants that must hold at every instant, checked at each check interval when the
        scenario sets `checks: {continuous_invariants: true}`. Default: none."""
        return []

    def converged(self) -> str | None:
        """Liveness after a campaign's heal phase (faults off): None when the system has recovered
        (replicas caught up, throughput back), else a sentence saying what has not. Default: None."""
        return None

    def check_fault_params(self, kind: str, target: str, params: dict[str, Any]) -> None:
        """Validate model-specific keys of a fault (e.g. `what:` of `corrupt_data`) before any run:
        raise ValueError("<key>: message") to point the error at that key. Called by
        `sim.faults.validate_faults` for every target of the fault. Default: accept."""
        return None

    # --- faults ------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, Any]:
        """Names that a scenario's `faults:` may target, mapped to the objects they denote."""
        return {}

    def fault_kinds(self) -> dict[str, tuple[str, ...] | None]:
        """Fault kinds each target can take (checked at validation time, drawn from by campaigns);
        None for a target means "any kind". Default: each target object's `fault_kinds` or
        `FAULTS` attribute if it has one, else None."""
        out: dict[str, tuple[str, ...] | None] = {}
        for name, obj in self.fault_targets().items():
            kinds = getattr(obj, "fault_kinds", None)
            if kinds is None:
                kinds = getattr(obj, "FAULTS", None)
            out[name] = tuple(kinds) if kinds is not None else None
        return out

    def campaign_faults(self) -> list[dict[str, Any]] | None:
        """Fault templates a campaign draws from: scenario-style entries without `at`, e.g.
        `{"kind": "crash", "target": "primary", "restart_after": {"dist": "uniform", "low": 0.01,
        "high": 0.1}}`. Default None: one template per (target, kind) from `fault_kinds`."""
        return None

    def inject(self, fault: Any) -> None:
        """Start a fault on its target: by default delegates to `target.inject(fault)`."""
        target = self.fault_targets()[fault.target]
        target.inject(fault)

    def heal(self, fault: Any) -> None:
        """End a fault (restart, repair, reconnect): by default delegates to `target.heal(fault)`."""
        target = self.fault_targets()[fault.target]
        target.heal(fault)
