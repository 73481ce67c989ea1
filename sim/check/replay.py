"""`sim replay RESULT_DIR --replication R`: re-run one stored replication exactly and compare.

Reads the resolved scenario and the replication's seed from `manifest.json`, runs it again
(a run is a pure function of the two) and compares every metric of the stored row in
`metrics.parquet` and the stored violations. Prints match or the differences; exit code 0 on a
match, 1 on a mismatch, 2 on unusable input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from sim.scenario.errors import ErrorItem, ScenarioError


def _err(path: str, msg: str) -> ScenarioError:
    return ScenarioError([ErrorItem(path, 0, "", msg)])


def load_stored(result_dir: str | Path, replication: int) -> tuple[dict[str, Any], int, dict[str, float], list[dict]]:
    """(resolved scenario, seed, stored metrics row, stored violations) of one replication."""
    d = Path(result_dir)
    mpath = d / "manifest.json"
    if not mpath.is_file():
        raise _err(str(mpath), "no manifest.json: not a complete result directory")
    manifest = json.loads(mpath.read_text())
    seeds = manifest.get("replication_seeds") or []
    if not 0 <= replication < len(seeds):
        raise _err(str(mpath), f"no replication {replication} (the run has {len(seeds)})")
    seed = int(seeds[replication])
    row: dict[str, float] = {}
    metrics_path = d / "metrics.parquet"
    if metrics_path.is_file():
        import pandas as pd

        df = pd.read_parquet(metrics_path)
        sel = df[df["replication"] == replication]
        if len(sel):
            row = {k: float(v) for k, v in sel.iloc[0].items() if k not in ("replication", "seed")}
    stored_v = [{k: v for k, v in x.items() if k != "replication"}
                for x in manifest.get("violations", []) if x.get("replication") == replication]
    return manifest["scenario"], seed, row, stored_v


def compare_rows(stored: dict[str, float], fresh: dict[str, float]) -> list[str]:
    diffs = []
    for k in sorted(set(stored) | set(fresh)):
        a, b = stored.get(k), fresh.get(k)
        if a is None or b is None:
            diffs.append(f"{k}: stored {a!r}, replayed {b!r}")
        elif not (a == b or (math.isnan(a) and math.isnan(b))):
            diffs.append(f"{k}: stored {a!r}, replayed {b!r}")
    return diffs


def replay(result_dir: str | Path, replication: int = 0) -> tuple[bool, str]:
    """Re-run replication `replication` of `result_dir`; (match, report)."""
    from sim.runner.replication import run_replication

    resolved, seed, row, stored_v = load_stored(result_dir, replication)
    res = run_replication(resolved, seed, replication)
    if res.error:
        return False, f"replay of replication {replication} (seed {seed}) failed: {res.error.splitlines()[0]}"
    problems = compare_rows(row, res.metrics) if row else ["no stored metrics row to compare with"]
    fresh_v = [dict(v) for v in res.violations][: len(stored_v)] if stored_v else []
    if stored_v and fresh_v != stored_v:
        problems.append(f"violations differ: stored {stored_v[:1]}, replayed {fresh_v[:1]}")
    head = f"replication {replication} (seed {seed}) of {resolved.get('name')}"
    if problems:
        return False, f"MISMATCH: {head}:\n  " + "\n  ".join(problems[:20])
    nv = int(res.metrics.get("invariant_violations", 0))
    first = f"; first violation: {res.violations[0]['invariant']}: {res.violations[0]['detail']}" if nv else ""
    return True, f"match: {head}: {len(row)} metrics identical, {nv} violation(s){first}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result_dir", help="a result directory written by `sim run` (with manifest.json)")
    p.add_argument("--replication", type=int, default=0, help="which replication to re-run (default 0)")


def main(args: argparse.Namespace) -> int:
    ok, message = replay(args.result_dir, args.replication)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
