"""The `cluster_migration` headline comparison as a table: every point of a scenario's sweep x its
replications, mean and 95 % Student-t interval per metric, and each point's ratio to the first point
paired by replication (same seed, same topology: common random numbers).

    python benchmarks/bench_cluster_migration_baselines.py [--scenario scenarios/cluster_migration.yaml]
        [--reps 10] [--set params.parallelism=16 ...]

Used for the tables in docs/models/cluster_migration.md (headline with `outage_*` and the
`tier_runbook` baseline; the knee with and without `stream_priority`). Not a test.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runner.replication import run_replication  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

KEYS = ("downtime_total_s", "outage_total_s", "downtime_max_s", "outage_max_s", "failed_starts", "migration_time_s")


def ci(x: np.ndarray) -> tuple[float, float]:
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return float(np.mean(x)) if len(x) else math.nan, math.nan
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def set_key(d: dict, path: str, value) -> None:
    *head, last = path.split(".")
    for k in head:
        d = d.setdefault(k, {})
    d[last] = value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "cluster_migration.yaml"))
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], help="KEY.PATH=VALUE (YAML value) on every point")
    a = ap.parse_args()
    import yaml

    sc = load_scenario(a.scenario)
    base = sc.resolved
    reps = a.reps or int(base.get("replications", 10))
    points = (base.get("sweep") or {}).get("points") or [{}]
    results = []
    for pt in points:
        cfg = copy.deepcopy(base)
        cfg.pop("sweep", None)
        for k, v in list(pt.items()) + [tuple(s.split("=", 1)) for s in a.set]:
            set_key(cfg, k, yaml.safe_load(v) if isinstance(v, str) else v)
        rows = []
        for r in range(reps):
            res = run_replication(cfg, int(base.get("seed", 1)) + r)
            assert res.error is None, res.error
            rows.append({**res.metrics, "violations": len(res.violations)})
        results.append((pt, rows))
    first = results[0][1]
    for pt, rows in results:
        label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in pt.items()) or "base"
        print(f"{label}  (violations {sum(r['violations'] for r in rows)}, completed "
              f"{sum(r['completed'] for r in rows):.0f}/{len(rows)})")
        for k in KEYS:
            m, h = ci(np.array([r[k] for r in rows], dtype=float))
            ratio = np.array([r[k] / f[k] if f[k] else math.nan for r, f in zip(rows, first, strict=True)])
            rm, rh = ci(ratio)
            print(f"    {k:<18} {m:12,.1f} ± {h:10,.1f}    x first point (paired) {rm:7.3f} ± {rh:.3f}")


if __name__ == "__main__":
    main()
