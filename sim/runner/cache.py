"""Run cache of a sweep directory: an append-only journal of finished runs, keyed by config hash.

A run's key is a hash of its resolved point configuration, its seed, the package version and the
code (`sim.runner.provenance.code_hash`: the content of every sim source file and of the scenario's
plugin modules), so a re-run into the same directory (or `--resume`) skips exactly the runs whose
inputs and code are unchanged; runs computed by other code are run again.
The journal (`<out>/journal.jsonl`) gets one JSON line per finished run, written and flushed as
the run completes: an interrupted sweep loses only the runs in flight, and a line cut short by a
kill is ignored on reading. Only the sweep's main process writes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sim.core.version import __version__
from sim.runner.provenance import code_hash

JOURNAL = "journal.jsonl"
# keys of a resolved scenario that do not change what a single run computes
NOT_IN_RUN = ("sweep", "replications", "name", "description")


def run_config(resolved_point: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved point scenario that one run depends on (no sweep, replications, name)."""
    cfg = {k: v for k, v in resolved_point.items() if k not in NOT_IN_RUN}
    cfg["timeseries"] = None  # sweeps keep metric rows only
    return cfg


def run_key(config: dict[str, Any], seed: int) -> str:
    blob = json.dumps({"config": config, "seed": int(seed), "version": __version__,
                       "code": code_hash(config.get("plugins"))},
                      sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class Journal:
    """Append-only JSON-lines record of finished runs in a sweep directory."""

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / JOURNAL
        self._fh = None

    def load(self) -> dict[str, dict[str, Any]]:
        """key -> record of every complete line (a torn last line from a kill is skipped)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # torn write at the end
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "key" in rec:
                    out[rec["key"]] = rec
        return out

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair_tail()
            self._fh = open(self.path, "ab")  # noqa: SIM115 - kept open for the sweep's lifetime
        self._fh.write(json.dumps(record, default=str, allow_nan=True).encode() + b"\n")
        self._fh.flush()

    def _repair_tail(self) -> None:
        """Cut a torn last line (from a kill mid-write) so new lines start clean."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            f.seek(0)
            data = f.read()
            f.truncate(data.rfind(b"\n") + 1)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
