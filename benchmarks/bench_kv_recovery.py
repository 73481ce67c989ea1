"""Benchmark: the `kv_recovery` headline scenario at its default size.

Runs every point x replication of `scenarios/kv_recovery.yaml` (3 variants x 3 replications,
60 s simulated each) serially in this process, and prints per-run wall and CPU time, SimPy
events, key operations per wall second, peak RSS and the total. The target is a total under
60 s on a 2-core machine. `--profile` prints a cProfile summary of one fast_restart run.

    python benchmarks/bench_kv_recovery.py [--scenario scenarios/kv_recovery.yaml] [--profile]

Figures are recorded in benchmarks/kv_recovery.md. Not a test: nothing is asserted.
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
    schedule(sim, system, resolved.get("faults") or [])
    system.start()
    t0, c0 = time.perf_counter(), time.process_time()
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
    return {"wall": wall, "cpu": cpu, "events": next(env._eid) - eid0 - 1,
            "ops": m["reads_served"] + m["writes_acked"], "violations": len(v),
            "recovery_time_s": m["recovery_time_s"], "first_read_s": m["first_read_s"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "kv_recovery.yaml"))
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
            print(f"  {cfg['params']['variant']:<14} rep {r}: wall {res['wall']:5.2f} s  cpu {res['cpu']:5.2f} s  "
                  f"events {res['events']:>9,}  key ops/wall s {res['ops'] / res['wall']:>9,.0f}  "
                  f"recovery {res['recovery_time_s']:.3f} s  first read {res['first_read_s']:.3f} s  "
                  f"violations {res['violations']}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"total   : wall {total_wall:.1f} s, CPU {total_cpu:.1f} s (serial; the two differ when other jobs "
          f"share the cores); peak RSS {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
