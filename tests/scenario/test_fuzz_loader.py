"""Fuzzing the scenario loader: mutated scenario files never raise a traceback out of `sim validate`.

Valid scenario files (every file in scenarios/) are mutated as a careless user would — keys deleted,
duplicated, renamed, values retyped, units garbled, lines dropped or repeated — and `sim validate`
must answer exit 0, or exit 2 with every message located as `FILE:LINE: ...`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
TEXTS = {p.name: p.read_text() for p in SCENARIOS}
LOCATED = re.compile(r"^.+?:\d+: .+")

_yaml = YAML(typ="safe", pure=True)
_yaml.default_flow_style = False

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "4KiX", "-5ms", "1e999s", "10GB/s", "abc", "200k/s", "0", "nan", "~", "[1, 2", "{a: 1}",
                     "1.5.5s", "5 ms", "ms", "100%", "-0", "0x10", "1_000s", "1s2s"]),
    st.lists(st.integers(0, 5), max_size=3), st.dictionaries(st.sampled_from(["a", "dist", "value"]),
                                                             st.integers(0, 3), max_size=2),
)


KEYS = ["sweep", "faults", "checks", "heal_phase", "timeseries", "extends", "plugins", "replications", "warmup",
        "duration", "seed", "params", "workload", "grid", "zip", "points", "random", "target", "kind", "at", "mtbf",
        "mttr", "restart_after", "interval", "metrics", "dist", "n", "low", "high", "adaptive", "ci", "max"]
SHAPES = st.sampled_from([
    {"grid": {"params.workers": [1, 2]}}, {"grid": {}}, {"zip": {"params.a": [1], "params.b": [1, 2]}},
    {"random": {"n": 3, "params": {"params.workers": {"low": 1, "high": 0}}}}, {"points": [{}]},
    [{"kind": "crash", "target": "*", "at": "1s"}], [{"kind": "crash"}], [{"kind": "slow_link", "target": "x", "at": 0}],
    [{"kind": "crash", "target": "primary", "mtbf": "1s", "mttr": "-1s"}], {"heal_phase": "1000h"},
    {"target": 0.1, "max": 2}, {"interval": "0s"}, ["../../etc/passwd"], ["sim.core"], "scenarios/nvlog_sweep.yaml",
    {"dist": "uniform", "low": "2s", "high": "1s"}, {"dist": "lognormal", "median": "1s", "sigma": -1},
])


def _paths(node, prefix=()):
    """Every key path of a parsed scenario (mapping keys and list indexes)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


def _parent(tree, path):
    node = tree
    for p in path[:-1]:
        node = node[p]
    return node


@st.composite
def mutated_scenario(draw) -> str:
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    if draw(st.booleans()):  # a structural mutation of the parsed tree
        tree = _yaml.load(text)
        tree.pop("extends", None)  # (an extends path is relative to the original file)
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(tree)
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            parent = _parent(tree, path)
            key = path[-1]
            op = draw(st.sampled_from(["delete", "retype", "rename", "duplicate", "insert"]))
            if op == "delete":
                del parent[key]
            elif op == "retype":
                parent[key] = draw(VALUES)
            elif op == "rename" and isinstance(parent, dict):
                new = draw(st.sampled_from([f"{key}x", str(key)[:-1] or "k", str(key).upper(), "workers", "at"]))
                parent[new] = parent.pop(key)
            elif op == "duplicate" and isinstance(parent, list):
                parent.append(parent[key])
            elif op == "insert" and isinstance(parent, dict):
                parent[draw(st.sampled_from(KEYS))] = draw(st.one_of(VALUES, SHAPES))
        buf = io.StringIO()
        _yaml.dump(tree, buf)
        return buf.getvalue()
    lines = text.splitlines()  # a textual mutation: what a bad edit or merge leaves
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "repeat", "indent", "dedent", "garble"]))
        if op == "drop":
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        else:
            j = draw(st.integers(0, max(0, len(lines[i]) - 1)))
            lines[i] = lines[i][:j] + draw(st.sampled_from([":", "{", "[", "'", "\t", "&a", "*a", "!!python/object ", "-"])) \
                + lines[i][j:]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(not SCENARIOS, reason="no scenario files")
@settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
          derandomize=not __import__("os").environ.get("FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=mutated_scenario())
def test_sim_validate_answers_every_mutated_scenario_with_exit_0_or_located_errors(text, tmp_path, capsys):
    p = tmp_path / "mutated.yaml"
    p.write_text(text)
    code = main(["validate", str(p)])
    out = capsys.readouterr()
    event(f"exit {code}")
    assert code in (0, 2), out.err[-2000:]
    assert "Traceback" not in out.err + out.out
    if code == 2:
        lines = [ln for ln in out.err.splitlines() if ln.strip()]
        assert lines, "exit 2 without a message"
        bad = [ln for ln in lines if not LOCATED.match(ln) or not ln.startswith(str(p))]
        assert not bad, f"unlocated error lines: {bad[:3]}\n--- scenario ---\n{text}"
