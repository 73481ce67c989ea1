"""End to end through the CLI and the Python API on the toy M/M/1 plugin."""

from __future__ import annotations

import json

import pandas as pd

import sim
from sim.cli import main


def test_cli_run_writes_results(tmp_path, toy_yaml, capsys):
    out = tmp_path / "r"
    assert main(["run", str(toy_yaml), "--out", str(out), "--no-progress"]) == 0
    assert "results:" in capsys.readouterr().out
    m = pd.read_parquet(out / "metrics.parquet")
    assert list(m["replication"]) == [0, 1, 2]
    assert list(m["seed"]) == [7, 8, 9]
    assert {"deadlocked", "invariant_violations", "sojourn_mean_s"} <= set(m.columns)
    man = json.loads((out / "manifest.json").read_text())
    for key in ("scenario", "seed", "package_version", "python", "simpy", "numpy", "pandas", "wall_time_s"):
        assert key in man
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert {"time_s", "queue_length", "replication"} <= set(ts.columns)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_same_seed_same_metrics(tmp_path, toy_yaml):
    a = sim.run(toy_yaml).metrics
    b = sim.run(toy_yaml).metrics
    pd.testing.assert_frame_equal(a, b)
    c = sim.run(toy_yaml, seed=100).metrics
    assert not a["sojourn_mean_s"].equals(c["sojourn_mean_s"])


def test_replication_replays_from_its_seed(toy_yaml):
    full = sim.run(toy_yaml).metrics
    one = sim.run(toy_yaml, seed=int(full.loc[2, "seed"]), replications=1).metrics
    assert one.drop(columns="replication").iloc[0].equals(full.drop(columns="replication").iloc[2])


def test_mm1_mean_sojourn_matches_theory(toy_yaml):
    # M/M/1 with lambda=50, mu=100: W = 1/(mu-lambda) = 20 ms; 10 replications, 95% t-interval
    from scipy import stats

    res = sim.run(toy_yaml, replications=10, duration="200s")
    w = res.metrics["sojourn_mean_s"]
    half = stats.t.ppf(0.975, len(w) - 1) * w.std(ddof=1) / len(w) ** 0.5
    assert abs(w.mean() - 0.02) <= max(half, 0.001)
    assert abs(res.metrics["utilization"].mean() - 0.5) < 0.02


def test_model_exception_is_recorded_not_raised(toy_yaml, tmp_path, capsys):
    code = main(["run", str(toy_yaml), "--set", "params.fail_after=5", "--out", str(tmp_path / "e"), "--no-progress"])
    assert code == 1
    man = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert len(man["errors"]) == 3 and "toy failure" in man["errors"][0]["error"]


def test_list_shows_registered_entries(capsys):
    assert main(["list", "workloads"]) == 0
    assert "poisson" in capsys.readouterr().out
