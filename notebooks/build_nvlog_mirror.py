"""The figures and tables of docs/models/nvlog_mirror.md that come from sweeps (issue 14).

Runs the three sweeps and writes `docs/models/figures/nvlog_*.png` and a text summary to stdout:
- `scenarios/nvlog_sweep.yaml`: deadlock probability (Wilson 95 % band), throughput before the
  deadlock, and the Kaplan–Meier survival of the time to deadlock (runs that never deadlocked
  censored at the duration) against send-queue slots, per offered load;
- `scenarios/nvlog_apply_sweep.yaml`: posted, reserved and total send-queue occupancy, RNR NAKs and
  throughput against the partner's apply cost;
- `scenarios/nvlog_cp_sweep.yaml`: throughput and NVLog back-pressure against the CP flush
  bandwidth, per NVRAM size.
The notebook `notebooks/nvlog_mirror.ipynb` is written by `build_notebooks.py`; this script only
makes the doc's figures.

    PYTHONPATH=$PWD python notebooks/build_nvlog_mirror.py [--only deadlock,apply,cp] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import sim  # noqa: E402
from sim.systems.nvlog_mirror.survival import kaplan_meier, median_survival  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "docs" / "models" / "figures"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


def ci(v) -> tuple[float, float]:
    v = np.asarray(v, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return (float(v.mean()) if len(v) else math.nan), math.nan
    return float(v.mean()), float(1.96 * v.std(ddof=1) / math.sqrt(len(v)))


CACHE = ROOT / "results" / "nvlog_mirror_figures"


def run(name: str, workers: int):
    """The sweep's runs (cached as results/nvlog_mirror_figures/<name>.parquet; delete it to re-run)."""
    cached = CACHE / f"{name}.parquet"
    if cached.exists():
        import pandas as pd

        return pd.read_parquet(cached)
    runs = sim.sweep(ROOT / "scenarios" / f"{name}.yaml", executor="processes", workers=workers, progress=False)
    bad = runs["error"].dropna()
    assert bad.empty, bad.iloc[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    runs.to_parquet(cached)
    return runs


def deadlock_figure(workers: int) -> None:
    runs = run("nvlog_sweep", workers)
    duration = 0.1  # the scenario's duration: the censoring time of runs that never deadlocked
    rates = sorted(runs["workload.rate"].unique())
    slots = sorted(runs["params.send_queue_slots"].unique())
    fig, ax = plt.subplots(3, len(rates), figsize=(4.2 * len(rates), 10), squeeze=False)
    print("deadlock sweep: point, n, deadlocked, throughput_before_deadlock (mean +- 95%), KM median time to deadlock")
    for j, rate in enumerate(rates):
        for resv, colour in ((False, "tab:red"), (True, "tab:blue")):
            sub = runs[(runs["workload.rate"] == rate) & (runs["params.reservation"] == resv)]
            p, lo, hi, thr, thr_h = [], [], [], [], []
            for s in slots:
                g = sub[sub["params.send_queue_slots"] == s]
                k, n = int(g["deadlocked"].sum()), len(g)
                a, b = wilson(k, n)
                p.append(k / n)
                lo.append(a)
                hi.append(b)
                m, h = ci(g["throughput_before_deadlock_ops_s"])
                thr.append(m)
                thr_h.append(h)
                t = g["time_to_deadlock_s"].fillna(duration).to_numpy()
                km = kaplan_meier(t, g["deadlocked"].astype(bool).to_numpy())
                print(f"  rate {rate:.0f} slots {s} reservation {resv}: n={n} deadlocked {k}/{n} "
                      f"thr_before {m:.0f} +- {h:.0f} KM median {median_survival(km)}")
                if not resv:  # drawn to the censoring time: S stays at its last value until 100 ms
                    tt = np.append(km["t"].to_numpy(), duration) * 1e3
                    ax[2][j].step(tt, np.append(km["survival"].to_numpy(), km["survival"].iloc[-1]), where="post",
                                  label=f"{s} slots (n={n}, {k} deadlocked)")
                    ax[2][j].fill_between(tt, np.append(km["lo"].to_numpy(), km["lo"].iloc[-1]),
                                          np.append(km["hi"].to_numpy(), km["hi"].iloc[-1]), step="post", alpha=0.12)
            label = f"reservation {'on' if resv else 'off'} (n={len(sub) // len(slots)} per point)"
            ax[0][j].plot(slots, p, "o-", color=colour, label=label)
            ax[0][j].fill_between(slots, lo, hi, color=colour, alpha=0.2)
            ax[1][j].errorbar(slots, np.array(thr) / 1e3, yerr=np.array(thr_h) / 1e3, fmt="o-", color=colour,
                              label=label, capsize=3)
        ax[0][j].set_title(f"offered {rate / 1e3:.0f}k writes/s")
        ax[0][j].set_ylabel("P(deadlock within 100 ms)")
        ax[1][j].set_ylabel("throughput before the deadlock (k/s)")
        ax[2][j].set_ylabel("baseline: P(no deadlock by t), Kaplan–Meier")
        ax[2][j].set_xlabel("t (ms; runs without a deadlock censored at 100 ms)")
        for i in (0, 1):
            ax[i][j].set_xlabel("send-queue slots")
            ax[i][j].set_xscale("log", base=2)
        ax[0][j].legend(fontsize=7)
        ax[2][j].legend(fontsize=7)
        ax[2][j].set_ylim(-0.02, 1.02)
    fig.tight_layout()
    fig.savefig(FIG / "nvlog_sweep.png", dpi=110)
    resv_dl = int(runs.loc[runs["params.reservation"], "deadlocked"].sum())
    resv_st = int(runs.loc[runs["params.reservation"], "stalled"].sum()) if "stalled" in runs else 0
    print(f"  reservation: {resv_dl} deadlocked, {resv_st} stalled of {int(runs['params.reservation'].sum())} runs")


def apply_figure(workers: int) -> None:
    runs = run("nvlog_apply_sweep", workers)
    costs = sorted(runs["params.partner_apply_cost"].unique())
    cols = ["send_queue_posted_mean", "send_queue_reserved_mean", "send_queue_occupancy_mean"]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    x = np.array(costs) * 1e6
    n = runs.groupby("point")["replication"].nunique().min()
    print("apply-cost sweep (n =", n, "per point):")
    for c in cols:
        m = [ci(runs[runs["params.partner_apply_cost"] == a][c]) for a in costs]
        ax[0].errorbar(x, [v[0] for v in m], yerr=[v[1] for v in m], fmt="o-", capsize=3,
                       label=c.replace("send_queue_", "").replace("_mean", ""))
    ax[0].axhline(15, color="grey", ls=":", label="usable slots (16, 3 per write)")
    ax[0].set_ylabel(f"send-queue slots, time average (n={n})")
    for a in costs:
        g = runs[runs["params.partner_apply_cost"] == a]
        print(f"  apply {a * 1e6:.1f} us: " + ", ".join(f"{c} {ci(g[c])[0]:.3g} +- {ci(g[c])[1]:.2g}" for c in
                                                       cols + ["throughput_ops_s", "rnr_naks", "write_latency_p99_s"]))
    thr = [ci(runs[runs["params.partner_apply_cost"] == a]["throughput_ops_s"]) for a in costs]
    ax[1].errorbar(x, [v[0] / 1e3 for v in thr], yerr=[v[1] / 1e3 for v in thr], fmt="o-", capsize=3, label="model")
    cap = [min(600.0, 1e-3 / (a + 62e-9 + 4096 / 12.5e9)) for a in costs]
    ax[1].plot(x, cap, "k--", label="min(offered, 1 / apply time)")
    ax[1].set_ylabel("throughput (k writes/s)")
    rnr = [ci(runs[runs["params.partner_apply_cost"] == a]["rnr_naks"]) for a in costs]
    ax[2].errorbar(x, [v[0] for v in rnr], yerr=[v[1] for v in rnr], fmt="o-", capsize=3)
    ax[2].set_ylabel("RNR NAKs per run")
    for a_ in ax:
        a_.set_xlabel("partner apply cost (us per entry)")
        a_.legend(fontsize=7) if a_ is not ax[2] else None
    fig.tight_layout()
    fig.savefig(FIG / "nvlog_apply_cost.png", dpi=110)


def cp_figure(workers: int) -> None:
    runs = run("nvlog_cp_sweep", workers)
    sizes = sorted(runs["params.nvram_size"].unique())
    bws = sorted(runs["params.cp_flush_bandwidth"].unique())
    n = runs.groupby("point")["replication"].nunique().min()
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    print("CP sweep (n =", n, "per point):")
    for size in sizes:
        thr, waits = [], []
        for bw in bws:
            g = runs[(runs["params.nvram_size"] == size) & (runs["params.cp_flush_bandwidth"] == bw)]
            thr.append(ci(g["throughput_ops_s"]))
            waits.append(ci(g["nvlog_backpressure_wait_mean_s"]))
            print(f"  nvram {size / 2**20:.0f} MiB flush {bw / 1e9:.0f} GB/s: throughput {thr[-1][0]:.0f} +- "
                  f"{thr[-1][1]:.0f}, waits {ci(g['nvlog_backpressure_waits'])[0]:.0f}, wait mean "
                  f"{waits[-1][0]}, CPs {ci(g['consistency_points'])[0]:.1f}, violations "
                  f"{int(g['invariant_violations'].sum())}")
        lbl = f"NVRAM {size / 2**20:.0f} MiB (halves {size / 2**22:.0f} MiB)"
        ax[0].errorbar(np.array(bws) / 1e9, [v[0] / 1e3 for v in thr], yerr=[v[1] / 1e3 for v in thr], fmt="o-",
                       capsize=3, label=lbl)
        ax[1].errorbar(np.array(bws) / 1e9, [v[0] * 1e3 if v[0] == v[0] else 0 for v in waits],
                       yerr=[(v[1] * 1e3 if v[1] == v[1] else 0) for v in waits], fmt="o-", capsize=3, label=lbl)
    ax[0].plot(np.array(bws) / 1e9, [min(600, b / 4160 / 1e3) for b in bws], "k--", label="min(offered, flush / entry)")
    ax[0].set_ylabel(f"throughput (k writes/s, n={n})")
    ax[1].set_ylabel("back-pressure wait of an append, mean (ms)")
    for a_ in ax:
        a_.set_xlabel("CP flush bandwidth (GB/s); offered log rate 2.5 GB/s")
        a_.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(FIG / "nvlog_cp_backpressure.png", dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="deadlock,apply,cp")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    FIG.mkdir(parents=True, exist_ok=True)
    todo = {"deadlock": deadlock_figure, "apply": apply_figure, "cp": cp_figure}
    for name in args.only.split(","):
        todo[name](args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
