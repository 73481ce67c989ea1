"""Fault targets: matching a scenario's `target:` against the system's component names.

A target is either an exact name from `system.fault_targets()` or a pattern: `*` matches any
run of characters, `?` one character, and `[*]` any index in brackets (`node[*]` matches
`node[0]`, `node[12]`). A pattern expands to every matching name in sorted order.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Collection, Iterable
from typing import Any


def pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("[*]", i):
            out.append(r"\[[^\]]*\]")
            i += 3
            continue
        c = pattern[i]
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out))


def is_pattern(target: str) -> bool:
    return "*" in target or "?" in target


def expand_target(target: str, names: Iterable[str]) -> list[str]:
    """The names `target` denotes (exact name, or every match of a pattern), sorted."""
    names = list(names)
    if target in names:
        return [target]
    if not is_pattern(target):
        return []
    rx = pattern_regex(target)
    return sorted(n for n in names if rx.fullmatch(n))


def supported_kinds(system: Any, target: str) -> Collection[str] | None:
    """Fault kinds `target` takes, or None when the system does not say (anything is accepted).

    Uses the system's `fault_kinds()` (a dict target -> kinds; a per-target `fault_kinds(target)`
    is accepted too), else the target object's `fault_kinds` / `FAULTS` attribute."""
    hook = getattr(system, "fault_kinds", None)
    if hook is not None:
        try:
            n_args = len(inspect.signature(hook).parameters)
        except (TypeError, ValueError):
            n_args = 0
        kinds = hook(target) if n_args >= 1 else (hook() or {}).get(target, _UNSAID)
        if kinds is not _UNSAID:
            return tuple(kinds) if kinds is not None else None
    obj = system.fault_targets().get(target)
    kinds = getattr(obj, "fault_kinds", None)
    if kinds is None:
        kinds = getattr(obj, "FAULTS", None)
    return tuple(kinds) if kinds is not None else None


_UNSAID = object()
