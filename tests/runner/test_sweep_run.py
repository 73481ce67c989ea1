"""Running sweeps: identical results on every executor, resume, failures, adaptive replications, CRN."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

import sim
from sim.cli import main
from sim.runner.executors import SerialExecutor
from sim.runner.sweep import ReplicationPlan, run_sweep, summarize
from sim.scenario import load_scenario
from tests.runner.conftest import TOY

GRID = """\
sweep:
  grid:
    params.servers: [1, 2]
    params.arrival_rate: [30/s, 60/s, 90/s]
"""


def metric_values(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["error"]).reset_index(drop=True)


def test_serial_processes_dask_and_any_executor_give_identical_runs(scenario_file, tmp_path, dask_client):
    path = scenario_file(GRID)
    serial = run_sweep(path, executor="serial", progress=False)
    assert serial.manifest["runs"] == 12 and serial.failed == 0
    assert list(serial.runs.columns[:5]) == ["params.servers", "params.arrival_rate", "point", "replication", "seed"]
    assert serial.runs["params.arrival_rate"].tolist()[:6] == [30.0, 30.0, 60.0, 60.0, 90.0, 90.0]
    procs = run_sweep(path, executor="processes", workers=2, progress=False)
    dask = run_sweep(path, executor=dask_client, progress=False)
    with cf.ThreadPoolExecutor(3) as pool:
        threads = run_sweep(path, executor=pool, progress=False)
    for other in (procs, dask, threads):
        pd.testing.assert_frame_equal(metric_values(serial.runs), metric_values(other.runs))
        pd.testing.assert_frame_equal(serial.summary, other.summary)
    # the CLI against an existing scheduler writes the same runs.parquet
    out = tmp_path / "dask_cli"
    assert main(["sweep", str(path), "--scheduler", dask_client.scheduler.address, "--out", str(out),
                 "--no-progress"]) == 0
    pd.testing.assert_frame_equal(metric_values(pd.read_parquet(out / "runs.parquet")), metric_values(serial.runs))
    assert json.loads((out / "manifest.json").read_text())["executor"].startswith("dask")


def test_python_api_returns_the_tidy_frame_and_leaves_multiprocessing_alone(scenario_file):
    before = multiprocessing.get_start_method(allow_none=True)
    df = sim.sweep(scenario_file(GRID), executor="processes", workers=2, progress=False)
    # no global start-method change (the stdlib's spawn code may pin the platform default, never spawn)
    assert multiprocessing.get_start_method(allow_none=True) in (before, multiprocessing.get_all_start_methods()[0])
    assert len(df) == 12 and df.attrs["runs_failed"] == 0 and df.attrs["out_dir"] is None
    assert {"sojourn_mean_s", "deadlocked", "utilization"} <= set(df.columns)


def test_common_random_numbers_and_replay_from_seed(scenario_file):
    path = scenario_file(GRID)
    res = run_sweep(path, executor="serial", progress=False)
    runs = res.runs
    # replication r has the same seed (seed + r) at every point
    assert runs.groupby("replication")["seed"].unique().map(list).to_dict() == {0: [11], 1: [12]}
    # and any row replays exactly with `sim run` at its point and seed
    row = runs.iloc[7]
    again = sim.run(path, seed=int(row["seed"]), replications=1, params__servers=int(row["params.servers"]),
                    params__arrival_rate=float(row["params.arrival_rate"])).metrics.iloc[0]
    for m in ("sojourn_mean_s", "completed", "utilization"):
        assert again[m] == row[m]
    # common random numbers: the arrival stream is shared, so at equal load one server more can only help
    one = runs[runs["params.servers"] == 1].set_index(["params.arrival_rate", "replication"])
    two = runs[runs["params.servers"] == 2].set_index(["params.arrival_rate", "replication"])
    assert (two["sojourn_mean_s"] <= one["sojourn_mean_s"] + 1e-12).all()


def test_summary_has_t_confidence_intervals(scenario_file, tmp_path):
    out = tmp_path / "o"
    res = run_sweep(scenario_file(GRID, base=TOY.replace("replications: 2", "replications: 4")), executor="serial",
                    out=out, progress=False)
    s = pd.read_parquet(out / "summary.parquet")
    assert list(s.columns[:3]) == ["point", "params.servers", "params.arrival_rate"]
    assert {"metric", "n", "mean", "std", "ci95_half_width", "ci95_low", "ci95_high"} <= set(s.columns)
    row = s[(s["point"] == 3) & (s["metric"] == "sojourn_mean_s")].iloc[0]
    vals = res.runs.loc[res.runs["point"] == 3, "sojourn_mean_s"].to_numpy()
    assert row["n"] == len(vals) == 4
    assert math.isclose(row["mean"], vals.mean())
    hw = stats.t.ppf(0.975, len(vals) - 1) * vals.std(ddof=1) / math.sqrt(len(vals))
    assert math.isclose(row["ci95_half_width"], hw)
    # a metric undefined in every run (no deadlock -> NaN) has n = 0, not a fake interval
    ttd = s[s["metric"] == "time_to_deadlock_s"]
    assert (ttd["n"] == 0).all() and ttd["mean"].isna().all()
    pd.testing.assert_frame_equal(s, summarize(pd.read_parquet(out / "runs.parquet"),
                                               ["params.servers", "params.arrival_rate"]))
    man = json.loads((out / "manifest.json").read_text())
    assert man["sweep"]["parameters"] == ["params.servers", "params.arrival_rate"]
    assert man["complete"] and man["runs"] == 24 and man["scenario"]["name"] == "toy_sweep"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_rerun_into_same_out_skips_finished_runs_and_resume_fills_gaps(scenario_file, tmp_path, dask_client):
    path = scenario_file(GRID)
    out = tmp_path / "o"
    full = run_sweep(path, executor="serial", out=out, progress=False)
    assert full.manifest["runs_executed"] == 12
    # simulate an interruption: the last 5 finished runs never made it to the journal
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:7]) + lines[7][:20])  # and a line torn mid-write
    (out / "runs.parquet").unlink()
    again = run_sweep(path, executor=dask_client, out=out, resume=True, progress=False)
    assert (again.manifest["runs_executed"], again.manifest["runs_reused"]) == (5, 7)
    pd.testing.assert_frame_equal(metric_values(again.runs), metric_values(full.runs))
    assert len(journal.read_bytes().splitlines()) == 12  # torn line cut, 5 appended
    third = run_sweep(path, executor="serial", out=out, progress=False)
    assert (third.manifest["runs_executed"], third.manifest["runs_reused"]) == (0, 12)
    # a changed parameter is a different configuration: only its points run again
    changed = run_sweep(path, executor="serial", out=out, progress=False, overrides={"params.mean_service": "5ms"})
    assert changed.manifest["runs_executed"] == 12
    more = run_sweep(scenario_file(GRID.replace("[1, 2]", "[1, 2, 3]")), executor="serial", out=out, progress=False)
    assert (more.manifest["runs_executed"], more.manifest["runs_reused"]) == (6, 12)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:  # not Linux: nothing to check
        return []


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_resume_after_kill_reruns_only_missing_runs(scenario_file, tmp_path, root):
    # 8 runs of ~0.1 s each (2000 arrivals), so the kill lands in the middle of the sweep
    path = scenario_file(GRID.replace("[30/s, 60/s, 90/s]", "[20/s, 40/s]"),
                         base=TOY.replace("duration: 2s", "duration: 50s"))
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "sim", "sweep", str(path), "--executor", "processes", "--workers", "2",
           "--out", str(out), "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.005)
    workers = children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    done = journal.read_bytes().count(b"\n")
    # the pool's workers notice their parent is gone and exit (no orphans left computing)
    deadline = time.monotonic() + 15
    while workers and time.monotonic() < deadline:
        workers = [w for w in workers if alive(w)]
        time.sleep(0.05)
    for w in workers:
        os.kill(w, signal.SIGKILL)
    assert not workers, "pool workers outlived the killed sweep"
    assert 2 <= done < 8, "the sweep finished before it could be killed"
    assert not (out / "manifest.json").exists()
    res = subprocess.run(cmd + ["--resume"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["runs"] == 8 and man["complete"]
    assert (man["runs_reused"], man["runs_executed"]) == (done, 8 - done)
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs[["point", "replication"]].drop_duplicates().shape[0] == 8 and runs["error"].isna().all()


def test_failing_runs_are_recorded_and_the_sweep_goes_on(scenario_file, tmp_path, capsys, dask_client):
    path = scenario_file("sweep:\n  grid:\n    params.fail_after: [0, 20]\n    params.servers: [1, 2]\n")
    out = tmp_path / "o"
    assert main(["sweep", str(path), "--scheduler", dask_client.scheduler.address, "--out", str(out),
                 "--no-progress"]) == 1
    assert "run failed" in capsys.readouterr().err
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs[runs["params.fail_after"] == 20]
    good = runs[runs["params.fail_after"] == 0]
    assert len(bad) == 4 and bad["error"].str.contains("RuntimeError: toy failure").all()
    assert bad["sojourn_mean_s"].isna().all() and good["error"].isna().all() and good["sojourn_mean_s"].notna().all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["runs_failed"] == 4
    assert sorted(e["seed"] for e in man["errors"]) == [11, 11, 12, 12]
    assert all("toy failure" in e["error"] for e in man["errors"])
    s = pd.read_parquet(out / "summary.parquet")
    assert (s.loc[(s["metric"] == "sojourn_mean_s") & s["point"].isin(bad["point"]), "n"] == 0).all()
    # a re-run into the same directory keeps the good runs and tries the failed ones again
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(out), "--no-progress"]) == 1
    again = json.loads((out / "manifest.json").read_text())
    assert (again["runs_executed"], again["runs_reused"], again["runs_failed"]) == (4, 4, 4)


ADAPTIVE = """\
replications: {min: 3, max: 40, target_relative_ci: 0.15, metric: sojourn_mean_s}
sweep:
  grid:
    params.arrival_rate: [10/s, 70/s]
"""


def test_adaptive_replications_stop_when_the_ci_target_is_met(scenario_file, dask_client):
    path = scenario_file(ADAPTIVE, base=TOY.replace("replications: 2\n", ""))
    res = run_sweep(path, executor="serial", progress=False)
    runs = res.runs
    counts = runs.groupby("point")["replication"].agg(["count", "max"])
    assert (counts["max"] == counts["count"] - 1).all()  # replications 0..n-1, no gaps
    plan = ReplicationPlan.of(load_scenario(path).resolved["replications"])

    def hw_rel(v):
        return stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)) / abs(v.mean())

    for point, g in runs.groupby("point"):
        v = g["sojourn_mean_s"].to_numpy()
        n = len(v)
        assert hw_rel(v) <= 0.15, (point, n, hw_rel(v))
        assert 3 < n < 40  # 2 s runs are too noisy for 15% with three replications
        # it checked after each batch and did not stop early: the target failed at every earlier check
        k, checks = 3, []
        while k < n:
            checks.append(k)
            add, met = plan.more(list(v[:k]), k)
            assert add >= 1 and not met
            k += add
        assert k == n and checks and all(hw_rel(v[:c]) > 0.15 for c in checks)
    assert res.manifest["adaptive"] == {"points_target_met": 2, "points_target_missed": 0}
    # the busier queue is noisier and needs more replications for the same relative precision
    assert counts.loc[1, "count"] > counts.loc[0, "count"]
    # the decision uses only each point's own values: same replications on a cluster
    procs = run_sweep(path, executor=dask_client, progress=False)
    pd.testing.assert_frame_equal(metric_values(runs), metric_values(procs.runs))


def test_adaptive_metric_must_exist(scenario_file, capsys, tmp_path):
    path = scenario_file(ADAPTIVE.replace("sojourn_mean_s", "sojourn_avg"),
                         base=TOY.replace("replications: 2\n", ""))
    assert main(["sweep", str(path), "--executor", "serial", "--no-progress", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:10: replications.metric: the run produced no metric 'sojourn_avg'" in err
    assert "sojourn_mean_s" in err
    # `sim run` takes the dict form too, running `min` replications
    assert len(sim.run(path).metrics) == 3


def test_no_sweep_block_is_one_point_with_its_replications(scenario_file):
    res = run_sweep(scenario_file(), executor="serial", progress=False)
    assert res.runs["point"].tolist() == [0, 0] and res.runs["seed"].tolist() == [11, 12]
    base = sim.run(scenario_file()).metrics
    assert res.runs["sojourn_mean_s"].tolist() == base["sojourn_mean_s"].tolist()


def test_progress_bar_counts_runs(scenario_file, capsys):
    run_sweep(scenario_file(GRID), executor="serial", progress=True)
    err = capsys.readouterr().err
    assert "12/12" in err


class CountingExecutor(SerialExecutor):
    """Defers each call until waited on, to observe how many runs the sweep keeps in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[cf.Future, object, tuple]] = []
        self.most = 0
        self._max_workers = 2

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        self.pending.append((fut, fn, args))
        self.most = max(self.most, len(self.pending))
        if len(self.pending) >= 4:
            self.drain()
        return fut

    def drain(self):
        while self.pending:
            fut, fn, args = self.pending.pop(0)
            fut.set_result(fn(*args))


def test_runs_in_flight_are_bounded(scenario_file, monkeypatch):
    ex = CountingExecutor()
    real_wait = cf.wait

    def wait(fs, **kw):
        ex.drain()
        return real_wait(fs, **kw)

    monkeypatch.setattr(cf, "wait", wait)
    res = run_sweep(scenario_file(GRID, base=TOY.replace("replications: 2", "replications: 3")), executor=ex,
                    progress=False)
    assert len(res.runs) == 18 and ex.most <= 4
    assert np.isfinite(res.runs["sojourn_mean_s"]).all()


def test_a_broken_process_pool_aborts_with_a_message_and_keeps_finished_runs(tmp_path, capsys):
    path = tmp_path / "crashy.yaml"
    path.write_text("name: crashy\nsystem: crashy\nplugins: [tests.runner.crashy_plugin]\nduration: 5s\n"
                    "sweep:\n  points:\n    - {params.die_in_worker: false}\n    - {params.die_in_worker: true}\n")
    out = tmp_path / "o"
    code = main(["sweep", str(path), "--executor", "processes", "--workers", "1", "--out", str(out), "--no-progress"])
    assert code == 1
    assert "sweep aborted: the executor broke" in capsys.readouterr().err
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"] is False
    assert pd.read_parquet(out / "runs.parquet")["point"].tolist() == [0]


def test_resume_without_out_continues_the_latest_sweep_of_the_scenario(scenario_file, tmp_path, capsys):
    path = scenario_file(GRID)
    root = tmp_path / "results"
    args = ["sweep", str(path), "--executor", "serial", "--no-progress", "--results-root", str(root)]
    assert main(args) == 0
    (first,) = (root / "toy_sweep").iterdir()
    journal = first / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:9]))
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert f"results: {first}" in capsys.readouterr().out
    man = json.loads((first / "manifest.json").read_text())
    assert (man["runs_executed"], man["runs_reused"]) == (3, 9)
    assert len(list((root / "toy_sweep").iterdir())) == 1
