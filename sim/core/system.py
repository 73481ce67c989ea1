"""The contract every modelled system fulfils (see docs/architecture.md and docs/adding_a_model.md).

A system is a class registered by name (`@register_system`) with:

- `Params` (and optionally `Workload`): pydantic models, strict keys, every field described;
- `metrics_spec`: the metrics it reports (`Metric(name, description)`; the unit is read from the
  name's suffix), shown by `sim list metrics SYSTEM`;
- a constructor taking the Simulation and its validated params and workload, building its
  components and actors;
- `start()`, which starts its actors' processes;
- `fault_targets()`: named `FaultTarget`s, each carrying the fault kinds it takes and how a fault
  is injected, healed and its parameters checked;
- `metrics()` (one flat dict of scalars) and `violations()`, which returns the run's
  `ViolationLog` (a true count plus the first details) after the end-of-run checks;
- optionally `converged()` (liveness after a campaign's heal phase), `check_invariants()`
  (continuous checks), `on_warmup()` and `on_heal_phase()` (called by the framework at those
  instants: a model starts no marker process of its own) and `campaign_faults()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sim.core.fault_target import FaultTarget
from sim.core.simulation import Simulation

__all__ = ["Params", "Violation", "ViolationLog", "Metric", "FaultPoint", "System", "FaultTarget", "unit_of",
           "FRAMEWORK_METRICS"]


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


class ViolationLog:
    """The violations of one run: a true `count` of every one recorded, and the first `keep` details.

    `invariant_violations` in every run's metrics is this count, whatever the model: a model that
    finds 10,000 broken writes records them all here and keeps memory bounded.
    """

    __slots__ = ("keep", "count", "details", "by_invariant")

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self.count = 0
        self.details: list[Violation] = []
        self.by_invariant: dict[str, int] = {}

    def record(self, violation: Violation) -> None:
        self.count += 1
        name = violation.invariant
        self.by_invariant[name] = self.by_invariant.get(name, 0) + 1
        if len(self.details) < self.keep:
            self.details.append(violation)

    def add(self, invariant: str, detail: str, time_s: float | None = None, **data: Any) -> None:
        """Record one violation of `invariant` (`data`: small facts for the manifest)."""
        self.record(Violation(invariant, detail, time_s, data))

    def extend(self, violations) -> None:
        for v in violations:
            self.record(v)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(self.details)

    def __bool__(self) -> bool:
        return self.count > 0


_UNITS = (("_usd", "USD"), ("_ops_s", "operations/s"), ("_bytes_s", "bytes/s"), ("_bytes", "bytes"),
          ("_s", "s"))


def unit_of(name: str) -> str:
    """The unit a metric's name carries (`_s`, `_bytes`, `_ops_s`, `_usd`); '' for counts and ratios."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


@dataclass(frozen=True)
class Metric:
    """One metric a system reports: its name (carrying the unit) and a one-line description."""

    name: str
    description: str

    @property
    def unit(self) -> str:
        return unit_of(self.name)


@dataclass(frozen=True)
class FaultPoint:
    """A named critical instant of a model (`sim.fault_point(name)` marks each hit).

    `targets`: the fault targets a campaign strikes there (with a kind of the "down" family the
    target takes: crash or power loss), e.g. the node whose crash between two steps must be survived.
    """

    name: str
    description: str
    targets: tuple[str, ...] = ()


#: metrics the runner adds to every row, whatever the system
FRAMEWORK_METRICS: tuple[Metric, ...] = (
    Metric("deadlocked", "1 if the run ended in a deadlock (a cycle in the wait-for graph), else 0"),
    Metric("time_to_deadlock_s", "simulated time the deadlock formed (NaN: none)"),
    Metric("invariant_violations", "true count of invariant violations recorded in the run's ViolationLog"),
    Metric("stalled", "1 if work was in progress but nothing completed for checks.stall_window, else 0"),
    Metric("time_to_stall_s", "first check that saw the last completion before the stall (NaN: none)"),
    Metric("watchdog_timeout", "1 if the wall-clock watchdog stopped the run, else 0"),
    Metric("sim_time_s", "simulated time the run reached"),
)


class System:
    """Base class for modelled systems. Subclasses set `Params` (and `Workload`), `metrics_spec`, and register."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params
    Workload: ClassVar[type[BaseModel] | None] = None
    #: the metrics `metrics()` returns (a declared name registered twice in one system is an error)
    metrics_spec: ClassVar[tuple[Metric, ...]] = ()
    #: the model's named critical instants (`self.sim.fault_point(name)`), listed by `sim list faultpoints`
    fault_points: ClassVar[tuple[FaultPoint, ...]] = ()
    #: details kept by the violation log (the count is always exact)
    violations_kept: ClassVar[int] = 20

    def __init__(self, sim: Simulation, params: BaseModel, workload: BaseModel | None = None) -> None:
        self.sim = sim
        self.env = sim.env
        self.params = params
        self.workload = workload
        self.violation_log = ViolationLog(self.violations_kept)
        self._end_checked = False

    def start(self) -> None:
        """Start the system's SimPy processes."""
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:
        """One flat dict of scalar metrics, names carrying their unit (`_s`, `_bytes`, `_ops_s`, `_usd`)."""
        raise NotImplementedError

    # --- invariants ---------------------------------------------------------------------------
    def check_at_end(self) -> None:
        """End-of-run invariants against the oracle: record what broke in `self.violation_log`."""
        return None

    def violations(self) -> ViolationLog:
        """The run's violation log, after the end-of-run checks (run once, however often asked)."""
        if not self._end_checked:
            self._end_checked = True
            self.check_at_end()
        return self.violation_log

    def check_invariants(self) -> list[Violation]:
        """Invariants that must hold at every instant, checked at each check interval when the
        scenario sets `checks: {continuous_invariants: true}`. Default: none."""
        return []

    def converged(self) -> str | None:
        """Liveness after a campaign's heal phase (faults off): None when the system has recovered
        (replicas caught up, throughput back), else a sentence saying what has not. Default: None."""
        return None

    def progress(self) -> tuple[float, int] | None:
        """(operations completed so far, operations in progress) for the framework's stall check;
        None: not measured (no stall check). A run whose work is in progress with no completion
        for `checks.stall_window` ends with `stalled = 1`."""
        return None

    # --- instants the framework marks -----------------------------------------------------------
    def on_warmup(self) -> None:
        """Called at the end of the warm-up (after the recorders reset): snapshot counters here."""
        return None

    def on_heal_phase(self) -> None:
        """Called when a campaign's heal phase begins (faults off from now on)."""
        return None

    # --- faults ------------------------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        """Names that a scenario's `faults:` may target, mapped to their `FaultTarget`s."""
        return {}

    def campaign_faults(self) -> list[dict[str, Any]] | None:
        """Fault templates a campaign draws from: scenario-style entries without `at`, e.g.
        `{"kind": "crash", "target": "primary", "restart_after": {"dist": "uniform", "low": 0.01,
        "high": 0.1}}`. Default None: one template per (target, kind) the targets take."""
        return None

    def inject(self, fault: Any) -> None:
        """Start a fault on its target."""
        self.fault_targets()[fault.target].inject(fault)

    def heal(self, fault: Any) -> None:
        """End a fault (restart, repair, reconnect)."""
        self.fault_targets()[fault.target].heal(fault)
