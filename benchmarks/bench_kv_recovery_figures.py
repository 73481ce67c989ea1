"""Figures of docs/models/kv_recovery.md (issue 15) from sweep result directories.

    python -m sim sweep scenarios/kv_recovery.yaml --out R/kv_recovery
    python -m sim sweep scenarios/kv_recovery_checkpoints_sweep.yaml --out R/kv_recovery_checkpoints_sweep
    python -m sim sweep scenarios/kv_recovery_apply_cost.yaml --out R/kv_recovery_apply_cost
    python -m sim sweep scenarios/kv_replicas.yaml --out R/kv_replicas
    python benchmarks/bench_kv_recovery_figures.py R [docs/models/figures]

Each figure shows means with 95 % t CI bands over the replications (sim.analysis.plots); a
directory that is missing is skipped. Also prints the tables the doc quotes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats as st

from sim.analysis import plots


def runs(root: Path, name: str) -> pd.DataFrame | None:
    path = root / name / "runs.parquet"
    return pd.read_parquet(path) if path.exists() else None


def table(df: pd.DataFrame, by: list[str], cols: list[str]) -> str:
    """mean ± 95 % t half-width per group."""
    rows = []
    for key, g in df.groupby(by, dropna=False, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        for c in cols:
            a = g[c].to_numpy(float)
            a = a[np.isfinite(a)]
            h = st.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.nan
            row[c] = f"{a.mean():.4g} ± {h:.2g}" if len(a) else "nan"
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


def save(fig, out: Path, name: str) -> None:
    fig.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
    print(f"wrote {out / name}.png")


def main() -> None:
    root = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/models/figures")
    head = runs(root, "kv_recovery")
    if head is not None:
        cols = ["recovery_time_s", "restart_recovery_s", "first_read_s", "read_availability_during_recovery",
                "user_log_replayed_bytes", "write_amplification", "invariant_violations"]
        print(table(head, ["params.variant"], cols))
        save(plots.metric_by_variant(head, ["recovery_time_s", "restart_recovery_s", "first_read_s"],
                                     "params.variant"), out, "kv_headline")
    ck = runs(root, "kv_recovery_checkpoints_sweep")
    if ck is not None:
        ck = ck.copy()
        u = ck["params.user_checkpoint_interval"]
        ck["params.user_checkpoint"] = np.where(u.isna(), "coupled to the mapping checkpoint",
                                                u.map(lambda v: f"every {v:g} s"))
        cols = ["recovery_time_s", "restart_recovery_s", "user_log_replayed_bytes", "system_log_replayed_bytes",
                "checkpoint_bytes_written", "write_amplification", "invariant_violations"]
        print(table(ck, ["params.user_checkpoint", "params.checkpoint_interval"], cols))
        save(plots.metric_vs_param(ck, ["restart_recovery_s", "user_log_replayed_bytes", "write_amplification"],
                                   "params.checkpoint_interval", hue="params.user_checkpoint"),
             out, "kv_recovery_checkpoints")
    ac = runs(root, "kv_recovery_apply_cost")
    if ac is not None:
        cols = ["recovery_time_s", "restart_recovery_s", "first_read_s", "replayed_txns", "saturation_rate_ops_s"]
        print(table(ac, ["params.apply_cost"], cols))
        save(plots.metric_vs_param(ac, ["restart_recovery_s", "recovery_time_s"], "params.apply_cost", logy=False),
             out, "kv_recovery_apply_cost")
    rep = runs(root, "kv_replicas")
    if rep is not None:
        rep = rep.copy()
        rep["params.replicas_follow"] = np.where(rep["params.replica_follow_user_log"], "follow the user log",
                                                 "system log only")
        cols = ["replica_staleness_mean_s", "replica_staleness_p99_s", "replica_reads_checked", "invariant_violations"]
        print(table(rep, ["params.replicas_follow", "params.replica_refresh_interval"], cols))
        save(plots.metric_vs_param(rep, ["replica_staleness_mean_s", "replica_staleness_p99_s"],
                                   "params.replica_refresh_interval", hue="params.replicas_follow", logy=False),
             out, "kv_recovery_staleness")


if __name__ == "__main__":
    main()
