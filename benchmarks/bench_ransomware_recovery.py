"""Benchmark: the `ransomware_recovery` headline scenario at its default size, and the scale one.

Runs every point x replication of `scenarios/ransomware_recovery.yaml` (3 variants x 4
replications, 10 M records, 30 h simulated each) serially in this process and prints per-run
wall and CPU time, SimPy events, peak RSS and the total; the target is a total under 60 s on 2
cores and a peak under 2 GB. `--scenario scenarios/ransomware_scale.yaml` measures how the cost
grows from 1 M to 100 M records. `--profile` prints a cProfile summary of one run.

    python benchmarks/bench_ransomware_recovery.py [--scenario scenarios/ransomware_scale.yaml] [--profile]

Figures are recorded in benchmarks/ransomware_recovery.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, peak_rss_mb, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    m = res.metrics
    p = cfg["params"]
    return (f"  {p['variant']:<17} records {m['records_total']:>11,.0f} rep {r}: wall {res.wall:6.2f} s  "
            f"cpu {res.cpu:6.2f} s  events {res.events:>9,}  peak RSS {peak_rss_mb():7.0f} MB  "
            f"resume {m['time_to_resume_s']:8.1f} s  full {m['time_to_full_restore_s']:8.1f} s  "
            f"lost {m['records_lost']:>10,.0f}  violations {len(res.violations)}")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "ransomware_recovery.yaml", row))
