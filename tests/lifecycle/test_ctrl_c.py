"""Item 11 of issue 18: two quick Ctrl-C during `sim sweep` end it cleanly, within seconds, with the
manifest written from the finished runs (no hang in threading._shutdown)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

SLOW = """\
name: slow
system: slow_toy
plugins: [tests.plugins.slow_toy]
seed: 1
duration: 1s
replications: 2
params: {tick: 10ms, sleep: 20ms}
sweep:
  grid:
    params.tick: [10ms, 11ms, 12ms, 13ms, 14ms]
"""


@pytest.mark.parametrize("gap_s", [0.05, 0.5])
def test_second_ctrl_c_exits_cleanly_and_writes_the_manifest(tmp_path, gap_s):
    scen = tmp_path / "slow.yaml"
    scen.write_text(SLOW)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(scen), "--out", str(out), "--no-progress",
                          "--workers", "2"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        journal = out / "journal.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if journal.exists() and journal.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.05)
        assert p.poll() is None, p.communicate()[1][-2000:]
        p.send_signal(signal.SIGINT)
        time.sleep(gap_s)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _, err = p.communicate(timeout=30)
        assert time.monotonic() - t0 < 30
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 130, err[-2000:]
    assert "Exception ignored" not in err and "Traceback" not in err, err[-2000:]
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] is False and m["interrupted"] is True and m["runs"] >= 1
    assert (out / "runs.parquet").is_file()
