"""What code produced a result: a content hash of the `sim` sources and of a scenario's plugins, and
the git state (commit, dirty flag, a hash of the uncommitted diff) of the checkout.

The run cache keys every run on `code_hash(plugins)`, so a run computed by other code is never
reused; every manifest records `provenance()`. Git may be absent (an installed package, no `git`
binary): its fields are then None.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

SIM_ROOT = Path(__file__).resolve().parents[1]  # the `sim` package directory


def _hash_files(files: list[Path], base: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        try:
            data = f.read_bytes()
        except OSError:
            continue
        h.update(str(f.relative_to(base)).replace(os.sep, "/").encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def sim_source_hash() -> str:
    """Hash of the content of every .py file under sim/ (computed once per process)."""
    return _hash_files([p for p in SIM_ROOT.rglob("*.py") if "__pycache__" not in p.parts], SIM_ROOT)


def _module_files(name: str) -> tuple[list[Path], Path] | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return None
    origin = Path(spec.origin).resolve()
    if spec.submodule_search_locations:  # a package: all of its sources
        root = origin.parent
        return [p for p in root.rglob("*.py") if "__pycache__" not in p.parts], root
    return [origin], origin.parent


_PLUGIN_CACHE: dict[tuple, str] = {}


def plugin_source_hash(plugins: list[str] | tuple[str, ...] | None) -> str:
    """Hash of the source files of the plugin modules a scenario imports ('' when none).

    Re-read when a file's size or modification time changes (a plugin edited in a notebook)."""
    if not plugins:
        return ""
    parts = []
    for name in sorted(set(plugins)):
        found = _module_files(name)
        if found is None:
            parts.append(f"{name}:?")
            continue
        files, base = found
        stamp = tuple((str(f), *_stat(f)) for f in sorted(files))
        key = (name, stamp)
        if key not in _PLUGIN_CACHE:
            _PLUGIN_CACHE[key] = _hash_files(files, base)
        parts.append(f"{name}:{_PLUGIN_CACHE[key]}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _stat(f: Path) -> tuple[int, int]:
    try:
        st = f.stat()
        return st.st_size, st.st_mtime_ns
    except OSError:
        return -1, -1


def code_hash(plugins: list[str] | tuple[str, ...] | None = None) -> str:
    """The code a run depends on: the sim sources and the scenario's plugins."""
    return hashlib.sha256(f"{sim_source_hash()}|{plugin_source_hash(plugins)}".encode()).hexdigest()[:16]


def _git(*args: str) -> subprocess.CompletedProcess | None:
    try:
        out = subprocess.run(["git", *args], cwd=SIM_ROOT, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    """{git_commit, git_dirty, git_diff_hash} of the checkout holding sim/ (None each without git)."""
    head = _git("rev-parse", "HEAD")
    if head is None:
        return {"git_commit": None, "git_dirty": None, "git_diff_hash": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    diff = _git("diff", "HEAD", "--no-color", "--no-ext-diff")
    dirty = bool(status.stdout.strip()) if status is not None else None
    diff_hash = hashlib.sha256(diff.stdout).hexdigest()[:16] if (diff is not None and dirty) else None
    return {"git_commit": head.stdout.decode().strip() or None, "git_dirty": dirty, "git_diff_hash": diff_hash}


def provenance(plugins: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    """The fields every manifest records about the code that produced it."""
    return {**git_state(), "sim_source_hash": sim_source_hash(),
            "plugin_source_hash": plugin_source_hash(plugins) or None, "code_hash": code_hash(plugins)}
