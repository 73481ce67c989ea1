"""Benchmark: the `cdp_streams` headline scenario (scenarios/cdp_streams_compare.yaml).

Runs every replication of every point of the headline sweep (4 variants x 3 replications, 3.5
simulated hours of a 32 GiB volume at 10 writes/s each) serially in this process, timing each run
(wall and CPU), counting SimPy events and writes, and printing peak RSS; then, unless --serial-only,
the whole sweep as `python -m sim sweep` runs it (processes executor, all cores).

    python benchmarks/bench_cdp_streams.py [--serial-only] [--set KEY.PATH=VALUE]

CPU time is printed beside wall time: on a shared machine the wall time includes waiting for a
core, the CPU time does not. Figures are recorded in benchmarks/cdp_streams.md. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, peak_rss_mb, timed_run

from sim.scenario import load_scenario, parse_set_arguments

SCENARIO = ROOT / "scenarios" / "cdp_streams_compare.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(SCENARIO))
    ap.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a scenario key")
    ap.add_argument("--serial-only", action="store_true", help="skip the `sim sweep` (processes) timing")
    args = ap.parse_args()
    overrides = parse_set_arguments(args.set)
    base = load_scenario(args.scenario, overrides)
    variants = base.resolved["sweep"]["grid"]["params.variant"] if base.resolved.get("sweep") else [None]
    reps = int(base.resolved["replications"])
    print(f"{platform.python_version()} on {platform.machine()}, {base.resolved['duration'] / 3600:g} h simulated "
          f"per run, {len(variants)} variants x {reps} replications")
    print(f"{'variant':<16}{'rep':>4}{'wall_s':>9}{'cpu_s':>8}{'events':>10}{'writes':>9}{'events/s':>11}")
    total_wall = total_cpu = 0.0
    for v in variants:
        sc = load_scenario(args.scenario, {**overrides, **({"params.variant": v} if v else {})})
        for r in range(reps):
            res = timed_run(sc.resolved, sc.resolved["seed"] + r, violations=False)
            total_wall += res.wall
            total_cpu += res.cpu
            print(f"{v or '-':<16}{r:>4}{res.wall:>9.2f}{res.cpu:>8.2f}{res.events:>10d}"
                  f"{int(res.metrics['writes']):>9d}{res.events / max(res.cpu, 1e-9):>11.0f}")
    print(f"serial total: wall {total_wall:.1f} s, cpu {total_cpu:.1f} s; peak RSS {peak_rss_mb():.0f} MiB")
    if not args.serial_only:
        with tempfile.TemporaryDirectory() as tmp:  # a fresh directory: nothing is reused
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "sim", "sweep", args.scenario, "--no-progress", "--out",
                   str(Path(tmp) / "sweep"), *sum((["--set", s] for s in args.set), [])]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t0
        first = (proc.stdout.strip().splitlines() or [""])[0]
        print(f"`sim sweep` (processes): {wall:.1f} s wall, exit {proc.returncode}: {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
