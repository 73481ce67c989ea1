"""Item 12 of issue 18: an unreadable scenario or base file, and a --scheduler with nothing listening,
give one located line and exit 2, quickly, leaving no result directory behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from sim.cli import main
from tests.runner.conftest import TOY


def _deny(monkeypatch, denied: Path):
    real = Path.read_bytes

    def read_bytes(self):
        if self.resolve() == denied.resolve():
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)  # chmod 000 does not stop root


def test_unreadable_scenario_is_one_located_line(tmp_path, monkeypatch, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(TOY)
    _deny(monkeypatch, f)
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{f}:0: cannot read the file: Permission denied"]
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unreadable_extends_base_points_at_the_extends_line(tmp_path, monkeypatch, capsys):
    base = tmp_path / "base.yaml"
    base.write_text(TOY)
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nextends: base.yaml\n")
    _deny(monkeypatch, base)
    assert main(["validate", str(child)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{child}:2: extends: cannot read base file 'base.yaml': Permission denied"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_with_nothing_listening_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    f = tmp_path / "s.yaml"
    f.write_text(TOY)
    out = tmp_path / "out"
    root = tmp_path / "results"
    t0 = time.monotonic()
    rc = main(["sweep", str(f), "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--no-progress",
               "--out", str(out), "--results-root", str(root)])
    elapsed = time.monotonic() - t0
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc == 2
    assert elapsed < 20
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]
    assert not out.exists() and not root.exists()
    rc = main(["sweep", str(f), "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--no-progress",
               "--results-root", str(root)])
    assert rc == 2 and not root.exists()
