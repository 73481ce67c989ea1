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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
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


NAME_MAX = 100
_PORTABLE = re.compile(r"[A-Za-z0-9._-]")


def check_name(name: str) -> str:
    """A scenario name is one portable directory name (results/<name>/...): letters, digits, '.', '_'
    and '-', not starting with '.' or '-', at most NAME_MAX characters; ValueError otherwise."""
    bad = next((c for c in name if not _PORTABLE.fullmatch(c)), None)
    if any(c in name for c in "/\\"):
        raise ValueError(f"name {name!r} contains a path separator; it names one directory under results/")
    if ".." in name:
        raise ValueError(f"name {name!r} contains '..'; it names one directory under results/")
    if bad is not None and (ord(bad) < 32 or ord(bad) == 127):
        raise ValueError(f"name {name!r} contains a control character")
    if bad is not None:
        raise ValueError(f"name {name!r} contains {bad!r}, which is not portable in a directory name; "
                         "use letters, digits, '.', '_' and '-'")
    if name[0] in ".-":
        raise ValueError(f"name {name!r} must not start with {name[0]!r}")
    if len(name) > NAME_MAX:
        raise ValueError(f"name is longer than {NAME_MAX} characters")
    return name


def name_from_file(path: str) -> str:
    """The default name of a scenario file without `name:`: its stem made portable."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).stem).strip("._-").replace("..", "_")
    return slug[:NAME_MAX] or "scenario"


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

    @field_validator("name")
    @classmethod
    def _portable_name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("replications")
    @classmethod
    def _adaptive_replications(cls, v):
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise ValueError("replications must be >= 1")
        return validate_replications(v)

    @field_validator("warmup")
    @classmethod
    def _warmup_before_end(cls, v, info):  # duration is declared before warmup: validated first
        duration = info.data.get("duration")
        if duration is not None and v >= duration:
            raise ValueError(f"warmup must be shorter than duration (warmup {v:g} s, duration {duration:g} s)")
        return v


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
    """Validate `located` data into a Scenario, reporting every independent error in one pass.

    The top-level keys, the system's params and workload, the faults and the sweep are checked
    each even when another part is wrong (a missing `workload.rate` does not hide a fault-target
    typo); only what depends on a broken part is left out (an unknown system has no params to check).
    """
    data = located.data
    if "name" not in data:
        data = dict(data)
        data["name"] = name_from_file(path)
    errors: list[ErrorItem] = []
    top = None
    try:
        top = TopLevel.model_validate(data)
    except ValidationError as e:
        errors += pydantic_errors(e, located, (), TopLevel)
    bad_top = {str(loc[0]) for loc in _error_locs(errors)}
    plugins = top.plugins if top is not None else _str_list(data.get("plugins"))
    try:
        registry.load_plugins(plugins)
    except ImportError as e:
        raise ScenarioError(_sorted(errors + [located.error(("plugins",), f"cannot import plugin: {e}")])) from None
    system = top.system if top is not None else data.get("system")
    if not isinstance(system, str) or "system" in bad_top:
        raise ScenarioError(_sorted(errors))
    try:
        entry = registry.get("systems", system)
    except KeyError:
        known = registry.names("systems")
        guess = difflib.get_close_matches(system, known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f" (known: {', '.join(known)})"
        raise ScenarioError(_sorted(errors + [located.error(("system",), f"unknown system {system!r}{hint}")])) from None
    cls = entry.obj
    raw_params = top.params if top is not None else data.get("params")
    raw_workload = top.workload if top is not None else data.get("workload")
    params = workload = None
    part_errors: list[ErrorItem] = []
    if isinstance(raw_params, dict) or raw_params is None:
        try:
            params = cls.Params.model_validate(raw_params or {})
        except ValidationError as e:
            part_errors += pydantic_errors(e, located, ("params",), cls.Params)
    if cls.Workload is not None:
        if isinstance(raw_workload, dict) or raw_workload is None:
            try:
                workload = cls.Workload.model_validate(raw_workload or {})
            except ValidationError as e:
                part_errors += pydantic_errors(e, located, ("workload",), cls.Workload)
    elif raw_workload:
        part_errors.append(located.error(("workload",), f"system {system!r} takes no workload block"))
    errors += part_errors
    # faults: checked against a probe of the system; with a broken workload, the model's default one
    raw_faults = top.faults if top is not None else data.get("faults")
    faults: list[dict[str, Any]] = []
    if isinstance(raw_faults, list) and "faults" not in bad_top:
        probe_params = params if params is not None else _default_params(cls)
        if probe_params is not None:
            try:
                faults = validate_faults(raw_faults, located, cls, probe_params, workload)
            except ScenarioError as e:
                errors += e.items
    raw_sweep = top.sweep if top is not None else data.get("sweep")
    sweep = None
    if raw_sweep is not None and "sweep" not in bad_top:
        base = (top.model_dump(mode="json") if top is not None else dict(data))
        base.pop("extends", None)
        try:
            sweep = validate_sweep(raw_sweep, located, base)
        except ScenarioError as e:
            # a sweep value's check validates the whole scenario: drop what the base already reports
            seen = [f"{b.path}: {b.message}" if b.path else b.message for b in errors]
            errors += [it for it in e.items if not any(it.message.endswith(x) for x in seen)]
    if errors or top is None or params is None:
        raise ScenarioError(_sorted(errors))
    resolved = top.model_dump(mode="json")
    resolved.pop("extends", None)
    resolved["params"] = params.model_dump(mode="json")
    resolved["workload"] = workload.model_dump(mode="json") if workload is not None else None
    resolved["faults"] = faults
    if sweep is not None:
        resolved["sweep"] = sweep
    return Scenario(path=str(path), resolved=resolved, located=located, system_cls=cls)


def _error_locs(errors: list[ErrorItem]) -> list[tuple[str, ...]]:
    return [tuple(e.path.replace("[", ".").split(".")) for e in errors if e.path]


def _str_list(v: Any) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _default_params(cls: type):
    try:
        return cls.Params()
    except ValidationError:
        return None


def _sorted(errors: list[ErrorItem]) -> list[ErrorItem]:
    """Each error once, in the order of the parts (top level, params, workload, faults, sweep)."""
    return list(dict.fromkeys(errors))


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
