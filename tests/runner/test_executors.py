"""The executor layer: one `concurrent.futures.Executor` interface for serial, processes and dask."""

from __future__ import annotations

import concurrent.futures as cf
import json

import pytest

from sim.runner.executors import SerialExecutor, open_executor
from sim.runner.sweep import execute_run
from sim.scenario import load_scenario
from tests.runner.conftest import TOY


def test_serial_executor_follows_the_executor_contract():
    ex = SerialExecutor()
    ok = ex.submit(pow, 2, 10)
    bad = ex.submit(int, "x")
    done, pending = cf.wait([ok, bad], return_when=cf.ALL_COMPLETED)
    assert not pending and ok.result() == 1024
    with pytest.raises(ValueError):
        bad.result()
    assert list(ex.map(abs, [-1, -2])) == [1, 2]
    ex.shutdown()
    with pytest.raises(RuntimeError):
        ex.submit(abs, 1)


def test_unknown_executor_and_bad_workers():
    with pytest.raises(ValueError, match="unknown executor"):
        with open_executor("threads"):
            pass
    with pytest.raises(ValueError, match="workers"):
        with open_executor("processes", workers=0):
            pass


@pytest.mark.parametrize("kind", ["serial", "processes", "dask"])
def test_each_executor_runs_the_same_run_to_the_same_metrics(tmp_path, kind):
    if kind == "dask":
        pytest.importorskip("dask.distributed")
    p = tmp_path / "s.yaml"
    p.write_text(TOY)
    cfg = dict(load_scenario(p).resolved)
    ref = execute_run(cfg, 5, 0)
    with open_executor(kind, workers=1) as (ex, desc, in_flight):
        assert isinstance(ex, cf.Executor) and in_flight >= 1 and desc.startswith(kind)
        got = ex.submit(execute_run, cfg, 5, 0).result(timeout=120)
    assert got["error"] is None
    assert json.dumps(got["metrics"], sort_keys=True) == json.dumps(ref["metrics"], sort_keys=True)  # NaN too
