"""Benchmark: the `edge_mgmt_recovery` headline scenario at its default size.

Runs every point x replication of `scenarios/edge_mgmt_recovery.yaml` (3 variants x 5
replications, 20 min simulated each, 200,000 files) serially in this process and prints per-run
wall and CPU time, SimPy events, operations per wall second, the recovery time, peak RSS and the
total. The target is a total under 60 s on a 2-core machine with peak memory under 2 GB.
`--scenario scenarios/edge_mgmt_scale.yaml` runs the 10-million-file scale sweep instead.

    python benchmarks/bench_edge_mgmt_recovery.py [--scenario ...] [--profile]

Figures are recorded in benchmarks/edge_mgmt_recovery.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    m = res.metrics
    p = cfg["params"]
    return (f"  {p['variant']:<16} files {p['files']:>10,} rep {r}: wall {res.wall:6.2f} s  cpu {res.cpu:6.2f} s  "
            f"events {res.events:>9,}  ops/wall s {m['ops_completed'] / res.wall:>8,.0f}  "
            f"recovery {m['recovery_time_s']:.3f} s  violations {len(res.violations)}")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "edge_mgmt_recovery.yaml", row))
