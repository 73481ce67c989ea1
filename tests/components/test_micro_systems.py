"""Micro-benchmark systems run from scenarios/, are deterministic, and reject bad parameters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.runner import run_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
MICRO = sorted((ROOT / "scenarios").glob("micro_*.yaml"))


@pytest.mark.parametrize("path", MICRO, ids=[p.stem for p in MICRO])
def test_micro_scenarios_validate_and_run_small(path):
    scn = load_scenario(path, {"duration": "20s", "warmup": "1s", "params.max_arrivals": 20000}
                        if "rdma" in path.stem else {"duration": "3s", "warmup": "1s"})
    res = run_scenario(scn, write=False, replications=1)
    assert not res.errors, res.errors
    assert res.metrics["invariant_violations"].iloc[0] == 0


def test_micro_run_is_deterministic():
    scn = load_scenario(ROOT / "scenarios/micro_rdma_sendqueue.yaml", {"params.max_arrivals": 5000})
    a = run_scenario(scn, write=False, replications=2).metrics
    b = run_scenario(scn, write=False, replications=2).metrics
    assert a.equals(b)
    assert a["blocking_probability"].iloc[0] != a["blocking_probability"].iloc[1]  # replications differ


def test_stream_micro_reports_expired_records():
    # the shortest retention Kinesis allows (24 h) and a consumer that polls every 26 h: after its read
    # at 26 h, the records put in the next 2 h expire before its read at 52 h (a low put rate keeps the
    # 53 h run fast)
    scn = load_scenario(ROOT / "scenarios/micro_stream.yaml",
                        {"duration": "53h", "warmup": "1s", "params.stream.retention": "24h",
                         "params.arrival_rate": "0.01/s", "params.poll_interval": "26h"})
    m = run_scenario(scn, write=False, replications=1).metrics.iloc[0]
    assert m["expired_records"] > 0 and m["invariant_violations"] == 0


BAD = [
    ("slots: 0", "params.slots", "greater than or equal to 1"),
    ("mean_service_time: -1ms", "params.mean_service_time", "must be > 0"),
    ("arrival_rate: 5k", "params.arrival_rate", "needs a time base"),
]


@pytest.mark.parametrize("line,keypath,words", BAD)
def test_bad_sendqueue_params_are_scenario_errors(tmp_path, capsys, line, keypath, words):
    key = line.split(":")[0]
    base = {"slots": "8", "arrival_rate": "6/s", "mean_service_time": "1s"}
    base[key] = line.split(": ", 1)[1]
    body = "".join(f"  {k}: {v}\n" for k, v in base.items())
    p = tmp_path / "bad.yaml"
    p.write_text(f"name: bad\nsystem: rdma_sendqueue\nduration: 1s\nparams:\n{body}")
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    m = re.match(r"^(.*?):(\d+): (\S+): (.*)$", err[0])
    assert m and m.group(1) == str(p) and m.group(3) == keypath and words in m.group(4)
    assert int(m.group(2)) == 5 + list(base).index(key)


def test_zero_bandwidth_in_nested_component_params(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\nsystem: stream_service\nduration: 1s\nparams:\n  arrival_rate: 10/s\n"
                 "  stream:\n    shards: 1\n    write_bytes_per_shard: 0MB/s\n")
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"{p}:8: params.stream.write_bytes_per_shard: must be > 0"
