"""Tables (mean and 95 % Student-t CI per point) and figures of the ransomware_recovery sweeps.

    python -m sim sweep scenarios/ransomware_degraded_load.yaml --workers 2 --out DIR
    python benchmarks/ransomware_sweep_figures.py degraded DIR [docs/models/figures/ransomware_recovery_degraded_load.png]
    python -m sim sweep scenarios/ransomware_sweep.yaml --workers 2 --out DIR1 [--set replications=1]
    python benchmarks/ransomware_sweep_figures.py sweep DIR1 [DIR2 ...] [--fig docs/models/figures/ransomware_recovery_sweep.png]

Several sweep directories (e.g. the replications run separately with `--seed`) are pooled.
Prints Markdown tables; nothing is asserted.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script writing a file, not a notebook

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402


def load(dirs: list[Path]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(d / "runs.parquet") for d in dirs], ignore_index=True)


def ci(x: np.ndarray) -> tuple[float, float, int]:
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    return float(x.mean()), float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)), n


def fmt(mu: float, hw: float, scale: float = 1.0, digits: int = 3) -> str:
    if math.isnan(mu):
        return "n/a"
    if math.isnan(hw):
        return f"{mu * scale:.{digits}g}"
    return f"{mu * scale:.{digits}g} ± {hw * scale:.2g}"


def load_label(row: pd.Series) -> str:
    hdd = float(row.get("params.probe_window", 0)) >= 1.0  # the HDD points (1 s window, 100 writes/s)
    readers = int(row["params.probe_readers"])
    threads = int(row.get("params.vault_threads", 1))
    if hdd:
        return f"{readers} readers, 1 thread, HDD vault"
    return f"{readers} readers, {threads} thread{'s' if threads > 1 else ''}"


def degraded(args: list[str]) -> None:
    runs = load([Path(args[0])])
    runs["load"] = runs.apply(load_label, axis=1)
    runs["cf"] = runs["params.critical_fraction"].astype(float)
    order = list(dict.fromkeys(runs.sort_values("point")["load"]))
    print(
        "| load | critical fraction | `degraded_throughput_ops_s` | `degraded_read_latency_p99_s` (ms) | "
        "mean (ms) | n | violations |"
    )
    print("|---|---|---|---|---|---|---|")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for label in order:
        g = runs[runs["load"] == label]
        xs, thr, thr_hw, p99, p99_hw = [], [], [], [], []
        for cf, h in g.groupby("cf"):
            t = ci(h["degraded_throughput_ops_s"].to_numpy(float))
            p = ci(h["degraded_read_latency_p99_s"].to_numpy(float))
            m = ci(h["degraded_read_latency_mean_s"].to_numpy(float))
            v = int(h["invariant_violations"].sum())
            print(
                f"| {label} | 1/{round(1 / cf)} | {fmt(*t[:2])} | {fmt(*p[:2], 1e3)} | {fmt(*m[:2], 1e3)} | "
                f"{t[2]} | {v} |"
            )
            xs.append(cf)
            thr.append(t[0])
            thr_hw.append(0 if math.isnan(t[1]) else t[1])
            p99.append(p[0] * 1e3)
            p99_hw.append(0 if math.isnan(p[1]) else p[1] * 1e3)
        axes[0].errorbar(xs, thr, yerr=thr_hw, marker="o", capsize=3, label=label)
        axes[1].errorbar(xs, p99, yerr=p99_hw, marker="o", capsize=3, label=label)
    for ax, title in zip(axes, ("degraded reads/s", "degraded read p99 (ms)"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("critical fraction")
        ax.set_title(title)
    axes[0].legend(fontsize=7)
    fig.suptitle("ransomware_degraded_load: mean and 95 % CI over 5 replications", fontsize=9)
    fig.tight_layout()
    if len(args) > 1:
        fig.savefig(args[1], dpi=120)
        print(f"figure: {args[1]}")


SWEEP_METRICS = [
    ("time_to_resume_s", 1.0),
    ("time_to_full_restore_s", 1.0),
    ("records_lost", 1.0),
    ("records_wrong", 1.0),
    ("storage_overhead_ratio", 1.0),
    ("degraded_read_latency_p99_s", 1e3),
    ("degraded_throughput_ops_s", 1.0),
    ("records_encrypted", 1.0),
]


def sweep(args: list[str]) -> None:
    fig_path = None
    if "--fig" in args:
        i = args.index("--fig")
        fig_path = args[i + 1]
        args = args[:i] + args[i + 2 :]
    runs = load([Path(a) for a in args])
    runs["delay_min"] = (runs["params.detection_delay"].astype(float) / 60).round(1)
    runs["records_M"] = runs["params.files"].astype(int) * 10_000 / 1e6
    runs["cf"] = runs["params.critical_fraction"].astype(float)
    keys = ["params.variant", "records_M", "delay_min"]
    print(
        f"runs {len(runs)}, errors {int(runs['error'].notna().sum())}, "
        f"violations {int(runs['invariant_violations'].sum())}"
    )
    # losses and times do not depend on the critical fraction for the baselines: pooled over it
    base = SWEEP_METRICS[:4] + SWEEP_METRICS[7:]
    print("\n| variant | records | detection delay | " + " | ".join(f"`{m}`" for m, _ in base) + " | n |")
    print("|---|---|---|" + "---|" * (len(base) + 1))
    for (v, size, delay), g in runs.groupby(keys):
        cells = [fmt(*ci(g[m].to_numpy(float))[:2], s) for m, s in base]
        print(f"| {v} | {size:g} M | {delay:g} min | " + " | ".join(cells) + f" | {len(g)} |")
    split = runs[runs["params.variant"] == "split_backup"]
    print(
        "\n| critical fraction | records | `storage_overhead_ratio` | `degraded_read_latency_p99_s` (ms) | "
        "`degraded_throughput_ops_s` | n |"
    )
    print("|---|---|---|---|---|---|")
    for (cf, size), g in split.groupby(["cf", "records_M"]):
        cells = [fmt(*ci(g[m].to_numpy(float))[:2], s) for m, s in SWEEP_METRICS[4:7]]
        print(f"| 1/{round(1 / cf)} | {size:g} M | " + " | ".join(cells) + f" | {len(g)} |")
    if fig_path:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        for (v, size), g in runs.groupby(["params.variant", "records_M"]):
            xs, lost, lost_hw = [], [], []
            for delay, h in g.groupby("delay_min"):
                mu, hw, _ = ci(h["records_lost"].to_numpy(float))
                xs.append(delay)
                lost.append(max(mu, 0.5))  # log axis: 0 drawn at 0.5
                lost_hw.append(0 if math.isnan(hw) else hw)
            axes[0].errorbar(xs, lost, yerr=lost_hw, marker="o", capsize=3, label=f"{v}, {size:g} M")
            mu = [ci(h["time_to_resume_s"].to_numpy(float)) for _, h in g.groupby("delay_min")]
            axes[1].errorbar(
                xs,
                [m[0] for m in mu],
                yerr=[0 if math.isnan(m[1]) else m[1] for m in mu],
                marker="o",
                capsize=3,
                label=f"{v}, {size:g} M",
            )
        for size, g in split.groupby("records_M"):
            mu = [ci(h["degraded_throughput_ops_s"].to_numpy(float)) for _, h in g.groupby("cf")]
            axes[2].errorbar(
                sorted(g["cf"].unique()),
                [m[0] for m in mu],
                yerr=[0 if math.isnan(m[1]) else m[1] for m in mu],
                marker="o",
                capsize=3,
                label=f"split_backup, {size:g} M",
            )
        axes[0].set(
            xscale="log", yscale="log", xlabel="detection delay (min)", title="records_lost (0 drawn at 0.5)"
        )
        axes[1].set(xscale="log", yscale="log", xlabel="detection delay (min)", title="time_to_resume_s")
        axes[2].set(xscale="log", xlabel="critical fraction", title="degraded_throughput_ops_s")
        axes[2].set_xscale("log", base=2)
        for ax in axes:
            ax.legend(fontsize=6)
        fig.suptitle(
            "ransomware_sweep: mean and 95 % CI over replications (pooled over the critical fraction "
            "in the first two panels)",
            fontsize=9,
        )
        fig.tight_layout()
        fig.savefig(fig_path, dpi=120)
        print(f"figure: {fig_path}")


if __name__ == "__main__":
    {"degraded": degraded, "sweep": sweep}[sys.argv[1]](sys.argv[2:])
