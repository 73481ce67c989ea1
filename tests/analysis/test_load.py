"""Loading run and sweep directories into tidy frames with the scenario parameters joined in."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.analysis.results import ResultError, flatten, from_result, load


def test_load_run_joins_scenario_parameters(run_dir):
    rs = load(run_dir)
    assert rs.kind == "run"
    assert len(rs.runs) == 6
    assert (rs.runs["params.send_queue_slots"] == 8).all()
    assert (rs.runs["workload.rate"] == 100000.0).all()
    assert (rs.runs["faults[0].kind"] == "link_down").all()
    assert (rs.runs["scenario"] == "synthetic_mirror").all()
    assert {"throughput_ops_s", "deadlocked", "latency_p99_s"} <= set(rs.metrics)
    assert "seed" not in rs.metrics and "replication" not in rs.metrics
    assert "params.send_queue_slots" in rs.params
    assert rs.timeseries is not None and set(rs.timeseries["replication"]) == set(range(6))
    assert set(rs.events["event"]) == {"fault_start", "fault_end", "recovery_done"}


def test_load_sweep_uses_swept_values_not_base(sweep_dir):
    rs = load(sweep_dir)
    assert rs.kind == "sweep"
    assert rs.swept == ["params.reservation", "params.send_queue_slots"]
    assert len(rs.runs) == 2 * 4 * 8
    # the base scenario says 8 slots; the swept column must carry the swept values, once
    assert sorted(rs.runs["params.send_queue_slots"].unique()) == [2, 4, 8, 16]
    assert list(rs.runs.columns).count("params.send_queue_slots") == 1
    assert (rs.runs["params.link_latency"] == 2e-6).all()  # unswept parameter joined in
    assert set(rs.varying()) == {"params.reservation", "params.send_queue_slots"}
    assert rs.column("send_queue_slots") == "params.send_queue_slots"


def test_swept_columns_from_manifest_when_named(tmp_path, sweep_dir):
    m = json.loads((sweep_dir / "manifest.json").read_text())
    m["sweep"] = {"parameters": ["params.send_queue_slots"]}
    (sweep_dir / "manifest.json").write_text(json.dumps(m))
    assert load(sweep_dir).swept == ["params.send_queue_slots"]


def test_load_many_stacks_with_unique_labels(run_pair, tmp_path):
    from tests.analysis.conftest import write_run

    third = write_run(tmp_path / "again", "mirror_reservation", reservation=True)
    rs = load([*run_pair, third])
    # the same scenario twice: told apart by directory name
    assert rs.results == ["mirror_no_reservation", "res", "again"]
    assert rs.runs.groupby("result").size().to_dict() == {"mirror_no_reservation": 6, "res": 6, "again": 6}
    same_dir_name = write_run(tmp_path / "x" / "res", "mirror_reservation", reservation=True)
    assert load([run_pair[1], same_dir_name]).results == ["mirror_reservation", "mirror_reservation#2"]
    assert "params.reservation" in rs.varying()
    assert set(rs.timeseries["result"]) == set(rs.results)


def test_real_toy_run_loads(toy_run_dir):
    rs = load(toy_run_dir)
    assert len(rs.runs) == 3
    assert (rs.runs["params.arrival_rate"] == 50.0).all()
    assert "sojourn_mean_s" in rs.metrics and "utilization" in rs.metrics
    assert list(rs.runs["seed"]) == [7, 8, 9]
    assert "queue_length" in rs.timeseries.columns


def test_from_result_in_memory(root, monkeypatch):
    import sim

    monkeypatch.chdir(root)
    res = sim.run(root / "tests" / "data" / "toy.yaml", duration="2s", replications=2)
    rs = from_result(res)
    assert len(rs.runs) == 2 and "utilization" in rs.metrics
    assert load(res).runs.equals(rs.runs)


def test_flatten_paths():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "f": [{"at": 2}]}) == {"a.b": 1, "a.c": "[1, 2]", "f[0].at": 2}


@pytest.mark.parametrize("setup, message", [
    ("missing", "no such result directory"),
    ("file", "not a directory"),
    ("no_manifest", "no manifest.json"),
    ("bad_manifest", "cannot read manifest"),
    ("no_metrics", "no metrics.parquet or runs.parquet"),
    ("bad_parquet", "cannot read"),
])
def test_bad_result_dirs(tmp_path, setup, message):
    d = tmp_path / "r"
    if setup == "file":
        d.write_text("x")
    elif setup != "missing":
        d.mkdir()
        if setup != "no_manifest":
            (d / "manifest.json").write_text("{not json" if setup == "bad_manifest" else "{}")
        if setup in ("no_manifest", "bad_parquet"):
            (d / "metrics.parquet").write_bytes(b"not parquet")
    with pytest.raises(ResultError, match=message) as e:
        load(d)
    assert "\n" not in str(e.value)


def test_ambiguous_and_unknown_columns(sweep_dir):
    rs = load(sweep_dir)
    rs.runs["workload.send_queue_slots"] = 1
    with pytest.raises(ResultError, match="ambiguous"):
        rs.column("send_queue_slots")
    with pytest.raises(ResultError, match="no column 'nope'"):
        rs.column("nope")


def test_summary_groups_by_varying(sweep_dir):
    s = load(sweep_dir).summary(metrics=["throughput_ops_s"])
    assert len(s) == 8 and (s["n"] == 8).all()
    assert isinstance(s, pd.DataFrame)


def test_real_toy_sweep_loads_and_plots(toy_sweep_dir, tmp_path):
    from sim.analysis.figures import choose_axes, write_figures

    rs = load(toy_sweep_dir)
    assert rs.kind == "sweep"
    assert rs.swept == ["params.servers", "params.arrival_rate"]
    assert len(rs.runs) == 2 * 3 * 3
    assert "error" not in rs.metrics and "sojourn_mean_s" in rs.metrics
    # common random numbers: the same three seeds at every point
    assert rs.runs.groupby("point")["seed"].apply(tuple).nunique() == 1
    assert choose_axes(rs) == ("params.arrival_rate", "params.servers", [])
    s = rs.summary(metrics=["utilization"])
    assert len(s) == 6 and (s["n"] == 3).all()
    files = write_figures(rs, tmp_path / "f", metrics=["sojourn_mean_s"])
    assert [f.kind for f in files] == ["metric_vs_param"]


def test_load_what_sim_sweep_returns(toy_sweep_dir):
    import pandas as pd

    runs = pd.read_parquet(toy_sweep_dir / "runs.parquet")
    rs = load(runs)  # no out_dir attribute: swept columns are those before `point`
    assert rs.swept == ["params.servers", "params.arrival_rate"]
    runs.attrs["out_dir"] = str(toy_sweep_dir)
    assert load(runs).scenario["name"] == "toy_sweep"
