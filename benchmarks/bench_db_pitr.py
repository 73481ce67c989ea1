"""Benchmark: the `db_pitr` headline scenario at its default size (and the scale scenario).

Runs every point x replication of `scenarios/db_pitr.yaml` (3 variants x 8 replications, 8 s
simulated each) serially in this process and prints per-run wall and CPU time, SimPy events,
committed transactions per wall second, peak RSS and the total. The target: under 60 s on 2 cores
(the sweep's process pool runs two at a time: about half the serial CPU total) and under 2 GB.
`--scenario scenarios/db_pitr_scale.yaml` times the 256-partition, 16-coordinator scale run;
`--profile` prints a cProfile summary of one run.

    python benchmarks/bench_db_pitr.py [--scenario scenarios/db_pitr.yaml] [--profile]

Figures are recorded in benchmarks/db_pitr.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    m = res.metrics
    p = cfg["params"]
    return (f"  {p.get('variant', 'coordinated'):<18} {p.get('partitions', 8):>4}p {p.get('coordinators', 4):>3}c "
            f"rep {r}: wall {res.wall:6.2f} s  cpu {res.cpu:6.2f} s  events {res.events:>10,}  "
            f"commits/wall s {m['commit_throughput_ops_s'] * (cfg['duration'] - cfg['warmup']) / res.wall:>8,.0f}  "
            f"recovery {m['recovery_time_s']:.3f} s  atomicity {m['atomicity_violations']:.0f}  "
            f"violations {len(res.violations)}")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "db_pitr.yaml", row))
