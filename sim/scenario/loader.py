"""Line-aware YAML loading: plain data plus a map from key path to (file, line).

Uses ruamel.yaml (rejects duplicate keys, reports positions). Refuses binary and empty files,
non-mapping top levels, NaN/inf numbers and alias expansions beyond a node budget (alias bombs).
`extends:` composes a file from a base file, the child's keys overriding the base's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sim.scenario.errors import ErrorItem, ScenarioError, format_path

MAX_NODES = 100_000  # expanded nodes per file: far above any real scenario, far below an alias bomb
MAX_BYTES = 5_000_000


@dataclass
class Located:
    """Plain YAML data with the source location of every key path."""

    data: dict[str, Any]
    file: str
    locs: dict[tuple, tuple[str, int]] = field(default_factory=dict)

    def where(self, path: tuple) -> tuple[str, int]:
        """The location of `path`, or of its nearest located ancestor."""
        p = tuple(path)
        while p:
            if p in self.locs:
                return self.locs[p]
            p = p[:-1]
        return self.locs.get((), (self.file, 1))

    def error(self, path: tuple, message: str) -> ErrorItem:
        f, line = self.where(path)
        return ErrorItem(f, line, format_path(path), message)


def _fail(file: str, line: int, path: str, msg: str) -> ScenarioError:
    return ScenarioError([ErrorItem(file, line, path, msg)])


def _plain(node: Any, file: str, path: tuple, locs: dict, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _fail(file, locs.get(path, (file, 1))[1], format_path(path),
                    f"document expands to more than {MAX_NODES} nodes (alias bomb?); refusing")
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for k in node:
            kp = path + (k,) if isinstance(k, str) else path + (str(k),)
            try:
                line = node.lc.key(k)[0] + 1
            except (KeyError, TypeError, AttributeError):
                line = locs.get(path, (file, 1))[1]
            if not isinstance(k, str):
                raise _fail(file, line, format_path(path), f"keys must be strings, got {k!r}")
            locs[kp] = (file, line)
            out[k] = _plain(node[k], file, kp, locs, budget)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, v in enumerate(node):
            ip = path + (i,)
            try:
                line = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                line = locs.get(path, (file, 1))[1]
            locs[ip] = (file, line)
            items.append(_plain(v, file, ip, locs, budget))
        return items
    if isinstance(node, float):
        if math.isnan(node) or math.isinf(node):
            raise _fail(file, locs.get(path, (file, 1))[1], format_path(path),
                        "NaN and infinite numbers are not allowed")
        return float(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, str):
        return str(node)
    return node


def load_yaml(path: str | Path) -> Located:
    """Read one YAML file into `Located` data (no `extends:` processing)."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise _fail(name, 0, "", "file not found")
    if p.is_dir():
        raise _fail(name, 0, "", "is a directory, not a scenario file")
    try:
        raw = p.read_bytes()
    except OSError as e:  # PermissionError, a vanished file, an I/O error: one located line
        raise _fail(name, 0, "", f"cannot read the file: {e.strerror or type(e).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise _fail(name, 0, "", f"file larger than {MAX_BYTES} bytes; refusing")
    if b"\x00" in raw:
        raise _fail(name, 1, "", "binary file, not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _fail(name, line, "", "not UTF-8 text (binary file?)") from None
    if not text.strip() or all(ln.strip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        raise _fail(name, 1, "", "empty scenario file")
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = (e.problem or str(e)).strip().splitlines()[0]
        if "duplicate key" in str(e).lower() or "found duplicate key" in (e.problem or ""):
            what = f"duplicate key: {what}"
        raise _fail(name, line, "", f"YAML error: {what}") from None
    except YAMLError as e:
        raise _fail(name, 1, "", f"YAML error: {str(e).strip().splitlines()[0]}") from None
    if not isinstance(doc, CommentedMap):
        kind = "a list" if isinstance(doc, list) else type(doc).__name__
        raise _fail(name, 1, "", f"the top level must be a mapping of keys, got {kind}")
    locs: dict[tuple, tuple[str, int]] = {(): (name, 1)}
    data = _plain(doc, name, (), locs, [MAX_NODES])
    return Located(data=data, file=name, locs=locs)


def _merge(base: Any, over: Any, bpath: tuple, base_locs: dict, over_locs: dict) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v, bpath + (k,), base_locs, over_locs) if k in base else v
        return out
    # replaced: drop the base's locations under this path
    for k in [k for k in base_locs if k[: len(bpath)] == bpath and len(k) > len(bpath)]:
        del base_locs[k]
    return over


def load_with_extends(path: str | Path, _seen: tuple[str, ...] = ()) -> Located:
    """Load a file and, if it has `extends: base.yaml`, merge it over its base (recursively)."""
    loc = load_yaml(path)
    ext = loc.data.get("extends")
    if ext is None:
        return loc
    if not isinstance(ext, str):
        raise ScenarioError([loc.error(("extends",), "must be a file path (string)")])
    base_path = (Path(path).parent / ext).resolve()
    key = str(base_path)
    if key in _seen or key == str(Path(path).resolve()):
        raise ScenarioError([loc.error(("extends",), f"circular extends via {ext}")])
    try:
        base = load_with_extends(base_path, _seen + (str(Path(path).resolve()),))
    except ScenarioError as e:
        if e.items and e.items[0].message == "file not found":
            raise ScenarioError([loc.error(("extends",), f"base file {ext!r} not found")]) from None
        if e.items and e.items[0].message.startswith("cannot read the file") and e.items[0].file == key:
            why = e.items[0].message.partition(": ")[2]
            raise ScenarioError([loc.error(("extends",), f"cannot read base file {ext!r}: {why}")]) from None
        raise
    child = {k: v for k, v in loc.data.items() if k != "extends"}
    base_locs = dict(base.locs)
    merged = _merge(base.data, child, (), base_locs, loc.locs)
    locs = base_locs
    locs.update({k: v for k, v in loc.locs.items() if k != ("extends",)})
    locs[()] = (loc.file, 1)
    return Located(data=merged, file=loc.file, locs=locs)
