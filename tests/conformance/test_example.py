"""The worked example runs from the repository root through `plugins:`, and its oracle catches the broken variant."""

from __future__ import annotations

import os
import subprocess
import sys

from sim.runner.replication import build, run_replication, start
from sim.scenario import load_scenario
from tests.conformance._systems import ROOT

SCENARIO = ROOT / "examples" / "primary_backup" / "scenario.yaml"


def test_example_runs_with_python_m_sim_from_the_repo_root(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "sim", "run", "examples/primary_backup/scenario.yaml",
                          "--replications", "1", "--set", "duration=3.5s", "--out", str(tmp_path / "out")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "acked_writes" in out.stdout and (tmp_path / "out" / "metrics.parquet").exists()


def test_oracle_catches_acknowledging_before_replication():
    sync = run_replication(load_scenario(SCENARIO, {"duration": "3.5s"}).resolved, 1)
    broken = run_replication(load_scenario(SCENARIO, {"duration": "3.5s", "params.ack": "async"}).resolved, 1)
    assert sync.error is None and broken.error is None
    assert sync.metrics["invariant_violations"] == 0
    assert broken.metrics["invariant_violations"] >= 1
    assert broken.violations[0]["invariant"].startswith("acked_write_")


def test_invariant_violations_counts_every_violation_of_the_broken_variant():
    resolved = load_scenario(SCENARIO, {"duration": "3.5s", "params.ack": "async"}).resolved
    sim, system = build(resolved, 1)
    start(sim, system, resolved["faults"])
    sim.run()
    log = system.violations()
    true_count = log.count + len(sim.final_violations())
    assert true_count >= 1
    assert run_replication(resolved, 1).metrics["invariant_violations"] == true_count
