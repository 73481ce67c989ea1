"""`sim show SYSTEM`: what a registered system takes and gives, from the system itself.

Params and workload fields with their defaults, units and descriptions (where the defaults come
from is in each description), the fault targets with the fault kinds each takes (asked of a
throwaway instance built with the defaults, never run, like `probe_targets` for validation), the
declared metrics and the fault points.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from sim.core import registry
from sim.core.system import FRAMEWORK_METRICS
from sim.core.units import to_byte_rate, to_bytes, to_rate, to_seconds
from sim.faults import supported_kinds
from sim.scenario.faults import probe_targets

_UNITS = {to_seconds: "s", to_bytes: "B", to_rate: "1/s", to_byte_rate: "B/s"}


def field_rows(model: type[BaseModel] | None) -> list[tuple[str, str, str, str]]:
    """(name, default, unit, description) of each field of a Params/Workload model."""
    if model is None:
        return []
    rows = []
    for name, f in model.model_fields.items():
        if f.default is not PydanticUndefined:
            default = _show(f.default)
        elif f.default_factory is not None:
            try:
                default = _show(f.default_factory())
            except Exception:  # noqa: BLE001 - a factory needing arguments: shown as such
                default = "(computed)"
        else:
            default = "(required)"
        unit = next((_UNITS[m.func] for m in f.metadata if getattr(m, "func", None) in _UNITS), "")
        rows.append((name, default, unit, (f.description or "").strip()))
    return rows


def _show(v: Any) -> str:
    if isinstance(v, BaseModel):
        return str(v.model_dump(mode="json"))
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v) if isinstance(v, str) else str(v)


def fault_target_rows(cls: type) -> tuple[list[tuple[str, str]], str | None]:
    """(target, kinds) of a throwaway instance with default params and workload; (rows, problem)."""
    try:
        params = cls.Params()
    except ValidationError as e:
        return [], f"its Params need values to build an instance ({e.error_count()} required)"
    workload = None
    if cls.Workload is not None:
        try:
            workload = cls.Workload()
        except ValidationError:
            workload = None  # a required workload key (e.g. rate): the model's own default, if any
    try:
        system = probe_targets(cls, params, workload)
        targets = system.fault_targets()
        return [(t, ", ".join(supported_kinds(system, t)) or "(none)") for t in targets], None
    except Exception as e:  # noqa: BLE001 - a system that cannot be built with its defaults
        return [], f"cannot build it with its defaults: {type(e).__name__}: {e}"


def describe(name: str) -> str:
    cls = registry.get("systems", name).obj
    out = [f"system {name}: {(cls.__doc__ or '').strip().splitlines()[0] if cls.__doc__ else ''}".rstrip()]
    for title, model in (("params", cls.Params), ("workload", cls.Workload)):
        rows = field_rows(model)
        if model is None:
            out.append(f"{title}: (none)")
            continue
        out.append(f"{title}:")
        for fname, default, unit, desc in rows:
            u = f" [{unit}]" if unit else ""
            out.append(f"  {fname:<28} {default:<14}{u:<7} {desc}")
    rows, problem = fault_target_rows(cls)
    out.append("fault targets:" + (f" ({problem})" if problem else "" if rows else " (none)"))
    for t, kinds in rows:
        out.append(f"  {t:<28} {kinds}")
    out.append("metrics:")
    for m in cls.metrics_spec:
        out.append(f"  {m.name:<34} {('(' + m.unit + ') ') if m.unit else ''}{m.description}")
    out.append("  " + ", ".join(m.name for m in FRAMEWORK_METRICS) + "   (every run)")
    points = getattr(cls, "fault_points", ())
    out.append("fault points:" + ("" if points else " (none)"))
    for fp in points:
        on = f" (strikes: {', '.join(fp.targets)})" if fp.targets else ""
        out.append(f"  {fp.name:<34} {fp.description}{on}")
    return "\n".join(out)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("system", help="a registered system (see `sim list systems`)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import a plugin module first (a system registered outside sim)")


def main(args: argparse.Namespace) -> int:
    try:
        registry.load_plugins(args.plugin)
    except ImportError as e:
        print(f"sim show: error: cannot import plugin: {e}", file=sys.stderr)
        return 2
    names = registry.names("systems")
    if args.system not in names:
        guess = difflib.get_close_matches(args.system, names, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f" (known: {', '.join(names)})"
        print(f"sim show: error: unknown system {args.system!r}{hint}", file=sys.stderr)
        return 2
    print(describe(args.system))
    return 0
