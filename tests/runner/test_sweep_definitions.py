"""The `sweep:` block: expansion of each design and FILE:LINE errors (exit 2) for bad definitions."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.cli import main
from sim.scenario import load_scenario
from sim.scenario.sweep import expand, parse_key_path, resolve_point, swept_values
from tests.runner.conftest import TOY


def points_of(path):
    s = load_scenario(path)
    spec = s.resolved["sweep"]
    pts = list(expand(spec))
    assert len(pts) == spec["n_points"]
    return s, spec, pts


def test_grid_is_a_cartesian_product_in_order(scenario_file):
    s, spec, pts = points_of(scenario_file("""\
        sweep:
          grid:
            params.servers: [1, 2]
            params.arrival_rate: [10/s, 20/s, 30/s]
        """))
    assert spec["parameters"] == ["params.servers", "params.arrival_rate"]
    assert [(p["params.servers"], p["params.arrival_rate"]) for p in pts] == [
        (1, "10/s"), (1, "20/s"), (1, "30/s"), (2, "10/s"), (2, "20/s"), (2, "30/s")]
    # units resolve exactly as anywhere else in a scenario
    resolved = resolve_point(s.located, pts[4], 4)
    assert resolved["params"]["arrival_rate"] == 20.0 and resolved["params"]["servers"] == 2
    assert resolved.get("sweep") is None
    assert swept_values(resolved, spec["parameters"], pts[4]) == {"params.servers": 2, "params.arrival_rate": 20.0}


def test_zip_advances_lists_together_and_designs_combine(scenario_file):
    _, spec, pts = points_of(scenario_file("""\
        sweep:
          grid: {params.servers: [1, 2]}
          zip:
            params.arrival_rate: [10/s, 20/s, 30/s]
            params.mean_service: [1ms, 2ms, 3ms]
        """))
    assert len(pts) == 6
    assert [(p["params.servers"], p["params.arrival_rate"], p["params.mean_service"]) for p in pts[:3]] == [
        (1, "10/s", "1ms"), (1, "20/s", "2ms"), (1, "30/s", "3ms")]
    assert pts[3]["params.servers"] == 2


def test_explicit_points_may_set_different_keys(scenario_file):
    s, spec, pts = points_of(scenario_file("""\
        sweep:
          points:
            - {params.servers: 3}
            - {params.arrival_rate: 5/s, params.servers: 2}
        """))
    assert pts == [{"params.servers": 3}, {"params.arrival_rate": "5/s", "params.servers": 2}]
    assert spec["parameters"] == ["params.servers", "params.arrival_rate"]
    # a key a point leaves alone keeps the scenario's value in the tidy columns
    r0 = resolve_point(s.located, pts[0], 0)
    assert swept_values(r0, spec["parameters"], pts[0]) == {"params.servers": 3, "params.arrival_rate": 50.0}


@pytest.mark.parametrize("design", ["random", "latin_hypercube", "sobol"])
def test_sampled_designs_stay_in_range_and_follow_their_seed(scenario_file, design):
    text = f"""\
        sweep:
          seed: 5
          {design}:
            samples: 8
            ranges:
              params.arrival_rate: [10/s, 90/s]
              params.mean_service: {{low: 1ms, high: 100ms, log: true}}
              params.servers: [1, 4]
        """
    s, spec, pts = points_of(scenario_file(text))
    assert len(pts) == 8
    rate = np.array([p["params.arrival_rate"] for p in pts])
    svc = np.array([p["params.mean_service"] for p in pts])
    servers = [p["params.servers"] for p in pts]
    assert ((rate >= 10) & (rate < 90)).all()
    assert ((svc >= 1e-3) & (svc < 0.1)).all()
    assert all(isinstance(v, int) and 1 <= v <= 4 for v in servers)  # an int field samples integers
    assert len(set(rate.tolist())) == 8
    if design != "random":  # stratified designs put exactly one sample in each of n equal strata
        assert sorted(np.floor((rate - 10) / 80 * 8).astype(int).tolist()) == list(range(8))
        assert sorted(np.floor(np.log(svc / 1e-3) / np.log(100) * 8).astype(int).tolist()) == list(range(8))
    for i, p in enumerate(pts):  # every sampled point is a valid scenario
        resolve_point(s.located, p, i)
    again = list(expand(load_scenario(scenario_file(text)).resolved["sweep"]))
    assert again == pts
    other = list(expand(load_scenario(scenario_file(text.replace("seed: 5", "seed: 6"))).resolved["sweep"]))
    assert other != pts


def test_key_paths():
    assert parse_key_path("params.send_queue_slots") == ("params", "send_queue_slots")
    assert parse_key_path("faults[0].at") == ("faults", 0, "at")
    assert parse_key_path("workload.rate") == ("workload", "rate")
    for bad in ("", "params..x", "[0].x", "faults[x].at", "faults[0", "a]b"):
        assert parse_key_path(bad) is None, bad


BAD = [
    # (sweep block, line of the error, words in the message)
    ("sweep:\n  grid:\n    params.servrs: [1, 2]\n", 13, ["unknown key 'servrs'", "did you mean 'servers'"]),
    ("sweep:\n  grid:\n    params.servers: []\n", 13, ["non-empty list"]),
    ("sweep:\n  grid:\n    params.servers: [1,\n      0]\n", 14, ["params.servers=0", "greater than or equal to 1"]),
    ("sweep:\n  grid:\n    params.arrival_rate: [10/s, 5 parsecs]\n", 13, ["params.arrival_rate='5 parsecs'", "needs a time base"]),
    ("sweep:\n  grid:\n    params.mean_service: [10]\n    duration: [1s, 0s]\n", 14, ["duration='0s': must be > 0"]),
    ("sweep:\n  grid:\n    seed: [1, 2]\n", 13, ["'seed' cannot be swept"]),
    ("sweep:\n  grid:\n    params..x: [1]\n", 13, ["bad key path"]),
    ("sweep:\n  gird:\n    params.servers: [1]\n", 12, ["unknown sweep key 'gird'", "did you mean 'grid'"]),
    ("sweep:\n  seed: 1\n", 11, ["no design"]),
    ("sweep:\n  zip:\n    params.servers: [1, 2]\n    params.arrival_rate: [1/s]\n", 12, ["same length"]),
    ("sweep:\n  points:\n    - {params.servers: 1}\n    - {params.servers: -1}\n", 14, ["point 1"]),
    ("sweep:\n  points: []\n", 12, ["non-empty list"]),
    ("sweep:\n  random:\n    samples: 4\n    ranges:\n      params.arrival_rate: [90/s, 10/s]\n", 15,
     ["bad range", "low"]),
    ("sweep:\n  random:\n    samples: 0\n    ranges:\n      params.arrival_rate: [1/s, 2/s]\n", 13,
     ["samples must be an integer >= 1"]),
    ("sweep:\n  sobol:\n    samples: 10\n    ranges:\n      params.arrival_rate: [1/s, 2/s]\n", 13,
     ["power of 2", "use 8 or 16"]),
    ("sweep:\n  latin_hypercube:\n    samples: 4\n    ranges:\n      params.fail_after: {low: 0, high: 9, "
     "log: true}\n", 15, ["log range needs low > 0"]),
    ("sweep:\n  random:\n    samples: 4\n    ranges:\n      params.servers: [0, 3]\n", 15,
     ["params.servers=0"]),
    ("sweep:\n  random:\n    samples: 4\n    ranges: {}\n", 14, ["ranges must be a non-empty mapping"]),
    ("sweep:\n  grid:\n    faults[0].at: [1s]\n", 13, ["no list item faults[0]"]),
    ("sweep:\n  grid:\n    workload.rate: [1/s]\n", 13, ["takes no workload"]),
    ("sweep:\n  grid: {params.servers: [1, 2]}\n  points:\n    - {params.servers: 3}\n", 13,
     ["also swept by grid"]),
    ("replications: {min: 5, max: 3, metric: x, target_relative_ci: 0.1}\n", 10, ["max (3) must be >= min (5)"]),
    ("replications: {min: 5, max: 9, metric: x}\n", 10, ["target_relative_ci"]),
    ("replications: {min: 5, mx: 9, metric: x, target_relative_ci: 0.1}\n", 10, ["unknown key 'mx'",
                                                                               "did you mean 'max'"]),
    ("replications: {min: 1, metric: x, target_relative_ci: 0.1}\n", 10, ["min", "greater than or equal to 2"]),
]


@pytest.mark.parametrize(("block", "line", "words"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_sweep_definitions_are_file_line_errors(scenario_file, capsys, block, line, words):
    base = TOY.replace("replications: 2\n", "") if block.startswith("replications") else TOY
    path = scenario_file(block, base=base)
    assert main(["sweep", str(path), "--executor", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error printed"
    m = re.match(r"^(.*?):(\d+): (.*)$", err[0])
    assert m, err[0]
    assert m.group(1) == str(path)
    assert int(m.group(2)) == line, err
    for w in words:
        assert w in err[0], err
    # `sim validate` reports the same
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[0] == err[0]


def test_bad_command_line(scenario_file, capsys):
    path = scenario_file("sweep:\n  grid: {params.servers: [1]}\n")
    assert main(["sweep", str(path), "--workers", "0", "--no-progress"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["sweep", str(path), "--executor", "serial", "--scheduler", "tcp://x:1", "--no-progress"]) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert main(["sweep", str(path.parent / "missing.yaml"), "--no-progress"]) == 2
