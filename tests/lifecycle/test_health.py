"""Item 15 of issue 18: a watchdog timeout, or every replication deadlocked/stalled, says so on
stderr; a watchdog timeout exits non-zero; --strict exits 1 for any replication not clean."""

from __future__ import annotations

from sim.cli import main
from tests.runner.conftest import TOY

SLOTS = """\
name: slots
system: toy_slots
plugins: [tests.plugins.toy_slots]
seed: 1
duration: 1s
replications: 2
params: {leak_every: %d}
checks: {stall_window: 5ms}
"""


def _err_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_watchdog_timeout_is_said_and_exits_1(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY.replace("duration: 2s", "duration: 2000s") + "checks: {wall_timeout: 50ms}\n")
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--no-progress", "--replications", "1"]) == 1
    err = _err_lines(capsys)
    assert any("hit the wall-clock watchdog" in ln for ln in err), err
    assert main(["sweep", str(f), "--executor", "serial", "--out", str(tmp_path / "w"), "--no-progress",
                 "--set", "replications=1"]) == 1
    assert any("hit the wall-clock watchdog" in ln for ln in _err_lines(capsys))


def test_every_replication_stalled_is_said_and_strict_exits_1(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SLOTS % 2)
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    err = _err_lines(capsys)
    assert any("every replication (2) deadlocked or stalled" in ln for ln in err), err
    assert main(["run", str(f), "--out", str(tmp_path / "p"), "--no-progress", "--strict"]) == 1
    assert main(["sweep", str(f), "--executor", "serial", "--out", str(tmp_path / "q"), "--no-progress",
                 "--strict"]) == 1
    assert any("deadlocked or stalled" in ln for ln in _err_lines(capsys))


def test_clean_runs_say_nothing_and_strict_passes(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SLOTS % 0)
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--no-progress", "--strict"]) == 0
    assert _err_lines(capsys) == []
