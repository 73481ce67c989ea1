"""Benchmark: one 16-run sweep on the serial, process-pool and Dask LocalCluster executors.

The sweep is `scenarios/nvlog_sweep.yaml` cut to 8 points (reservation on/off x 4 send-queue
sizes, 48-128 slots, at 300k writes/s: sizes at which no run deadlocks and ends early) x 2
replications = 16 runs, with the duration scaled so that one run takes about `--run-seconds` of
wall time on this machine (calibrated with one serial run first). Prints
wall time per executor, the speed-ups, and checks that all three give identical metric values.

    python benchmarks/bench_sweep.py [--run-seconds 2] [--workers N] [--repeat 3]
    python benchmarks/bench_sweep.py --many 20000   # runner overhead and memory for a large sweep

Figures go to benchmarks/sweep.md. Not a test: nothing is asserted except identical results.
Timings include starting the executor (spawning the pool's workers, starting the LocalCluster),
since a researcher pays that on every sweep; the Dask figure without cluster start is also shown.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from sim.runner.executors import available_cores  # noqa: E402
from sim.runner.replication import run_replication  # noqa: E402
from sim.runner.sweep import run_sweep  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "nvlog_sweep.yaml"
RATE = "300k/s"


def overrides(duration: float) -> dict:
    return {"duration": duration, "warmup": duration / 10, "replications": 2, "workload.rate": RATE,
            "sweep": {"grid": {"params.reservation": [False, True], "params.send_queue_slots": [48, 64, 96, 128]}}}


def calibrate(target_s: float) -> float:
    """A duration (simulated seconds) for which one run takes about `target_s` wall seconds."""
    duration = 0.02
    for _ in range(3):
        sc = load_scenario(SCENARIO, overrides(duration))
        cfg = dict(sc.resolved, sweep=None)
        cfg["params"] = dict(cfg["params"], reservation=True, send_queue_slots=64)
        t0 = time.perf_counter()
        res = run_replication(cfg, 1)
        wall = time.perf_counter() - t0
        if res.error:
            raise SystemExit(f"calibration run failed: {res.error}")
        if abs(wall - target_s) / target_s < 0.1:
            break
        duration *= target_s / max(wall, 1e-3)
    return duration


def timed(label: str, duration: float, **kw) -> tuple[float, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = run_sweep(SCENARIO, overrides=overrides(duration), out=Path(d) / "o", progress=False, **kw)
        wall = time.perf_counter() - t0
    assert res.failed == 0, res.manifest["errors"][:1]
    assert len(res.runs) == 16
    print(f"{label:<34} {wall:7.2f} s   ({res.manifest['executor']})", flush=True)
    return wall, res.runs.drop(columns=["error"])


def many(n: int, workers: int) -> int:
    """A sweep of `n` tiny runs (toy M/M/1, ~100 arrivals each): per-run overhead and peak memory."""
    import resource

    side = int(n ** 0.5)
    text = (f"name: many\nsystem: toy_queue\nplugins: [tests.plugins.toy_queue]\nduration: 2s\n"
            f"sweep:\n  grid:\n    params.arrival_rate: {[10 + i for i in range(side)]}\n"
            f"    params.mean_service: {[round(1e-3 + 1e-5 * j, 8) for j in range(n // side)]}\n")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "many.yaml"
        path.write_text(text)
        for label, kw in (("serial", {"executor": "serial"}), ("processes", {"executor": "processes",
                                                                             "workers": workers})):
            t0 = time.perf_counter()
            res = run_sweep(path, out=Path(d) / label, progress=False, **kw)
            wall = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = run_sweep(path, out=Path(d) / label, progress=False, **kw)
            rewall = time.perf_counter() - t1
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{label:<10} {len(res.runs)} runs in {wall:6.1f} s ({wall / len(res.runs) * 1e3:.2f} ms/run); "
                  f"re-run, all reused: {rewall:5.1f} s ({again.manifest['runs_reused']} reused); "
                  f"peak RSS of the sweep process so far {rss:.0f} MiB")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-seconds", type=float, default=2.0, help="wall time of one run to calibrate to")
    ap.add_argument("--workers", type=int, default=None, help="workers for processes and dask (default: cores)")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds; the best time of each is kept")
    ap.add_argument("--many", type=int, default=0, help="instead: a sweep of this many tiny runs")
    args = ap.parse_args()
    workers = args.workers or available_cores()
    if args.many:
        return many(args.many, workers)

    duration = calibrate(args.run_seconds)
    print(f"machine: {platform.processor() or platform.machine()}, {available_cores()} cores, "
          f"Python {platform.python_version()}, load average before {os.getloadavg()[0]:.2f}")
    print(f"16 runs (8 points x 2 replications) of nvlog_mirror, {duration * 1e3:.1f} ms simulated each "
          f"(~{args.run_seconds:g} s wall), {workers} workers, {args.repeat} round(s), best of each")
    from dask.distributed import Client, LocalCluster

    times: dict[str, list[float]] = {}
    frames = []
    for _ in range(args.repeat):  # interleaved rounds, so a change of background load hits all alike
        for label, kw in (("serial", {"executor": "serial"}),
                          ("processes (spawn pool)", {"executor": "processes", "workers": workers}),
                          ("dask LocalCluster (incl. start)", {"executor": "dask", "workers": workers})):
            wall, df = timed(label, duration, **kw)
            times.setdefault(label, []).append(wall)
            frames.append(df)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cl, Client(cl) as client:
            wall, df = timed("dask LocalCluster (already up)", duration, executor=client)
            times.setdefault("dask LocalCluster (already up)", []).append(wall)
            frames.append(df)
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    best = {k: min(v) for k, v in times.items()}
    serial, procs = best["serial"], best["processes (spawn pool)"]
    dask, dask_warm = best["dask LocalCluster (incl. start)"], best["dask LocalCluster (already up)"]
    print("identical metric values on every executor: yes")
    print("best: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    print(f"speed-up processes / serial: {serial / procs:.2f}x")
    print(f"dask (incl. start) / processes: {dask / procs:.2f}  (already up: {dask_warm / procs:.2f})")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
