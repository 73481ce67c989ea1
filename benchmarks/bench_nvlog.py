"""Benchmark: 1,000,000 mirrored writes of the `nvlog_mirror` model with send-queue reservation.

Runs one replication of `scenarios/nvlog_reservation.yaml` (reservation on) with the duration set
so that the Poisson workload offers 1,000,000 writes (unless --writes says otherwise), and prints
wall time, SimPy events processed, acknowledged writes per wall second and peak RSS.

    python benchmarks/bench_nvlog.py [--writes 1000000] [--rate 200k/s] [--set KEY=VALUE] [--profile]

CPU time is printed beside wall time: on a shared machine the wall time includes waiting for a
core, the CPU time does not.

The figure is recorded in benchmarks/nvlog.md. Not a test: nothing is asserted.
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

from sim.core.units import to_rate  # noqa: E402
from sim.runner.replication import build  # noqa: E402
from sim.scenario import load_scenario, parse_set_arguments  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=1_000_000, help="writes offered (duration = writes / rate)")
    ap.add_argument("--rate", default="200k/s", help="arrival rate")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "nvlog_reservation.yaml"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a scenario key")
    ap.add_argument("--profile", action="store_true", help="print a cProfile summary (slower)")
    args = ap.parse_args()

    rate = to_rate(args.rate)
    duration = args.writes / rate
    overrides = {**parse_set_arguments(args.set), "workload.rate": args.rate, "duration": duration, "warmup": 0,
                 "params.reservation": True}
    sc = load_scenario(args.scenario, overrides)
    sim, system = build(sc.resolved, args.seed)
    env = sim.env
    eid0 = next(env._eid)  # SimPy numbers every scheduled event: the difference counts them
    system.start()
    t0 = time.perf_counter()
    c0 = time.process_time()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        out = sim.run()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    else:
        out = sim.run()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    events = next(env._eid) - eid0 - 1
    m = system.metrics()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    acked = m["writes_acknowledged"]
    print(f"machine           : {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    print(f"scenario          : {args.scenario} (reservation on, rate {rate:.0f}/s, {duration:g} s simulated)")
    print(f"writes arrived    : {m['writes_arrived']:.0f}")
    print(f"writes acknowledged: {acked:.0f}")
    print(f"deadlocked        : {int(out.deadlock is not None)}")
    print(f"wall time         : {wall:.2f} s (CPU {cpu:.2f} s; the two differ when other jobs share the cores)")
    print(f"simpy events      : {events:,} ({events / max(acked, 1):.2f} per write)")
    print(f"writes / wall s   : {acked / wall:,.0f}")
    print(f"peak RSS          : {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
