"""Benchmark: the `pmem_image` headline scenario at its default size.

Runs every point x replication of `scenarios/pmem_image_capture.yaml` (4 schemes x 2 replications,
40 s simulated each: 4 GiB = 1,048,576 pages, 100k page writes/s, one damaged index and one
process crash per run) serially in this process, and prints per-run wall and CPU time, SimPy events,
page writes per CPU second, peak RSS and the total. The target is a total under 60 s on a 2-core
machine. `--profile` prints a cProfile summary of one diff_index run.

    python benchmarks/bench_pmem_image.py [--scenario scenarios/pmem_image_capture.yaml] [--profile]

Figures are recorded in benchmarks/pmem_image.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runner.replication import build  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.scenario.sweep import expand, resolve_point  # noqa: E402


def one_run(resolved: dict, seed: int, profile: bool = False) -> dict:
    from sim.faults import schedule

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
        sim.run()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    else:
        sim.run()
    m = system.metrics()
    v = system.violations()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "events": next(env._eid) - eid0 - 1, "writes": system.writes.value
            + 0.0, "violations": len(v), "pause": m["capture_pause_mean_s"], "restore": m["restore_time_s"],
            "recovery": m["recovery_time_s"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "pmem_image_capture.yaml"))
    ap.add_argument("--profile", action="store_true", help="profile one run instead (slower)")
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    if args.profile:
        one_run(sc.resolved, sc.resolved["seed"], profile=True)
        return 0
    sweep = sc.resolved.get("sweep")
    points = [resolve_point(sc.located, a, i) for i, a in enumerate(expand(sweep))] if sweep else [sc.resolved]
    reps = sc.resolved["replications"]
    reps = int(reps.get("min", 1)) if isinstance(reps, dict) else int(reps)
    print(f"machine : {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    print(f"scenario: {args.scenario}: {len(points)} point(s) x {reps} replication(s), "
          f"{sc.resolved['duration']:g} s simulated each")
    total_wall = total_cpu = 0.0
    for cfg in points:
        for r in range(reps):
            res = one_run(cfg, sc.resolved["seed"] + r)
            total_wall += res["wall"]
            total_cpu += res["cpu"]
            print(f"  {cfg['params']['scheme']:<11} rep {r}: wall {res['wall']:5.2f} s  cpu {res['cpu']:5.2f} s  "
                  f"events {res['events']:>8,}  writes/cpu s {res['writes'] / res['cpu']:>10,.0f}  "
                  f"pause {res['pause'] * 1e3:8.3f} ms  restore {res['restore']:.4f} s  "
                  f"recovery {res['recovery']:.3f} s  violations {res['violations']}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"total   : wall {total_wall:.1f} s, CPU {total_cpu:.1f} s (serial; the two differ when other jobs "
          f"share the cores); peak RSS {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
