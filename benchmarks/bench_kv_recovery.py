"""Benchmark: the `kv_recovery` headline scenario at its default size.

Runs every point x replication of `scenarios/kv_recovery.yaml` (3 variants x 3 replications,
60 s simulated each) serially in this process, and prints per-run wall and CPU time, SimPy
events, key operations per wall second, peak RSS and the total. The target is a total under
60 s on a 2-core machine. `--profile` prints a cProfile summary of one fast_restart run.

    python benchmarks/bench_kv_recovery.py [--scenario scenarios/kv_recovery.yaml] [--profile]

Figures are recorded in benchmarks/kv_recovery.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    m = res.metrics
    return (f"  {cfg['params']['variant']:<14} rep {r}: wall {res.wall:5.2f} s  cpu {res.cpu:5.2f} s  "
            f"events {res.events:>9,}  key ops/wall s {(m['reads_served'] + m['writes_acked']) / res.wall:>9,.0f}  "
            f"recovery {m['recovery_time_s']:.3f} s  first read {m['first_read_s']:.3f} s  "
            f"violations {len(res.violations)}")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "kv_recovery.yaml", row))
