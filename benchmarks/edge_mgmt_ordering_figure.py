"""Table (mean and 95 % Student-t CI per point) and figure of the ordering sweep of edge_mgmt_recovery.

    python -m sim sweep scenarios/edge_mgmt_ordering.yaml --workers 1 --out DIR
    python benchmarks/edge_mgmt_ordering_figure.py DIR [docs/models/figures/edge_mgmt_recovery_ordering.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script writing a file, not a notebook

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from sim.analysis import plots  # noqa: E402

METRICS = ["entries_wrong", "history_out_of_order", "recoverable"]


def load(out: Path) -> pd.DataFrame:
    for name in ("runs.parquet", "runs.csv"):
        if (out / name).exists():
            return pd.read_parquet(out / name) if name.endswith("parquet") else pd.read_csv(out / name)
    raise SystemExit(f"no runs table in {out}")


def main() -> None:
    out = Path(sys.argv[1])
    runs = load(out)
    runs["clock_offset_sd_ms"] = (runs["params.clock_offset_sd"].astype(float) * 1e3).round(3)
    for (sd, ordering), g in runs.groupby(["clock_offset_sd_ms", "params.ordering"]):
        cells = []
        for m in METRICS:
            x = g[m].to_numpy(float)
            n = len(x)
            if m == "recoverable":  # 0/1: Wilson interval
                lo, hi = stats.binomtest(int(x.sum()), n).proportion_ci(0.95, method="wilson")
                cells.append(f"{m} {x.mean():.2f} [{lo:.2f}, {hi:.2f}]")
            else:  # Student-t
                half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
                cells.append(f"{m} {x.mean():.1f} ± {half:.1f}")
        print(f"{sd:g} ms {ordering} n={len(g)}: " + "; ".join(cells))
    if len(sys.argv) > 2:
        fig = plots.metric_vs_param(runs, METRICS, "clock_offset_sd_ms", hue="params.ordering", logx=True)
        fig.savefig(sys.argv[2], dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
