"""Item 4 of issue 18: `sim run` on a file with a sweep: block refuses with one line naming
`sim sweep` (exit 2), unless --base-point asks for the base point."""

from __future__ import annotations

from sim.cli import main
from tests.runner.conftest import TOY

SWEEP = "sweep:\n  grid:\n    params.arrival_rate: [30/s, 60/s]\n"


def test_run_on_a_sweep_file_refuses_naming_sim_sweep(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY + SWEEP)
    out = tmp_path / "out"
    assert main(["run", str(f), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = TOY.count("\n") + 1
    assert len(err) == 1 and err[0].startswith(f"{f}:{line}: sweep: this file sweeps 2 points")
    assert f"sim sweep {f}" in err[0] and "--base-point" in err[0]
    assert not out.exists()


def test_base_point_runs_the_scenario_without_its_sweep(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY + SWEEP)
    assert main(["run", str(f), "--base-point", "--replications", "1", "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 0
    assert (tmp_path / "o" / "manifest.json").is_file()
