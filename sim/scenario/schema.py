"""The scenario schema: top-level keys, their validation, and resolution to SI values.

`load_scenario(path, overrides)` returns a `Scenario` whose `resolved` dict is plain JSON data
(all quantities in SI floats) — the input of a run, hashed for caching and stored in the manifest.
Errors come back as `ScenarioError` with FILE:LINE: key.path for each problem.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML

from sim.core import registry
from sim.core.units import Duration, PositiveDuration
from sim.core.version import __version__
from sim.scenario.errors import ErrorItem, ScenarioError, format_path
from sim.scenario.faults import validate_faults
from sim.scenario.loader import Located, load_with_extends
from sim.scenario.pydantic_errors import pydantic_errors
from sim.scenario.sweep import use_scenario_validator, validate_replications, validate_sweep


class TimeseriesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    interval: PositiveDuration = Field(description="sampling interval of the probes")


class ChecksSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    interval: PositiveDuration | None = Field(None, description="deadlock/invariant check interval (default duration/200)")
    wall_timeout: PositiveDuration = Field(600.0, description="wall-clock watchdog per replication")
    trace: bool = Field(False, description="record a per-event trace")
    continuous_invariants: bool = Field(False, description="call system.check_invariants() at every check interval")
    heal_phase: Duration | None = Field(None, description="last part of the run with faults off; the system "
                                        "must have converged at the end (liveness)")
    stall_window: PositiveDuration | None = Field(None, description="end the run as stalled when work is in "
                                                  "progress but nothing completes for this long (off: none)")
    fault_point_coverage: bool = Field(False, description="count the hits of every fault point (campaign coverage)")


class TopLevel(BaseModel):
    """Keys of a scenario file."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(min_length=1)
    description: str = ""
    system: str
    seed: int = Field(0, ge=0)
    duration: PositiveDuration
    warmup: Duration = 0.0
    replications: int | dict = 1
    params: dict[str, Any] = Field(default_factory=dict)
    workload: dict[str, Any] | None = None
    faults: list[Any] = Field(default_factory=list)
    metrics: list[str] | None = None
    plugins: list[str] = Field(default_factory=list)
    extends: str | None = None
    sweep: dict[str, Any] | None = None
    timeseries: TimeseriesSpec | None = None
    checks: ChecksSpec = Field(default_factory=ChecksSpec)

    @field_validator("replications")
    @classmethod
    def _adaptive_replications(cls, v):
        return validate_replications(v)

    @model_validator(mode="after")
    def _warmup_before_end(self):
        if self.warmup >= self.duration:
            raise ValueError("warmup must be shorter than duration")
        if isinstance(self.replications, int) and self.replications < 1:
            raise ValueError("replications must be >= 1")
        return self


def apply_overrides(located: Located, overrides: dict[str, Any] | None) -> None:
    """Apply `key.path=value` overrides (values already parsed) in place."""
    for dotted, value in (overrides or {}).items():
        path = _parse_path(dotted)
        node: Any = located.data
        for i, p in enumerate(path[:-1]):
            if isinstance(p, int):
                if not isinstance(node, list) or p >= len(node):
                    raise ScenarioError([ErrorItem("--set", 0, dotted, f"no list item {format_path(path[:i + 1])}")])
                node = node[p]
            else:
                if not isinstance(node, dict):
                    raise ScenarioError([ErrorItem("--set", 0, dotted, f"{format_path(path[:i])} is not a mapping")])
                node = node.setdefault(p, {})
        last = path[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise ScenarioError([ErrorItem("--set", 0, dotted, "no such list item")])
        elif not isinstance(node, dict):
            raise ScenarioError([ErrorItem("--set", 0, dotted, "parent is not a mapping")])
        node[last] = value
        located.locs[path] = ("--set", 0)


def _parse_path(dotted: str) -> tuple:
    out: list[Any] = []
    for part in dotted.split("."):
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                out.append(head)
            idx, _, part = rest.partition("]")
            if not idx.isdigit():
                raise ScenarioError([ErrorItem("--set", 0, dotted, f"bad list index {idx!r}")])
            out.append(int(idx))
        if part:
            out.append(part)
    if not out:
        raise ScenarioError([ErrorItem("--set", 0, dotted, "empty key path")])
    return tuple(out)


def parse_set_arguments(pairs: list[str]) -> dict[str, Any]:
    """`['params.workers=4', 'duration=2s']` -> {path: YAML-parsed value}."""
    out: dict[str, Any] = {}
    yaml = YAML(typ="safe")
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ScenarioError([ErrorItem("--set", 0, pair, "expected key.path=value")])
        try:
            out[key.strip()] = yaml.load(raw) if raw.strip() else ""
        except Exception:  # noqa: BLE001 - any YAML problem is a bad override
            out[key.strip()] = raw
    return out


@dataclass
class Scenario:
    """A validated scenario: `resolved` is plain data in SI units; `located` keeps line numbers."""

    path: str
    resolved: dict[str, Any]
    located: Located
    system_cls: type

    @property
    def name(self) -> str:
        return self.resolved["name"]

    def config_hash(self, seed: int | None = None) -> str:
        blob = json.dumps({"scenario": self.resolved, "seed": seed, "version": __version__},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def validate_located(located: Located, path: str) -> Scenario:
    """Validate `located` data into a Scenario (collects all errors it can before raising)."""
    data = located.data
    if "name" not in data:
        data = dict(data)
        data["name"] = Path(path).stem
    try:
        top = TopLevel.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(pydantic_errors(e, located, (), TopLevel)) from None
    errors: list[ErrorItem] = []
    try:
        registry.load_plugins(top.plugins)
    except ImportError as e:
        raise ScenarioError([located.error(("plugins",), f"cannot import plugin: {e}")]) from None
    try:
        entry = registry.get("systems", top.system)
    except KeyError:
        known = registry.names("systems")
        guess = difflib.get_close_matches(top.system, known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f" (known: {', '.join(known)})"
        raise ScenarioError([located.error(("system",), f"unknown system {top.system!r}{hint}")]) from None
    cls = entry.obj
    params = workload = None
    try:
        params = cls.Params.model_validate(top.params)
    except ValidationError as e:
        errors += pydantic_errors(e, located, ("params",), cls.Params)
    if cls.Workload is not None:
        try:
            workload = cls.Workload.model_validate(top.workload or {})
        except ValidationError as e:
            errors += pydantic_errors(e, located, ("workload",), cls.Workload)
    elif top.workload:
        errors.append(located.error(("workload",), f"system {top.system!r} takes no workload block"))
    if errors:
        raise ScenarioError(errors)
    resolved = top.model_dump(mode="json")
    resolved.pop("extends", None)
    resolved["params"] = params.model_dump(mode="json")
    resolved["workload"] = workload.model_dump(mode="json") if workload is not None else None
    # faults and sweep are validated by their own packages (they need the system and params)
    resolved["faults"] = validate_faults(top.faults, located, cls, params, workload)
    if top.sweep is not None:
        resolved["sweep"] = validate_sweep(top.sweep, located, resolved)
    return Scenario(path=str(path), resolved=resolved, located=located, system_cls=cls)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, compose (`extends`), override and validate a scenario file."""
    located = load_with_extends(path)
    apply_overrides(located, overrides)
    return validate_located(located, str(path))


def scenario_from_dict(data: dict[str, Any], name: str = "<dict>") -> Scenario:
    """Validate a scenario given as a Python dict (no line numbers: errors point at line 0)."""
    located = Located(data=copy.deepcopy(data), file=name, locs={(): (name, 0)})
    return validate_located(located, name)


use_scenario_validator(validate_located)
