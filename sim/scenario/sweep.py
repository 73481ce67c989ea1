"""Sweep definitions (the scenario's `sweep:` block): validation and expansion into points.

A sweep varies scenario keys addressed by key path (`params.send_queue_slots`, `workload.rate`,
`faults[0].at`). Designs, combined as a cartesian product in this order when several are given:

    sweep:
      grid:   {params.reservation: [false, true], params.send_queue_slots: [4, 8, 16]}
      zip:    {workload.rate: [50k/s, 100k/s], params.workers: [2, 4]}   # advanced together
      points: [{params.workers: 2, workload.rate: 10k/s}, ...]         # explicit list
      latin_hypercube:                     # or random / sobol (scipy.stats.qmc)
        samples: 16                        # sobol: a power of 2
        seed: 3                            # the design's own seed (default: sweep.seed, else 0)
        ranges:
          workload.rate: [10k/s, 100k/s]                     # units as anywhere else
          params.send_queue_slots: {low: 2, high: 64, log: true}   # integers when the field is

Every swept value is checked by substituting it into the scenario data and re-validating the
whole scenario, so units and the system's own Params validation apply; a bad value is reported
at the sweep's FILE:LINE. `resolve_point` does the same substitution for each point at run time.
Replications (a count, or `{min, max, target_relative_ci | target_half_width, metric}`) come from
the scenario's top-level `replications:` key; replication r uses seed `seed + r` at every point
(common random numbers).
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario.errors import ErrorItem, ScenarioError, format_path
from sim.scenario.loader import Located

DESIGNS = ("grid", "zip", "points")
SAMPLED = ("random", "latin_hypercube", "sobol")
SWEEP_KEYS = (*DESIGNS, *SAMPLED, "seed")
# top-level keys a sweep may not vary: identity, composition, and the replication/seed scheme
FORBIDDEN_ROOTS = {"sweep", "extends", "name", "description", "seed", "replications", "plugins"}
MAX_POINTS = 1_000_000


# --- replications: {min, max, target, metric} ---------------------------------------------------
class AdaptiveReplications(BaseModel):
    """Replicate a point until the CI half-width of `metric` meets the target (or `max` is reached)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    min: int = Field(5, ge=2, description="replications run at every point before the first check")
    max: int = Field(100, ge=2, description="never more than this many replications per point")
    metric: str = Field(min_length=1, description="the metric whose confidence interval is targeted")
    target_relative_ci: float | None = Field(None, gt=0, description="half-width / |mean| to reach")
    target_half_width: float | None = Field(None, gt=0, description="absolute half-width to reach")
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of the interval")

    @model_validator(mode="after")
    def _consistent(self):
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        if self.target_relative_ci is None and self.target_half_width is None:
            raise ValueError("give target_relative_ci (e.g. 0.05) or target_half_width")
        return self


def validate_replications(value: Any) -> Any:
    """Check the dict form of `replications:`; returns it with defaults filled in (ValueError if bad)."""
    if not isinstance(value, dict):
        return value
    try:
        return AdaptiveReplications.model_validate(value).model_dump(mode="json")
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            known = list(AdaptiveReplications.model_fields)
            guess = difflib.get_close_matches(where, known, n=1, cutoff=0.6)
            msg = f"unknown key {where!r}" + (f"; did you mean {guess[0]!r}?" if guess else
                                              f" (known: {', '.join(known)})")
            where = ""
        elif first["type"] == "missing":
            msg = "required key is missing"
        raise ValueError(f"{where}: {msg}" if where else msg) from None


# --- key paths ------------------------------------------------------------------------------------
def parse_key_path(dotted: str) -> tuple | None:
    """'faults[0].at' -> ('faults', 0, 'at'); None when malformed."""
    if not isinstance(dotted, str) or not dotted.strip():
        return None
    out: list[Any] = []
    for part in dotted.strip().split("."):
        if not part:
            return None
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                out.append(head)
            elif not out:
                return None
            idx, close, part = rest.partition("]")
            if not close or not idx.isdigit():
                return None
            out.append(int(idx))
        if "]" in part:
            return None
        if part:
            out.append(part)
    return tuple(out) if out and isinstance(out[0], str) else None


def set_path(data: dict[str, Any], path: tuple, value: Any) -> None:
    """Set `value` at `path` in plain data, creating missing mappings; ValueError if impossible."""
    node: Any = data
    for i, p in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(p, int):
            if not isinstance(node, list) or p >= len(node):
                raise ValueError(f"no list item {format_path(path[:i + 1])}")
            node = node[p]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"{format_path(path[:i])} is not a mapping")
        if node.get(p) is None:
            if isinstance(nxt, int):
                raise ValueError(f"no list item {format_path(path[:i + 2])}")
            node[p] = {}
        node = node[p]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ValueError(f"no list item {format_path(path)}")
    elif not isinstance(node, dict):
        raise ValueError(f"{format_path(path[:-1])} is not a mapping")
    node[last] = value


_MISSING = object()


def get_path(data: Any, path: tuple, default: Any = _MISSING) -> Any:
    node = data
    for p in path:
        if isinstance(p, int) and isinstance(node, list) and p < len(node):
            node = node[p]
        elif isinstance(p, str) and isinstance(node, dict) and p in node:
            node = node[p]
        else:
            if default is _MISSING:
                raise KeyError(format_path(path))
            return default
    return node


# --- substitution + re-validation ------------------------------------------------------------------
def substitute(located: Located, assignment: dict[str, Any]) -> Located:
    """A copy of `located` without its sweep block, with `assignment` (key path -> raw value) applied."""
    data = copy.deepcopy(located.data)
    data.pop("sweep", None)
    for dotted, value in assignment.items():
        set_path(data, parse_key_path(dotted), copy.deepcopy(value))
    return Located(data=data, file=located.file, locs=located.locs)


#: validates a whole scenario (`sim.scenario.schema.validate_located`, which registers itself here:
#: a sweep point is a scenario, and the schema validates a scenario's sweep block with this module)
_validate_scenario: Callable[[Located, str], Any] | None = None


def use_scenario_validator(fn: Callable[[Located, str], Any]) -> None:
    global _validate_scenario
    _validate_scenario = fn


def _validate_substituted(located: Located, assignment: dict[str, Any]) -> dict[str, Any]:
    sub = substitute(located, assignment)
    assert _validate_scenario is not None, "sim.scenario.schema registers the scenario validator"
    return _validate_scenario(sub, located.file).resolved


def _relocate(err: ScenarioError | ValueError, located: Located, at: tuple, what: str) -> list[ErrorItem]:
    """Re-point errors of a substituted scenario at the sweep entry that caused them."""
    if isinstance(err, ValueError):
        return [located.error(at, f"{what}: {err}")]
    items = []
    for it in err.items:
        same = it.path and what.startswith(f"{it.path}=")  # "params.x=0: params.x: ..." says it twice
        detail = f"{it.path}: {it.message}" if it.path and not same else it.message
        items.append(located.error(at, f"{what}: {detail}"))
    return items


def resolve_point(located: Located, assignment: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    """The resolved scenario (SI units, no sweep block) of one sweep point."""
    try:
        return _validate_substituted(located, assignment)
    except (ScenarioError, ValueError) as e:
        what = f"point {index}" if index is not None else "point"
        what += " (" + ", ".join(f"{k}={v!r}" for k, v in assignment.items()) + ")"
        raise ScenarioError(_relocate(e, located, ("sweep",), what)) from None


# --- validation ------------------------------------------------------------------------------------
def _check_path(dotted: Any, located: Located, at: tuple, errors: list[ErrorItem]) -> tuple | None:
    path = parse_key_path(dotted) if isinstance(dotted, str) else None
    if path is None:
        errors.append(located.error(at, f"bad key path {dotted!r} (expected e.g. params.workers, faults[0].at)"))
        return None
    if path[0] in FORBIDDEN_ROOTS:
        errors.append(located.error(at, f"{path[0]!r} cannot be swept"
                                        + (" (replication r uses seed + r at every point)" if path[0] in (
                                            "seed", "replications") else "")))
        return None
    return path


def _check_value(located: Located, dotted: str, value: Any, at: tuple, errors: list[ErrorItem]) -> dict | None:
    try:
        return _validate_substituted(located, {dotted: value})
    except (ScenarioError, ValueError) as e:
        errors.extend(_relocate(e, located, at, f"{dotted}={value!r}"))
        return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _validate_lists(kind: str, block: Any, located: Located, errors: list[ErrorItem]) -> dict[str, list]:
    base = ("sweep", kind)
    if not isinstance(block, dict) or not block:
        errors.append(located.error(base, f"{kind} must be a non-empty mapping of key path -> list of values"))
        return {}
    out: dict[str, list] = {}
    for dotted, values in block.items():
        at = base + (dotted,)
        if _check_path(dotted, located, at, errors) is None:
            continue
        if not isinstance(values, list) or not values:
            errors.append(located.error(at, "must be a non-empty list of values"))
            continue
        for i, v in enumerate(values):
            _check_value(located, dotted, v, at + (i,), errors)
        out[dotted] = values
    if kind == "zip" and out:
        lengths = {k: len(v) for k, v in out.items()}
        if len(set(lengths.values())) > 1:
            errors.append(located.error(base, "zip lists must all have the same length, got "
                                        + ", ".join(f"{k}: {n}" for k, n in lengths.items())))
    return out


def _validate_points(block: Any, located: Located, errors: list[ErrorItem]) -> list[dict[str, Any]]:
    base = ("sweep", "points")
    if not isinstance(block, list) or not block:
        errors.append(located.error(base, "points must be a non-empty list of mappings {key.path: value}"))
        return []
    out = []
    for i, pt in enumerate(block):
        at = base + (i,)
        if not isinstance(pt, dict) or not pt:
            errors.append(located.error(at, "each point must be a non-empty mapping {key.path: value}"))
            continue
        ok = all(_check_path(k, located, at + (k,), errors) is not None for k in pt)
        if not ok:
            continue
        try:
            _validate_substituted(located, pt)
        except (ScenarioError, ValueError) as e:
            errors.extend(_relocate(e, located, at, f"point {i}"))
            continue
        out.append(pt)
    return out


def _validate_sampled(kind: str, block: Any, sweep_seed: int, located: Located,
                      errors: list[ErrorItem]) -> dict[str, Any] | None:
    base = ("sweep", kind)
    if not isinstance(block, dict):
        errors.append(located.error(base, f"{kind} must be a mapping with samples, ranges (and seed)"))
        return None
    n0 = len(errors)
    for k in block:
        if k not in ("samples", "seed", "ranges"):
            guess = difflib.get_close_matches(str(k), ["samples", "seed", "ranges"], n=1, cutoff=0.6)
            errors.append(located.error(base + (k,), f"unknown key {k!r}"
                                        + (f"; did you mean {guess[0]!r}?" if guess else
                                           " (known: samples, seed, ranges)")))
    samples = block.get("samples")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        errors.append(located.error(base + ("samples",), "samples must be an integer >= 1"))
    elif kind == "sobol" and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        errors.append(located.error(base + ("samples",), f"sobol samples must be a power of 2 (got {samples}; "
                                                          f"use {lo} or {lo * 2})"))
    seed = block.get("seed", sweep_seed)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        errors.append(located.error(base + ("seed",), "seed must be an integer >= 0"))
    ranges = block.get("ranges")
    if not isinstance(ranges, dict) or not ranges:
        errors.append(located.error(base + ("ranges",), "ranges must be a non-empty mapping of key path -> "
                                                         "[low, high] or {low, high, log, integer}"))
        return None
    out: dict[str, dict[str, Any]] = {}
    for dotted, spec in ranges.items():
        at = base + ("ranges", dotted)
        path = _check_path(dotted, located, at, errors)
        if path is None:
            continue
        log = integer = None
        if isinstance(spec, list) and len(spec) == 2:
            low, high = spec
        elif isinstance(spec, dict):
            bad = [k for k in spec if k not in ("low", "high", "log", "integer")]
            if bad or "low" not in spec or "high" not in spec:
                errors.append(located.error(at, "a range is {low, high} with optional log, integer"
                                            + (f" (unknown key {bad[0]!r})" if bad else "")))
                continue
            low, high = spec["low"], spec["high"]
            log, integer = spec.get("log"), spec.get("integer")
            if any(f is not None and not isinstance(f, bool) for f in (log, integer)):
                errors.append(located.error(at, "log and integer must be true or false"))
                continue
        else:
            errors.append(located.error(at, "a range is [low, high] or {low, high, log, integer}"))
            continue
        bounds = []
        for name, raw in (("low", low), ("high", high)):
            where = at + ((name,) if isinstance(spec, dict) else (0 if name == "low" else 1,))
            res = _check_value(located, dotted, raw, where, errors)
            if res is None:
                break
            si = get_path(res, path, raw)
            if not _is_number(si):
                errors.append(located.error(where, f"{dotted}: cannot sample a range of {si!r} (not a number)"))
                break
            bounds.append(si)
        if len(bounds) != 2:
            continue
        lo, hi = bounds
        if not lo < hi:
            errors.append(located.error(at, f"bad range: low ({low!r}) must be below high ({high!r})"))
            continue
        if log and lo <= 0:
            errors.append(located.error(at, "a log range needs low > 0"))
            continue
        if integer is None:
            integer = isinstance(lo, int) and isinstance(hi, int)
        out[dotted] = {"low": lo, "high": hi, "log": bool(log), "integer": bool(integer)}
    if len(errors) > n0:
        return None
    return {"samples": samples, "seed": seed, "ranges": out}


def validate_sweep(raw: dict[str, Any], located: Located, resolved: dict[str, Any]) -> dict[str, Any]:
    """Validate the `sweep:` block; returns its resolved form (designs in order, SI ranges)."""
    errors: list[ErrorItem] = []
    if not isinstance(raw, dict) or not raw:
        raise ScenarioError([located.error(("sweep",), "sweep must be a mapping with grid, zip, points, "
                                                       "random, latin_hypercube or sobol")])
    for k in raw:
        if k not in SWEEP_KEYS:
            guess = difflib.get_close_matches(str(k), SWEEP_KEYS, n=1, cutoff=0.6)
            errors.append(located.error(("sweep", k), f"unknown sweep key {k!r}"
                                        + (f"; did you mean {guess[0]!r}?" if guess else
                                           f" (known: {', '.join(SWEEP_KEYS)})")))
    sweep_seed = raw.get("seed", 0)
    if not isinstance(sweep_seed, int) or isinstance(sweep_seed, bool) or sweep_seed < 0:
        errors.append(located.error(("sweep", "seed"), "seed must be an integer >= 0"))
        sweep_seed = 0
    sampled = [k for k in SAMPLED if k in raw]
    if len(sampled) > 1:
        errors.append(located.error(("sweep", sampled[1]), f"only one sampled design per sweep "
                                                           f"(found {', '.join(sampled)})"))
    if not any(k in raw for k in (*DESIGNS, *SAMPLED)):
        errors.append(located.error(("sweep",), "no design: give grid, zip, points, random, "
                                                "latin_hypercube or sobol"))
    out: dict[str, Any] = {"seed": sweep_seed}
    if "grid" in raw:
        out["grid"] = _validate_lists("grid", raw["grid"], located, errors)
    if "zip" in raw:
        out["zip"] = _validate_lists("zip", raw["zip"], located, errors)
    if "points" in raw:
        out["points"] = _validate_points(raw["points"], located, errors)
    if sampled:
        spec = _validate_sampled(sampled[0], raw[sampled[0]], sweep_seed, located, errors)
        if spec is not None:
            out[sampled[0]] = spec
    # a key path belongs to one design only (points may repeat their own keys)
    owner: dict[tuple, str] = {}
    for kind in (*DESIGNS, *SAMPLED):
        block = out.get(kind)
        if not block:
            continue
        keys = (block if kind in ("grid", "zip") else
                dict.fromkeys(k for pt in block for k in pt) if kind == "points" else block["ranges"])
        for dotted in keys:
            path = parse_key_path(dotted)
            for other, o_kind in owner.items():
                if path[: len(other)] == other or other[: len(path)] == path:
                    errors.append(located.error(("sweep", kind), f"{dotted!r} is also swept by {o_kind} "
                                                                 f"({format_path(other)})"))
                    break
        for dotted in keys:
            owner.setdefault(parse_key_path(dotted), kind)
    if errors:
        raise ScenarioError(errors)
    out["parameters"] = parameters(out)
    n = n_points(out)
    if n > MAX_POINTS:
        raise ScenarioError([located.error(("sweep",), f"{n} points; more than {MAX_POINTS} is surely a mistake")])
    out["n_points"] = n
    return out


# --- expansion -------------------------------------------------------------------------------------
def parameters(spec: dict[str, Any] | None) -> list[str]:
    """The swept key paths, in design order."""
    if not spec:
        return []
    names: list[str] = []
    for kind in (*DESIGNS, *SAMPLED):
        block = spec.get(kind)
        if not block:
            continue
        if kind in ("grid", "zip"):
            keys = list(block)
        elif kind == "points":
            keys = [k for pt in block for k in pt]
        else:
            keys = list(block["ranges"])
        names += [k for k in dict.fromkeys(keys) if k not in names]
    return names


def n_points(spec: dict[str, Any] | None) -> int:
    if not spec:
        return 1
    n = 1
    if spec.get("grid"):
        n *= math.prod(len(v) for v in spec["grid"].values())
    if spec.get("zip"):
        n *= len(next(iter(spec["zip"].values())))
    if spec.get("points"):
        n *= len(spec["points"])
    for kind in SAMPLED:
        if spec.get(kind):
            n *= spec[kind]["samples"]
    return n


def _unit_samples(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    """n x d points in [0, 1): independent uniforms, a Latin hypercube or a scrambled Sobol' sequence."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.random((n, d))
    from scipy.stats import qmc

    if kind == "latin_hypercube":
        try:
            return qmc.LatinHypercube(d=d, rng=rng).random(n)
        except TypeError:  # scipy < 1.15 names it seed
            return qmc.LatinHypercube(d=d, seed=rng).random(n)
    try:
        sob = qmc.Sobol(d=d, scramble=True, rng=rng)
    except TypeError:
        sob = qmc.Sobol(d=d, scramble=True, seed=rng)
    return sob.random_base2(int(math.log2(n)))


def _scale(u: float, r: dict[str, Any]) -> float | int:
    lo, hi = r["low"], r["high"]
    if r["integer"]:
        if r["log"]:
            v = math.floor(math.exp(math.log(lo) + u * (math.log(hi + 1) - math.log(lo))))
        else:
            v = math.floor(lo + u * (hi - lo + 1))
        return int(min(max(v, math.ceil(lo)), math.floor(hi)))
    if r["log"]:
        return float(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))))
    return float(lo + u * (hi - lo))


def sampled_points(kind: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(spec["ranges"])
    u = _unit_samples(kind, spec["samples"], len(names), spec["seed"])
    return [{k: _scale(float(u[i, j]), spec["ranges"][k]) for j, k in enumerate(names)} for i in range(len(u))]


def expand(spec: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Each point's assignment {key path: raw value}, in a fixed order (the cartesian product of designs)."""
    if not spec:
        yield {}
        return
    factors: list[list[dict[str, Any]]] = []
    if spec.get("grid"):
        keys = list(spec["grid"])
        factors.append([dict(zip(keys, combo, strict=True))
                        for combo in itertools.product(*(spec["grid"][k] for k in keys))])
    if spec.get("zip"):
        keys = list(spec["zip"])
        factors.append([dict(zip(keys, vals, strict=True)) for vals in zip(*(spec["zip"][k] for k in keys),
                                                                           strict=True)])
    if spec.get("points"):
        factors.append(list(spec["points"]))
    for kind in SAMPLED:
        if spec.get(kind):
            factors.append(sampled_points(kind, spec[kind]))
    for combo in itertools.product(*factors):
        point: dict[str, Any] = {}
        for part in combo:
            point.update(part)
        yield point


def swept_values(resolved_point: dict[str, Any], names: list[str], assignment: dict[str, Any]) -> dict[str, Any]:
    """The resolved (SI) value of each swept key path at a point, for the tidy tables' columns."""
    out = {}
    for dotted in names:
        v = get_path(resolved_point, parse_key_path(dotted), _MISSING)
        if v is _MISSING:
            v = assignment.get(dotted)
        if isinstance(v, dict | list):
            v = str(v)
        out[dotted] = v
    return out
