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


X_US = "apply_cost per redone write record (us)"
APPLY_COSTS = [0.0, 1e-6, 2.2e-6, 4.4e-6, 6.8e-6, 8.8e-6, 11.7e-6, 17.6e-6]


def apply_cost_figure(head: pd.DataFrame, measured: pd.DataFrame | None, out: Path) -> None:
    """Recovery time against apply_cost, from the headline runs.

    `apply_cost` only adds a timeout of apply_cost x (redone write records) after restart recovery's
    reads, and nothing before the crash depends on it (common random numbers), so each headline
    run's restart recovery at another cost is exact: its time - (8.8 us - cost) x 4 x replayed_txns
    (4 writes per transaction). Runs of scenarios/kv_recovery_apply_cost.yaml, where present, check it.
    """
    base = 8.8e-6
    wpt = 4
    if measured is not None:
        ref = head[head["params.variant"] == "fast_restart"].set_index("seed")
        for _, r in measured.iterrows():
            want = ref.loc[r["seed"], "restart_recovery_s"] - (base - r["params.apply_cost"]) * wpt * ref.loc[
                r["seed"], "replayed_txns"]
            assert abs(want - r["restart_recovery_s"]) < 1e-9, (r["seed"], want, r["restart_recovery_s"])
            print(f"apply_cost {r['params.apply_cost']:.3g} s seed {r['seed']}: measured {r['restart_recovery_s']:.6f} s"
                  f" = derived {want:.6f} s")
    rows = []
    for c in APPLY_COSTS:
        d = head[head["params.variant"] != "no_replicas"].copy()
        delta = (base - c) * wpt * d["replayed_txns"]
        d["restart_recovery_s"] -= delta
        d["recovery_time_s"] -= delta
        d["params.apply_cost"] = c
        d[X_US] = c * 1e6
        rows.append(d)
    df = pd.concat(rows, ignore_index=True)
    print(table(df, ["params.variant", "params.apply_cost"], ["restart_recovery_s"]))
    fig = plots.metric_vs_param(df, ["restart_recovery_s"], X_US, hue="params.variant",
                                logx=False, logy=False)
    for ax in fig.axes[:1]:
        ax.axvspan(6.8, 11.7, color="grey", alpha=0.15, label="RocksDB replay measured (20k-300k records)")
        ax.axvline(8.8, color="grey", ls=":", label="default 8.8 us")
        ax.legend(fontsize="small")
    save(fig, out, "kv_recovery_apply_cost")


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
    if head is not None:
        apply_cost_figure(head, runs(root, "kv_recovery_apply_cost"), out)
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
