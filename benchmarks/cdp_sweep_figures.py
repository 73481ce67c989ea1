"""Render the cdp_streams sweep figures of docs/models/cdp_streams.md from finished sweep directories
and print their tables (means, 95 % t-CI half-widths, min / max over the replications).

    python benchmarks/cdp_sweep_figures.py apply-interval results/ais/r1 results/ais/r2 ...
    python benchmarks/cdp_sweep_figures.py journal-size results/jss

Several directories of the same scenario run with different base seeds (`sim sweep --seed`) are
pooled: their replications are distinct loss/drill instants. The figures are drawn as the notebook
draws them (`sim.analysis.plots.metric_vs_param`) into docs/models/figures/ (`--fig-dir`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from scipy import stats

from sim.analysis import plots
from sim.analysis.notebook import save_figure

ROOT = Path(__file__).resolve().parents[1]


def load(dirs: list[str]) -> pd.DataFrame:
    runs = pd.concat([pd.read_parquet(Path(d) / "runs.parquet") for d in dirs], ignore_index=True)
    dup = runs.duplicated(["point", "seed"])
    if dup.any():
        raise SystemExit(f"{int(dup.sum())} runs appear twice (same point and seed): pool distinct seeds")
    return runs


def ci(x: pd.Series) -> str:
    x = x.dropna()
    n = len(x)
    if n == 0:
        return "NaN"
    h = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return f"{x.mean():.4g} ± {h:.2g}"


def table(runs: pd.DataFrame, keys: list[str], cols: list[str], spread: str) -> str:
    head = [*keys, "n", *cols, f"{spread} min / max"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, g in runs.groupby(keys):
        k = k if isinstance(k, tuple) else (k,)
        row = [str(v) for v in k] + [str(len(g))] + [ci(g[c]) for c in cols]
        row.append(f"{g[spread].min():.4g} / {g[spread].max():.4g}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def apply_interval(runs: pd.DataFrame, fig_dir: Path) -> None:
    cols = [
        "monthly_cost_usd",
        "monthly_cost_compute_usd",
        "rto_latest_s",
        "rto_past_s",
        "recovery_point_gap_s",
        "recovery_phase_s",
        "apply_duration_mean_s",
    ]
    print(table(runs, ["params.variant", "params.apply_interval"], cols, "rto_latest_s"))
    bad = runs[["invariant_violations", "recoveries_unfinished", "past_points_not_recoverable"]].sum()
    print("\ntotals over all runs:", bad.to_dict())
    # the notebook's panels (notebooks/build_cdp_streams.py)
    fig = plots.metric_vs_param(
        runs,
        ["monthly_cost_usd", "rto_latest_s", "recovery_point_gap_s"],
        "params.apply_interval",
        "params.variant",
    )
    save_figure(fig, fig_dir, "cdp_apply_interval")


def journal_size(runs: pd.DataFrame, fig_dir: Path) -> None:
    cols = [
        "journal_window_min_s",
        "journal_window_mean_s",
        "storage_journal_bytes",
        "journal_checkpoints_dropped",
        "journal_full_alerts",
        "journal_writes_refused",
        "past_points_recovered",
        "past_points_not_recoverable",
        "rto_past_s",
        "monthly_cost_usd",
    ]
    print(table(runs, ["params.journal.capacity"], cols, "journal_window_mean_s"))
    print("\ninvariant violations:", int(runs["invariant_violations"].sum()))
    fig = plots.metric_vs_param(
        runs,
        ["journal_window_mean_s", "past_points_not_recoverable"],
        "params.journal.capacity",
        logx=False,
        logy=False,
    )
    save_figure(fig, fig_dir, "cdp_journal_size")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=["apply-interval", "journal-size"])
    ap.add_argument("dirs", nargs="+", help="sweep directories (runs.parquet)")
    ap.add_argument("--fig-dir", default=str(ROOT / "docs/models/figures"))
    a = ap.parse_args()
    runs = load(a.dirs)
    (apply_interval if a.which == "apply-interval" else journal_size)(runs, Path(a.fig_dir))


if __name__ == "__main__":
    main()
