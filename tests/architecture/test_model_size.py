"""Models stay readable: small modules, classes with few methods, no signature sniffing in fault dispatch."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"
MAX_LINES = 500
MAX_METHODS = 25


def _system_modules() -> list[Path]:
    return sorted((SIM / "systems").rglob("*.py"))


def test_no_module_in_systems_is_over_500_lines():
    long = {str(p.relative_to(SIM)): n for p in _system_modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_class_has_more_than_25_methods():
    big = {}
    for p in sorted(SIM.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ClassDef):
                n = sum(isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) for b in node.body)
                if n > MAX_METHODS:
                    big[f"{p.relative_to(SIM)}:{node.name}"] = n
    assert not big, f"classes with more than {MAX_METHODS} methods: {big}"


def test_fault_dispatch_does_not_sniff_signatures():
    users = [str(p.relative_to(SIM)) for p in sorted(SIM.rglob("*.py")) if "inspect.signature" in p.read_text()]
    assert not users, f"inspect.signature used in {users}"
