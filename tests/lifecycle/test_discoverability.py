"""Item 5 of issue 18: sim show SYSTEM, sim validate --print, sim sweep --dry-run, sim --version,
and sim run --workers N (parallel replications, results identical to serial)."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main
from sim.core.version import __version__
from tests.runner.conftest import TOY


def test_show_lists_params_fault_targets_metrics_and_fault_points(capsys):
    assert main(["show", "toy_points", "--plugin", "tests.plugins.toy_points"]) == 0
    out = capsys.readouterr().out
    assert "params:" in out and "interval" in out and "0.001" in out
    assert "time between writes" in out
    assert "fault targets:" in out and "node" in out and "crash" in out
    assert "writes_acknowledged" in out and "invariant_violations" in out
    assert "toy.between_steps" in out and "(strikes: node)" in out


def test_show_of_a_model_gives_units_and_required_workload_keys(capsys):
    assert main(["show", "nvlog_mirror"]) == 0
    out = capsys.readouterr().out
    assert "interconnect" in out and "link_down" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("rate "))
    assert "(required)" in line and "[1/s]" in line
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("rdma_latency "))
    assert "[s]" in line and "one-way RDMA latency" in line


def test_show_unknown_system_is_one_line(capsys):
    assert main(["show", "nvlog_mirro"]) == 2
    assert capsys.readouterr().err.strip() == ("sim show: error: unknown system 'nvlog_mirro'; "
                                               "did you mean 'nvlog_mirror'?")


def test_validate_print_gives_the_resolved_scenario_and_its_runs(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY + "sweep:\n  grid:\n    params.arrival_rate: [30/s, 60/s, 90/s]\n")
    assert main(["validate", "--print", str(f)]) == 0
    out = capsys.readouterr().out
    assert "mean_service: 0.01" in out and "arrival_rate: 50.0" in out
    assert out.rstrip().endswith("# 3 point(s) x 2 replication(s) = 6 runs")


def test_sweep_dry_run_counts_runs_estimates_and_writes_nothing(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY + "sweep:\n  grid:\n    params.arrival_rate: [30/s, 60/s]\n")
    assert main(["sweep", str(f), "--dry-run", "--out", str(tmp_path / "o"), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 point(s) x 2 replication(s) = 4 runs" in out
    assert "estimated wall time" in out and "on 2 worker(s)" in out
    assert not (tmp_path / "o").exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"sim {__version__}")


def test_run_workers_gives_the_same_results_as_serial(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY.replace("replications: 2", "replications: 3") + "timeseries: {interval: 0.5s}\n")
    assert main(["run", str(f), "--out", str(tmp_path / "serial"), "--no-progress"]) == 0
    assert main(["run", str(f), "--out", str(tmp_path / "par"), "--no-progress", "--workers", "2"]) == 0
    for name in ("metrics.parquet", "timeseries.parquet"):
        a = pd.read_parquet(tmp_path / "serial" / name)
        b = pd.read_parquet(tmp_path / "par" / name)
        pd.testing.assert_frame_equal(a, b)
    assert len(pd.read_parquet(tmp_path / "par" / "metrics.parquet")) == 3
