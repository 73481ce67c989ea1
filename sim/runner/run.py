"""`sim run`: the replications of one scenario, written to a result directory.

Replication r runs with seed `seed + r`, so `--seed S --replications 1` replays any replication
whose row says `seed = S`, and every sweep point sees the same seeds (common random numbers).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runner.executors import open_executor
from sim.runner.provenance import provenance
from sim.runner.replication import ReplicationResult, run_replication
from sim.runner.store import atomic_write_json, atomic_write_parquet, default_out_dir, environment_info
from sim.scenario import Scenario


@dataclass
class Result:
    """What a run produced: metrics (one row per replication), time series, manifest, directory."""

    metrics: pd.DataFrame
    timeseries: pd.DataFrame | None
    manifest: dict[str, Any]
    out_dir: Path | None = None
    replications: list[ReplicationResult] = field(default_factory=list, repr=False)

    @property
    def violations(self) -> list[dict[str, Any]]:
        return [v | {"replication": r.replication} for r in self.replications for v in r.violations]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.replications if r.error]


def replication_seeds(seed: int, replications: int) -> list[int]:
    return [seed + r for r in range(replications)]


def metrics_frame(results: list[ReplicationResult]) -> pd.DataFrame:
    rows = [{"replication": r.replication, "seed": r.seed, **r.metrics} for r in results]
    return pd.DataFrame(rows)


def run_scenario(
    scenario: Scenario,
    out: str | Path | None = None,
    *,
    seed: int | None = None,
    replications: int | None = None,
    write: bool = True,
    progress: bool = False,
    results_root: str | Path = "results",
    workers: int = 1,
) -> Result:
    """Run every replication of `scenario`; write results atomically unless `write=False`.

    `workers > 1` runs the replications in parallel on a spawn process pool (`sim.runner.executors`);
    each replication is a pure function of (scenario, seed), so the results are identical to serial."""
    resolved = scenario.resolved
    base_seed = resolved["seed"] if seed is None else int(seed)
    reps = replications if replications is not None else resolved["replications"]
    if isinstance(reps, dict):
        reps = int(reps.get("min", 1))
    seeds = replication_seeds(base_seed, int(reps))
    started = provenance(resolved.get("plugins"))  # the git state of the start, not of the end
    wall0 = time.monotonic()
    results: list[ReplicationResult] = []
    bar = None
    if workers > 1 and len(seeds) > 1:
        with open_executor("processes", min(workers, len(seeds))) as (ex, _desc, _n):
            futures = [ex.submit(run_replication, resolved, s, r) for r, s in enumerate(seeds)]
            results = [f.result() for f in futures]
        progress = False
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(len(seeds) * resolved["duration"], 6), unit="sim-s", leave=False,
                   bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} sim-s [{elapsed}<{remaining}]")
    for r, s in enumerate(seeds if not results else []):
        cb = None
        if bar is not None:
            offset = r * resolved["duration"]

            def cb(t: float, offset: float = offset) -> None:
                bar.n = offset + t
                bar.refresh()

        results.append(run_replication(resolved, s, r, on_progress=cb))
    if bar is not None:
        bar.n = bar.total
        bar.close()
    metrics = metrics_frame(results)
    ts_parts = [r.timeseries.assign(replication=r.replication) for r in results if r.timeseries is not None]
    timeseries = pd.concat(ts_parts, ignore_index=True) if ts_parts else None
    manifest = {
        "scenario": resolved,
        "scenario_file": scenario.path,
        "config_hash": scenario.config_hash(base_seed),
        "seed": base_seed,
        "replication_seeds": seeds,
        "wall_time_s": time.monotonic() - wall0,
        **environment_info(resolved.get("plugins"), started),
        "violations": [v | {"replication": r.replication} for r in results for v in r.violations][:20],
        "events": [e | {"replication": r.replication} for r in results for e in r.events][:1000],
        "errors": [{"replication": r.replication, "seed": r.seed, "error": r.error} for r in results if r.error],
    }
    out_dir = None
    if write:
        out_dir = Path(out) if out is not None else default_out_dir(
            resolved["name"], manifest["config_hash"], results_root)
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(out_dir / "metrics.parquet", metrics)
        if timeseries is not None:
            atomic_write_parquet(out_dir / "timeseries.parquet", timeseries)
        traces = [(r.replication, rec) for r in results if r.trace for rec in r.trace]
        if traces:
            atomic_write_parquet(out_dir / "trace.parquet", pd.DataFrame({
                "replication": [r for r, _ in traces], "time_s": [rec[0] for _, rec in traces],
                "event": [rec[1] for _, rec in traces],
                "fields": [json.dumps(list(rec[2:]), default=str) for _, rec in traces]}))
        atomic_write_json(out_dir / "manifest.json", manifest)  # last: its presence marks a complete run
    return Result(metrics=metrics, timeseries=timeseries, manifest=manifest, out_dir=out_dir, replications=results)
