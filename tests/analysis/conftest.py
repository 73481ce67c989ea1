"""Result directories for the analysis tests: a real toy run, and synthetic run/sweep directories
shaped like `sim run` / `sim sweep` output (written here so the tests do not depend on a model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = {
    "name": "synthetic_mirror",
    "description": "synthetic results shaped like an NVLog sweep",
    "system": "synthetic",
    "seed": 100,
    "duration": 2.0,
    "warmup": 0.1,
    "replications": 8,
    "params": {"reservation": False, "send_queue_slots": 8, "link_latency": 2e-6},
    "workload": {"rate": 100000.0},
    "faults": [{"kind": "link_down", "target": "link", "at": 0.5, "duration": 0.3}],
}


def _metrics(rng: np.random.Generator, reservation: bool, slots: int, seed_noise: float) -> dict[str, float]:
    p_deadlock = 0.0 if reservation else max(0.0, 0.9 - 0.1 * slots)
    dead = float(rng.random() < p_deadlock)
    thr = 100_000 * (0.9 if reservation else 1.0) * (1 - 0.5 / slots) * (1 + 0.05 * seed_noise)
    return {
        "throughput_ops_s": thr,
        "latency_p99_s": 2e-5 * (1.2 if reservation else 1.0) * (1 + 0.1 * seed_noise) + 1e-6 * rng.random(),
        "deadlocked": dead,
        "time_to_deadlock_s": 0.3 + rng.random() if dead else np.nan,
        "bytes_mirrored_bytes": thr * 4096.0,
        "cost_usd": 10.0 + slots * (2.0 if reservation else 1.0) + rng.random(),
        "recovery_time_s": 5.0 / slots + seed_noise * 0.1 + rng.random() * 0.05,
        "sim_time_s": 2.0,
    }


def write_sweep(d: Path, replications: int = 8, seed: int = 100) -> Path:
    """A sweep directory: reservation x send_queue_slots, replications with common seeds."""
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    point = 0
    for res in (False, True):
        for slots in (2, 4, 8, 16):
            for r in range(replications):
                s = seed + r
                noise = np.random.default_rng(s).normal()  # shared by every point: common random numbers
                rng = np.random.default_rng([s, point])
                rows.append({"params.reservation": res, "params.send_queue_slots": slots, "point": point,
                             "replication": r, "seed": s, **_metrics(rng, res, slots, noise)})
            point += 1
    runs = pd.DataFrame(rows)
    runs.to_parquet(d / "runs.parquet", index=False)
    summary = runs.melt(id_vars=["params.reservation", "params.send_queue_slots", "point", "replication", "seed"],
                        var_name="metric").groupby(["point", "metric"])["value"].agg(["mean", "std", "count"])
    summary.reset_index().to_parquet(d / "summary.parquet", index=False)
    scen = dict(SCENARIO, sweep={"grid": {"params.reservation": [False, True],
                                          "params.send_queue_slots": [2, 4, 8, 16]}})
    (d / "manifest.json").write_text(json.dumps({"scenario": scen, "seed": seed, "events": [], "errors": []}))
    return d


def write_run(d: Path, name: str = "synthetic_mirror", reservation: bool = True, seed: int = 100,
              replications: int = 6) -> Path:
    """A run directory with a time series and fault/deadlock events."""
    d.mkdir(parents=True, exist_ok=True)
    rows, ts, events = [], [], []
    for r in range(replications):
        s = seed + r
        noise = np.random.default_rng(s).normal()
        rows.append({"replication": r, "seed": s,
                     **_metrics(np.random.default_rng([s, int(reservation)]), reservation, 8, noise)})
        t = np.arange(0.0, 2.0, 0.05)
        down = (t >= 0.5) & (t < 0.8)
        ts.append(pd.DataFrame({"time_s": t, "throughput_ops_s": np.where(down, 0.0, 9e4 + 1e3 * noise),
                                "send_queue_occupancy": np.where(down, 8, 2), "lag_s": np.where(down, t - 0.5, 1e-5),
                                "replication": r}))
        events += [{"time_s": 0.5, "event": "fault_start", "kind": "link_down", "target": "link", "index": 0,
                    "occurrence": 0, "replication": r},
                   {"time_s": 0.8, "event": "fault_end", "kind": "link_down", "target": "link", "index": 0,
                    "occurrence": 0, "replication": r},
                   {"time_s": 0.95, "event": "recovery_done", "replication": r}]
        if not reservation:
            events.append({"time_s": 1.2, "event": "deadlock", "cycle": "a -> b -> a", "replication": r})
    pd.DataFrame(rows).to_parquet(d / "metrics.parquet", index=False)
    pd.concat(ts, ignore_index=True).to_parquet(d / "timeseries.parquet", index=False)
    scen = dict(SCENARIO, name=name, params=dict(SCENARIO["params"], reservation=reservation))
    (d / "manifest.json").write_text(json.dumps({"scenario": scen, "seed": seed, "events": events,
                                                 "errors": [], "violations": []}))
    return d


@pytest.fixture
def sweep_dir(tmp_path) -> Path:
    return write_sweep(tmp_path / "sweep")


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return write_run(tmp_path / "run")


@pytest.fixture
def run_pair(tmp_path) -> tuple[Path, Path]:
    return (write_run(tmp_path / "no_res", "mirror_no_reservation", reservation=False),
            write_run(tmp_path / "res", "mirror_reservation", reservation=True))


@pytest.fixture(scope="session")
def toy_run_dir(tmp_path_factory) -> Path:
    """A real run of the toy M/M/1 plugin system (3 replications, time series)."""
    import os

    import sim

    out = tmp_path_factory.mktemp("toy") / "run"
    cwd = os.getcwd()
    os.chdir(ROOT)  # the scenario names its plugin as `tests.plugins.toy_queue`
    try:
        sim.run(ROOT / "tests" / "data" / "toy.yaml", out=out, duration="5s")
    finally:
        os.chdir(cwd)
    return out


TOY_SWEEP = """\
name: toy_sweep
description: M/M/c sojourn time against arrival rate, one and two servers
system: toy_queue
plugins: [tests.plugins.toy_queue]
seed: 7
duration: 3s
warmup: 0.3s
replications: 3
params:
  mean_service: 10ms
sweep:
  grid:
    params.servers: [1, 2]
    params.arrival_rate: [20/s, 60/s, 90/s]
"""


@pytest.fixture(scope="session")
def toy_sweep_dir(tmp_path_factory) -> Path:
    """A real sweep of the toy plugin written by `sim.sweep` (serial executor)."""
    import os

    import sim

    d = tmp_path_factory.mktemp("toysweep")
    scen = d / "toy_sweep.yaml"
    scen.write_text(TOY_SWEEP)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        sim.sweep(scen, executor="serial", out=d / "out", progress=False)
    finally:
        os.chdir(cwd)
    return d / "out"
