"""Results store: result directories, manifests and atomic Parquet/JSON writes.

Files are written to a temporary file and renamed; they get the mode the umask asks for (0644 under
the usual 022), not mkstemp's 0600, so a colleague can read them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.version import __version__
from sim.runner.provenance import git_state, provenance


def _umask() -> int:
    """The process umask (read without changing it on Linux; elsewhere set and restored)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _file_mode() -> int:
    """The mode a plain `open(path, "w")` would give: 0o666 less the umask (mkstemp gives 0600)."""
    return 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default).encode())


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _file_mode())
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def git_commit() -> str | None:
    return git_state()["git_commit"]


def environment_info(plugins: list[str] | None = None, recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Versions, platform and provenance (git commit, dirty flag, diff hash, code hashes), when written.

    `recorded`: the provenance taken when the work started (a commit made during a long campaign must
    not be credited with its results); without it, the provenance now."""
    import numpy
    import simpy

    return {
        "package_version": __version__,
        **(recorded if recorded is not None else provenance(plugins)),
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def under_root(root: str | Path, *parts: str) -> Path:
    """`root/parts...`, refused (ValueError) if it would resolve outside `root` (a name with `..`)."""
    base = Path(root).resolve()
    out = Path(root).joinpath(*parts)
    if not out.resolve().is_relative_to(base) or out.resolve() == base:
        raise ValueError(f"refusing to write outside the output root {root}: {'/'.join(parts)!r}")
    return out


def default_out_dir(name: str, config_hash: str, root: str | Path = "results", prefix: str = "") -> Path:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return under_root(root, name, f"{prefix}{stamp}" + (f"-{config_hash}" if config_hash else ""))
