"""`sim replay RESULT_DIR --replication R`: re-run one stored replication exactly and compare.

Reads the resolved scenario and the replication's seed from `manifest.json` (for a sweep
directory, `--point P`: the base scenario with the point's swept values from `runs.parquet`), runs it again
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

from sim.runner.replication import run_replication
from sim.scenario.errors import ErrorItem, ScenarioError
from sim.scenario.schema import scenario_from_dict
from sim.scenario.sweep import parse_key_path, set_path


def _err(path: str, msg: str) -> ScenarioError:
    return ScenarioError([ErrorItem(path, 0, "", msg)])


def load_stored(result_dir: str | Path, replication: int,
                point: int | None = None) -> tuple[dict[str, Any], int, dict[str, float], list[dict]]:
    """(resolved scenario, seed, stored metrics row, stored violations) of one replication."""
    d = Path(result_dir)
    mpath = d / "manifest.json"
    if not mpath.is_file():
        raise _err(str(mpath), "no manifest.json: not a complete result directory")
    manifest = json.loads(mpath.read_text())
    if (d / "runs.parquet").is_file() and not (d / "metrics.parquet").is_file():
        return _load_sweep_run(d, manifest, replication, point or 0)
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


def _load_sweep_run(d: Path, manifest: dict[str, Any], replication: int, point: int):
    """A run of a sweep directory: the point's scenario is the base with its swept values set."""
    import copy

    import pandas as pd


    runs = pd.read_parquet(d / "runs.parquet")
    sel = runs[(runs["point"] == point) & (runs["replication"] == replication)]
    if not len(sel):
        raise _err(str(d / "runs.parquet"), f"no run with point {point} and replication {replication}")
    row = sel.iloc[0]
    names = (manifest.get("sweep") or {}).get("parameters") or []
    data = copy.deepcopy(manifest["scenario"])
    data.pop("sweep", None)
    for name in names:
        value = row[name]
        set_path(data, parse_key_path(name), value.item() if hasattr(value, "item") else value)
    resolved = scenario_from_dict(data, name=f"{d}[point {point}]").resolved
    skip = {"point", "replication", "seed", "error", "wall_time_s", *names}
    metrics = {k: float(v) for k, v in row.items() if k not in skip and isinstance(v, int | float)}
    stored_v = [{k: v for k, v in x.items() if k not in ("replication", "point", "seed")}
                for x in manifest.get("violations", [])
                if x.get("replication") == replication and x.get("point") == point]
    return resolved, int(row["seed"]), metrics, stored_v


def compare_rows(stored: dict[str, float], fresh: dict[str, float]) -> list[str]:
    diffs = []
    for k in sorted(set(stored) | set(fresh)):
        a, b = stored.get(k), fresh.get(k)
        if a is None or b is None:
            diffs.append(f"{k}: stored {a!r}, replayed {b!r}")
        elif not (a == b or (math.isnan(a) and math.isnan(b))):
            diffs.append(f"{k}: stored {a!r}, replayed {b!r}")
    return diffs


def replay_campaign_run(result_dir: str | Path, run: int) -> tuple[bool, str]:
    """Re-run run `run` of a campaign directory (its base scenario, faults and seed from campaign.json)
    and compare its outcome: failed, deadlocked, watchdog timeout, and the stored violations."""
    d = Path(result_dir)
    meta = json.loads((d / "campaign.json").read_text())
    if "base" not in meta:
        raise _err(str(d / "campaign.json"), "written by an older version without the base scenario; "
                                            "replay its runs with `sim campaign SCENARIO --seed S --runs 1`")
    stored = next((r for r in meta.get("results", []) if r.get("run") == run), None)
    if stored is None:
        raise _err(str(d / "campaign.json"), f"no run {run} (the campaign has {meta.get('runs', 0)})")
    data = dict(meta["base"], faults=stored["faults"], seed=stored["seed"])
    resolved = scenario_from_dict(data, name=f"{d}[run {run}]").resolved
    res = run_replication(resolved, int(stored["seed"]), 0)
    m = res.metrics
    fresh = {"failed": bool(res.error or m.get("invariant_violations", 0)), "deadlocked": bool(m.get("deadlocked", 0)),
             "watchdog_timeout": bool(m.get("watchdog_timeout", 0))}
    problems = [f"{k}: stored {stored.get(k)!r}, replayed {v!r}" for k, v in fresh.items() if bool(stored.get(k)) != v]
    sv = stored.get("violations") or []
    if sv and [dict(v) for v in res.violations][: len(sv)] != sv:
        problems.append(f"violations differ: stored {sv[:1]}, replayed {res.violations[:1]}")
    head = f"campaign run {run} (seed {stored['seed']}) of {meta.get('scenario')}"
    if problems:
        return False, f"MISMATCH: {head}:\n  " + "\n  ".join(problems)
    return True, f"match: {head}: {'failed: ' + stored.get('finding', '') if fresh['failed'] else 'clean'}"


def replay(result_dir: str | Path, replication: int = 0, point: int | None = None) -> tuple[bool, str]:
    """Re-run replication `replication` (of sweep point `point`) of `result_dir`; (match, report).
    For a campaign directory, `replication` is the campaign's run number."""
    if (Path(result_dir) / "campaign.json").is_file() and not (Path(result_dir) / "manifest.json").is_file():
        return replay_campaign_run(result_dir, replication)
    resolved, seed, row, stored_v = load_stored(result_dir, replication, point)
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
    p.add_argument("result_dir", help="a result directory of `sim run`, `sim sweep` or `sim campaign`")
    p.add_argument("--replication", type=int, default=0,
                   help="which replication to re-run (default 0); for a campaign: which run")
    p.add_argument("--point", type=int, default=None, help="for a sweep directory: which point (default 0)")


def main(args: argparse.Namespace) -> int:
    ok, message = replay(args.result_dir, args.replication, getattr(args, "point", None))
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
