"""The bandwidth knee of `cluster_migration` with fair link sharing and with critical-path-first
stream priority (`params.stream_priority`), paired by replication (same seed, same topology).

    python benchmarks/bench_cluster_migration_knee.py [--components 120] [--density 0.5] [--reps 5]

Base: `scenarios/cluster_migration_sweep.yaml` (its seed, target and duration). Prints per
parallelism the mean `migration_time_s` and `outage_total_s` with 95 % Student-t intervals for
both modes and the paired ratio critical_path / fair. Used for the knee table in
docs/models/cluster_migration.md. Not a test.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cluster_migration_baselines import ci  # noqa: E402

from sim.runner.replication import run_replication  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", type=int, default=120)
    ap.add_argument("--density", type=float, default=0.5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--parallelism", default="1,2,4,8,16,32")
    a = ap.parse_args()
    base = load_scenario(ROOT / "scenarios" / "cluster_migration_sweep.yaml").resolved
    base.pop("sweep", None)
    base["params"]["topology"] = {"components": a.components, "density": a.density}
    link_s = None
    for par in (int(x) for x in a.parallelism.split(",")):
        out = {}
        for mode in ("fair", "critical_path"):
            rows = []
            for r in range(a.reps):
                cfg = copy.deepcopy(base)
                cfg["params"].update(parallelism=par, stream_priority=mode)
                res = run_replication(cfg, int(base["seed"]) + r)
                assert res.error is None and not res.violations, (res.error, res.violations)
                rows.append(res.metrics)
            out[mode] = rows
            link_s = np.mean([m["data_bytes"] for m in rows]) / 1.25e9
        line = [f"parallelism {par:>3}"]
        for mode, rows in out.items():
            for k in ("migration_time_s", "outage_total_s"):
                m, h = ci(np.array([x[k] for x in rows]))
                line.append(f"{mode} {k} {m:9,.0f} ± {h:7,.0f}")
        ratio = np.array([c["migration_time_s"] / f["migration_time_s"]
                          for c, f in zip(out["critical_path"], out["fair"], strict=True)])
        m, h = ci(ratio)
        line.append(f"cp/fair time {m:.3f} ± {h:.3f}")
        print("  ".join(line), flush=True)
    print(f"link time for all data: {link_s:,.0f} s")


if __name__ == "__main__":
    main()
