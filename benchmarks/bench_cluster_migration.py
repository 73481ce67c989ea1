"""Benchmark: the `cluster_migration` headline scenario at its default size, and the scale scenario.

Runs every point x replication of `scenarios/cluster_migration.yaml` (4 configurations x 10
replications, 60 components each) serially in this process and prints per-run wall and CPU time,
SimPy events, components migrated per wall second, peak RSS and the total. The target is a total
under 60 s on a 2-core machine and peak memory under 2 GB. `--scenario scenarios/cluster_migration_scale.yaml`
times the scale sweep (500 to 5,000 components): how the cost grows with the cluster. `--profile`
prints a cProfile summary of one run of the scenario's base point.

    python benchmarks/bench_cluster_migration.py [--scenario scenarios/cluster_migration.yaml] [--profile]

Figures are recorded in benchmarks/cluster_migration.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, peak_rss_mb, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    p, m = cfg["params"], res.metrics
    label = f"{p.get('variant', 'dependency_aware')}/{p.get('target_selection', 'compatibility')}"
    if p.get("cutover", "per_component") != "per_component":
        label += f"/{p['cutover']}"
    return (f"  {label:<32} n={int(m['components']):>5} rep {r}: wall {res.wall:6.2f} s  cpu {res.cpu:6.2f} s  "
            f"events {res.events:>9,}  components/wall s {m['components'] / res.wall:>8,.0f}  "
            f"migration {m['migration_time_s']:8.0f} s  downtime {m['downtime_total_s']:9.0f} s  "
            f"violations {len(res.violations)}  rss {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "cluster_migration.yaml", row))
