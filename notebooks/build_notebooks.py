"""Write notebooks/00_quickstart.ipynb and notebooks/nvlog_mirror.ipynb (outputs stripped).

    python notebooks/build_notebooks.py

The notebooks are generated from the cells below so that they stay reviewable as code; edit this
file, not the .ipynb. Each notebook has a cell tagged `parameters` (papermill convention): SIZE
"small" is what CI runs (tests/test_notebooks.py injects SIZE from SIM_NOTEBOOK_SIZE, default
small, also the default when the notebook is opened), "full" runs the scenario files as written and
refreshes the figures in docs/.
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, write_notebook

HERE = Path(__file__).resolve().parent

SETUP_NOTE = """The notebook finds the repository from the working directory (repo root or `notebooks/`),
so scenario paths are resolved with `repo_path(...)`."""

QUICKSTART = [
    ("md", """# Quickstart: run a scenario, load its results, plot them

This notebook walks through the whole loop on the NVLog mirroring model (`nvlog_mirror`):
load and run a scenario, load the result directory into tidy DataFrames, get confidence intervals
across replications, compare two variants with common random numbers, and draw the standard figures.

The same steps from the shell:

```
python -m sim run scenarios/nvlog_reservation.yaml --out results/quickstart
python -m sim plot results/quickstart                  # figures beside the results
python -m sim report results/quickstart                # self-contained HTML report
```
""" + SETUP_NOTE),
    ("params", parameters_source(out_dir_note="results/notebooks/quickstart under the repo")),
    ("code", """%matplotlib inline
from pathlib import Path

import pandas as pd

import sim
from sim.analysis import load, plots, stats
from sim.analysis.notebook import repo_path

pd.set_option("display.width", 160)
SCENARIO = repo_path("scenarios", "nvlog_reservation.yaml")
SIZES = {
    "small": {"duration": "10ms", "warmup": "1ms", "replications": 3},
    "full": {},  # the scenario file's own duration and replications
}
cfg = SIZES[SIZE]
out = Path(OUT_DIR) if OUT_DIR else repo_path("results", "notebooks", "quickstart")
print("scenario:", SCENARIO, "| size:", SIZE, "| results under:", out)"""),
    ("md", """## 1. The scenario

A scenario file is the experiment: system, parameters (with units), workload, faults, duration and
replications. Loading validates it and resolves every quantity to SI units."""),
    ("code", """scenario = sim.load_scenario(SCENARIO)
print(scenario.resolved["description"])
pd.Series(scenario.resolved["params"])"""),
    ("md", """## 2. Run it

`sim.run` runs the replications (replication r uses seed `seed + r`) and, given `out`, writes
`manifest.json`, `metrics.parquet` and — because we ask for a time series of the model's probes —
`timeseries.parquet`. Keyword arguments override scenario keys (`params__workers=4`)."""),
    ("code", """result = sim.run(SCENARIO, out=out / "reservation", timeseries={"interval": "20us"}, **cfg)
result.metrics[["replication", "seed", "throughput_ops_s", "write_latency_p99_s", "deadlocked"]]"""),
    ("md", """## 3. Load results as tidy DataFrames

`load(dir)` reads a run or sweep directory (or several) into a `ResultSet`: `runs` has one row per
replication with the scenario's parameters joined in as columns (`params.send_queue_slots`,
`workload.rate`), `timeseries` and `events` (faults, recoveries, deadlocks) alongside."""),
    ("code", """rs = load(out / "reservation")
print("metrics:", ", ".join(rs.metrics))
rs.runs[["result", "replication", "seed", "params.send_queue_slots", "workload.rate", "throughput_ops_s"]]"""),
    ("md", """## 4. Confidence intervals

`rs.summary()` gives mean, standard deviation, n and the Student-t 95% interval of every metric
across replications; `stats.t_interval` does it for one column."""),
    ("code", """summary = rs.summary(metrics=["throughput_ops_s", "write_latency_mean_s", "write_latency_p99_s",
                             "send_queue_occupancy_mean", "deadlocked"])
summary"""),
    ("code", """ci = stats.t_interval(rs.runs["write_latency_mean_s"])
print(f"mean write latency {ci.mean * 1e6:.3f} us, 95% CI [{ci.low * 1e6:.3f}, {ci.high * 1e6:.3f}] us (n={ci.n})")"""),
    ("md", """## 5. Compare two variants with common random numbers

Running the baseline (no send-queue reservation) with the same seeds pairs every replication with
its counterpart: `stats.compare_variants` takes the t interval of the per-seed differences, which
is much narrower than the unpaired (Welch) interval when the variants share their randomness."""),
    ("code", """baseline = sim.run(SCENARIO, out=out / "no_reservation", params__reservation=False,
                   timeseries={"interval": "20us"}, **cfg)
both = load([out / "no_reservation", out / "reservation"])
stats.compare_variants(both.runs, "params.reservation", False, True,
                       ["throughput_ops_s", "write_latency_mean_s", "deadlocked"])[
    ["metric", "mean_a", "mean_b", "diff", "half_width", "unpaired_half_width", "p_value", "n_pairs"]]"""),
    ("md", """## 6. Figures

Every plotting function returns a matplotlib Figure (units on the axes come from the metric-name
suffix: `_s`, `_bytes`, `_ops_s`, `_usd`); `plots.save(fig, stem)` writes PNG and SVG."""),
    ("code", """plots.metric_by_variant(both.runs, ["throughput_ops_s", "write_latency_mean_s", "deadlocked"], "result")"""),
    ("code", """# the baseline's timeline: queue occupancy and completions until the deadlock (dashed lines)
print(both.results)  # the same scenario twice: results are labelled by directory name
base = both.runs[both.runs["result"] == "no_reservation"]
longest = int(base.loc[base["time_to_deadlock_s"].idxmax(), "replication"])
plots.timeline(both.timeseries, both.events, result="no_reservation", replication=longest)"""),
    ("code", """plots.cdf(rs.timeseries, "send_queue_occupancy", source="time-series samples")"""),
    ("md", """## 7. The standard figures and the report, as the CLI makes them"""),
    ("code", """from sim.cli import main as sim_cli

assert sim_cli(["plot", str(out / "reservation")]) == 0
assert sim_cli(["report", str(out / "no_reservation"), str(out / "reservation"),
                "--out", str(out / "report.html")]) == 0
print("report:", out / "report.html")"""),
]

NVLOG = [
    ("md", """# NVLog mirroring: the send-queue reservation against the baseline deadlock (`nvlog_mirror`)

A storage node logs each client write in its NVLog and mirrors it to its HA partner over an RDMA
queue pair. Write transactions run on a fixed pool of worker threads; completion processing, which
frees send-queue slots, runs on the same pool. In the **baseline** a transaction that finds the
send queue full in its non-suspendable modify phase waits *holding its worker*; when every worker
waits, nobody processes completions and nothing frees a slot: a deadlock. With the **reservation**
the slots are reserved in the suspendable phase (the transaction suspends and gives its worker back
when they are short), so the modify phase never blocks on the queue. See `docs/models/nvlog_mirror.md`.

This notebook reproduces the headline comparison from the scenario files:

1. `nvlog_no_reservation.yaml` vs `nvlog_reservation.yaml`: the same workload and seeds (common
   random numbers), paired differences, and the baseline's timeline up to the deadlock;
2. `nvlog_sweep.yaml`: deadlock probability and throughput against the number of send-queue
   slots, reservation on/off, per offered load, with 95% confidence bands — the figure in
   `docs/models/figures/nvlog_sweep.png` (written when SIZE is "full").
""" + SETUP_NOTE),
    ("params", parameters_source(out_dir_note="results/notebooks/nvlog_mirror under the repo",
                                 extra='''EXECUTOR = "processes"  # sweep executor: "serial", "processes" or "dask"
WORKERS = None  # sweep worker processes (None: all cores)''')),
    ("code", """%matplotlib inline
from pathlib import Path

import pandas as pd

import sim
from sim.analysis import load, plots, stats
from sim.analysis.notebook import repo_path

pd.set_option("display.width", 160)
SIZES = {
    "small": {
        "runs": {"duration": "10ms", "warmup": "1ms", "replications": 3},
        "sweep": {"duration": "10ms", "warmup": "1ms", "replications": 3,
                  "sweep": {"grid": {"params.reservation": [False, True], "params.send_queue_slots": [6, 24],
                                     "workload.rate": ["500k/s"]}}},
    },
    "full": {"runs": {}, "sweep": {}},  # the scenario files as written
}
cfg = SIZES[SIZE]
out = Path(OUT_DIR) if OUT_DIR else repo_path("results", "notebooks", "nvlog_mirror")
SAVE_DOC_FIGURE = SIZE == "full"
VARIANTS = ["nvlog_no_reservation", "nvlog_reservation"]
METRICS = ["deadlocked", "time_to_deadlock_s", "throughput_ops_s", "write_latency_mean_s", "write_latency_p99_s",
           "mirror_lag_mean_s", "suspensions", "invariant_violations"]
print("size:", SIZE, "| results under:", out)"""),
    ("md", """## 1. Reservation on and off, same workload and seeds

Both scenario files share workload, queue, durations and seeds (`nvlog_no_reservation.yaml` extends
`nvlog_reservation.yaml`), so replication r of one is paired with replication r of the other.
We also sample the model's probes for the timeline."""),
    ("code", """for name in VARIANTS:
    sim.run(repo_path("scenarios", f"{name}.yaml"), out=out / name, timeseries={"interval": "10us"}, **cfg["runs"])
rs = load([out / name for name in VARIANTS])
rs.summary(by=["result"], metrics=METRICS).pivot(index="metric", columns="result", values=["mean", "half_width", "n"])"""),
    ("code", """# what must hold: the baseline deadlocks, the reservation never does, and no invariant breaks
base = rs.runs[rs.runs["result"] == "nvlog_no_reservation"]
resv = rs.runs[rs.runs["result"] == "nvlog_reservation"]
assert base["deadlocked"].mean() > 0, "the baseline should deadlock"
assert resv["deadlocked"].sum() == 0, "the reservation must never deadlock"
assert (rs.runs["invariant_violations"] == 0).all()
print(f"baseline: {base['deadlocked'].mean():.0%} of replications deadlocked, "
      f"after {base['time_to_deadlock_s'].mean() * 1e3:.2f} ms on average")"""),
    ("md", """Paired differences (reservation minus baseline) over the common seeds. A deadlock is permanent, so
a deadlocked baseline's throughput is over the whole measured window (warm-up to duration, nothing
acknowledged after the deadlock); its latency covers the writes acknowledged in that window (none,
NaN, when it deadlocked during the warm-up)."""),
    ("code", """stats.compare_variants(rs.runs, "params.reservation", False, True,
                       ["deadlocked", "throughput_ops_s", "write_latency_mean_s", "write_latency_p99_s"])[
    ["metric", "mean_a", "mean_b", "diff", "half_width", "unpaired_half_width", "p_value", "n_pairs"]]"""),
    ("code", """plots.metric_by_variant(rs.runs, ["deadlocked", "throughput_ops_s", "write_latency_mean_s"], "result")"""),
    ("code", """# the baseline replication that lasted longest: send-queue occupancy, run queue and completions
# until the deadlock forms (black dashed line) and is detected at the next check (grey)
longest = int(base.loc[base["time_to_deadlock_s"].idxmax(), "replication"])
plots.timeline(rs.timeseries, rs.events, result="nvlog_no_reservation", replication=longest)"""),
    ("code", """plots.timeline(rs.timeseries, rs.events, result="nvlog_reservation", replication=longest)"""),
    ("md", """## 2. The sweep: where the baseline deadlocks, and what the reservation costs

`nvlog_sweep.yaml` crosses reservation on/off with the send-queue size and the offered load;
replication r uses the same seed at every point. `sim.sweep` runs it on a process pool (or Dask)
and returns the tidy runs; the directory also holds `summary.parquet` with the 95% intervals."""),
    ("code", """runs = sim.sweep(repo_path("scenarios", "nvlog_sweep.yaml"), executor=EXECUTOR, workers=WORKERS,
                 out=out / "sweep", progress=False, overrides=cfg["sweep"])
assert runs["error"].isna().all(), runs["error"].dropna().iloc[0]
sw = load(runs)
print(len(sw.runs), "runs;", "swept:", ", ".join(sw.swept))
sw.summary(metrics=["deadlocked", "throughput_ops_s", "write_latency_p99_s"]).pivot_table(
    index=[c for c in sw.varying()], columns="metric", values="mean")"""),
    ("code", """# qualitative outcome: the reservation never deadlocks; the baseline does at the smallest queue and highest load
assert sw.runs.loc[sw.runs["params.reservation"], "deadlocked"].sum() == 0
worst = sw.runs[(~sw.runs["params.reservation"])
                & (sw.runs["params.send_queue_slots"] == sw.runs["params.send_queue_slots"].min())
                & (sw.runs["workload.rate"] == sw.runs["workload.rate"].max())]
assert worst["deadlocked"].mean() > 0, "the baseline should deadlock with the smallest send queue at the highest load"
assert (sw.runs["invariant_violations"] == 0).all()"""),
    ("md", """### The headline figure

Deadlock probability (Wilson 95% interval: it stays honest when every replication agrees) and
throughput (Student-t 95% interval) against the send-queue size, reservation on and off, one
column per offered load."""),
    ("code", """col = "workload.rate" if sw.runs["workload.rate"].nunique() > 1 else None
n = int(sw.runs.groupby("point")["replication"].nunique().min())
fig = plots.metric_vs_param(sw.runs, ["deadlocked", "throughput_ops_s"], "params.send_queue_slots",
                            "params.reservation", col=col,
                            title="NVLog mirroring: deadlock probability and throughput vs send-queue slots\\n"
                                  f"(reservation on/off{'; columns: offered write rate, ops/s' if col else ''}; mean and "
                                  f"95% CI over {n} replications per point: Wilson for P, Student t for throughput)")
if SAVE_DOC_FIGURE:
    target = repo_path("docs", "models", "figures", "nvlog_sweep.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=150)
    print("wrote", target)
fig"""),
    ("code", """plots.metric_vs_param(sw.runs, ["write_latency_p99_s", "suspensions"], "params.send_queue_slots",
                      "params.reservation", col=col)"""),
    ("md", """## 3. The same from the shell

```
python -m sim sweep scenarios/nvlog_sweep.yaml --out results/nvlog_sweep
python -m sim plot results/nvlog_sweep --metric deadlocked --metric throughput_ops_s \\
    --x send_queue_slots --hue reservation
python -m sim report results/nvlog_sweep
```"""),
    ("code", """from sim.cli import main as sim_cli

assert sim_cli(["report", str(out / "sweep"), "--metric", "deadlocked", "--metric", "throughput_ops_s",
                "--metric", "write_latency_p99_s", "--x", "send_queue_slots", "--hue", "reservation"]) == 0
print("report:", out / "sweep" / "report.html")"""),
]


NOTEBOOKS = {"00_quickstart.ipynb": QUICKSTART, "nvlog_mirror.ipynb": NVLOG}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        write_notebook(cells, HERE / name)


if __name__ == "__main__":
    main()
