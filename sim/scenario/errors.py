"""Scenario errors as values with a location: FILE:LINE: key.path: message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorItem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        path = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line}:{path} {self.message}"


class ScenarioError(Exception):
    """One or more problems in scenario input; `str()` gives one line per problem."""

    def __init__(self, items: list[ErrorItem]) -> None:
        self.items = items
        super().__init__("\n".join(str(i) for i in items))


def format_path(path: tuple) -> str:
    """('faults', 0, 'at') -> 'faults[0].at'."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out
