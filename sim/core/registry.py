"""Registry of the names used in scenario files: systems, components, workloads, faults.

Metrics are not registered globally: each system declares its own (`System.metrics_spec`), so two
systems may report a metric of the same name with their own descriptions.

Built-in entries register themselves when their module is imported; `load_builtins()` imports
them. A user adds their own with the same decorators from a module named in the scenario's
`plugins:` list, or from a package exposing the `sim.plugins` entry point group.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

KINDS = ("systems", "components", "workloads", "faults")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    obj: Any
    description: str


_REGISTRY: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
_BUILTINS_LOADED = False

BUILTIN_MODULES = (
    "sim.systems",
    "sim.components",
    "sim.workloads",
    "sim.faults",
)


def _first_line(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def register(kind: str, name: str, description: str | None = None):
    """Decorator: register `obj` under `name` in `kind` (one of KINDS)."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown registry kind {kind!r}")

    def deco(obj):
        existing = _REGISTRY[kind].get(name)
        if existing is not None and existing.obj is not obj:
            raise ValueError(f"{kind[:-1]} {name!r} is already registered by {existing.obj!r}")
        _REGISTRY[kind][name] = Entry(name, kind, obj, description or _first_line(obj))
        if kind == "systems":
            check_metrics_spec(obj)
            obj.name = name
        return obj

    return deco


def register_system(name: str, description: str | None = None):
    return register("systems", name, description)


def check_metrics_spec(cls: Any) -> None:
    """A system declares each metric once (two systems may share a name, each with its own description)."""
    seen: set[str] = set()
    for m in getattr(cls, "metrics_spec", ()):
        if m.name in seen:
            raise ValueError(f"system {cls.__name__}: metric {m.name!r} is declared twice in its metrics_spec")
        seen.add(m.name)


def load_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)
    for ep in entry_points(group="sim.plugins"):
        ep.load()


def load_plugins(paths: list[str]) -> None:
    """Import plugin modules by dotted path (their decorators register their entries)."""
    for path in paths:
        importlib.import_module(path)


def get(kind: str, name: str) -> Entry:
    load_builtins()
    return _REGISTRY[kind][name]


def names(kind: str) -> list[str]:
    load_builtins()
    return sorted(_REGISTRY[kind])


def entries(kind: str) -> list[Entry]:
    load_builtins()
    return [_REGISTRY[kind][n] for n in sorted(_REGISTRY[kind])]
