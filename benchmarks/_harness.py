"""Shared harness of the `bench_*.py` scripts: one timed replication, the machine line, peak RSS.

A benchmark script imports it as `from _harness import ...` (the script's own directory is on
`sys.path` when it runs as `python benchmarks/bench_x.py`); importing it also puts the repository
root on `sys.path`, so that `sim` imports from this checkout. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class TimedRun:
    """One replication's outcome and cost: `wall`/`cpu` seconds, SimPy `events` scheduled."""

    sim: Any
    system: Any
    out: Any  # what `Simulation.run()` returned
    metrics: dict[str, float]
    violations: list
    wall: float
    cpu: float
    events: int


def timed_run(resolved: dict, seed: int, *, violations: bool = True, profile: bool = False,
              profile_lines: int = 20) -> TimedRun:
    """Build the system of `resolved`, schedule its faults, start and run it, then read its metrics
    (and its invariant violations unless `violations=False`), timing all but the build.

    With `profile` the run is under cProfile and its `profile_lines` costliest functions are printed.
    """
    from sim.faults import schedule
    from sim.runner.replication import build

    sim, system = build(resolved, seed)
    env = sim.env
    eid0 = next(env._eid)  # SimPy numbers every scheduled event: the difference counts them
    t0, c0 = time.perf_counter(), time.process_time()
    schedule(sim, system, resolved.get("faults") or [])
    system.start()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        out = sim.run()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(profile_lines)
    else:
        out = sim.run()
    metrics = system.metrics()
    found = system.violations() if violations else []
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return TimedRun(sim, system, out, metrics, found, wall, cpu, next(env._eid) - eid0 - 1)


def scenario_points(scenario) -> tuple[list[dict], int]:
    """The resolved points of a loaded scenario's sweep (itself if it has none) and its replications
    (the minimum if they are adaptive)."""
    from sim.scenario.sweep import expand, resolve_point

    sweep = scenario.resolved.get("sweep")
    points = ([resolve_point(scenario.located, a, i) for i, a in enumerate(expand(sweep))] if sweep
              else [scenario.resolved])
    reps = scenario.resolved["replications"]
    reps = int(reps.get("min", 1)) if isinstance(reps, dict) else int(reps)
    return points, reps


def machine() -> str:
    """`x86_64 <processor>, python 3.x.y`: the line each benchmark prints first."""
    return f"{platform.machine()} {platform.processor() or ''}, python {platform.python_version()}"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (`ru_maxrss` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def total_line(wall: float, cpu: float) -> str:
    """The closing line of a serial benchmark: summed wall and CPU time and peak RSS."""
    return (f"total   : wall {wall:.1f} s, CPU {cpu:.1f} s (serial; the two differ when other jobs "
            f"share the cores); peak RSS {peak_rss_mb():.0f} MB")


def serial_main(doc: str, scenario: Path, row: Callable[[dict, int, TimedRun], str]) -> int:
    """The whole of a serial headline benchmark: parse `--scenario`/`--profile`, then run every point
    x replication of the scenario in this process, printing `row(point, replication, run)` for each
    and the total; with `--profile`, profile one run of the scenario as written instead."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--scenario", default=str(scenario))
    ap.add_argument("--profile", action="store_true", help="profile one run instead (slower)")
    args = ap.parse_args()
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    if args.profile:
        timed_run(sc.resolved, sc.resolved["seed"], profile=True)
        return 0
    points, reps = scenario_points(sc)
    print(f"machine : {machine()}")
    print(f"scenario: {args.scenario}: {len(points)} point(s) x {reps} replication(s), "
          f"{sc.resolved['duration']:g} s simulated each")
    total_wall = total_cpu = 0.0
    for cfg in points:
        for r in range(reps):
            res = timed_run(cfg, sc.resolved["seed"] + r)
            total_wall += res.wall
            total_cpu += res.cpu
            print(row(cfg, r, res))
    print(total_line(total_wall, total_cpu))
    return 0


def reference_loop_us(events: int = 1_000_000) -> float:
    """CPU µs per event of a plain-SimPy reference loop (one process yielding `events` timeouts):
    how fast this host runs SimPy today, to compare benchmark times measured on different days
    (0.46–0.49 µs on 2026-11-25, 1.04–1.25 µs on 2026-12-02, on the project's VM)."""
    import simpy

    env = simpy.Environment()

    def ticks():
        for _ in range(events):
            yield env.timeout(1)

    env.process(ticks())
    c0 = time.process_time()
    env.run()
    return (time.process_time() - c0) / events * 1e6
