"""Fault targets: matching a scenario's `target:` against the system's component names.

A target is either an exact name from `system.fault_targets()` or a pattern: `*` matches any
run of characters, `?` one character, and `[*]` any index in brackets (`node[*]` matches
`node[0]`, `node[12]`). A pattern expands to every matching name in sorted order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def supported_kinds(system: Any, target: str) -> tuple[str, ...]:
    """Fault kinds `target` takes: what its `FaultTarget` object carries."""
    return tuple(system.fault_targets()[target].fault_kinds)
