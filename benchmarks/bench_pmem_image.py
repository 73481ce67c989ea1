"""Benchmark: the `pmem_image` headline scenario at its default size.

Runs every point x replication of `scenarios/pmem_image_capture.yaml` (6 schemes x 5 replications,
45 s simulated each: 4 GiB = 1,048,576 pages, 100k page writes/s offered, one damaged index and one
process crash per run; `--scenario` takes a copy with fewer replications) serially in this process,
and prints per-run wall and CPU time, SimPy events, page writes per CPU second, peak RSS and the
total. Targets: peak RSS under 2 GB; a total under 60 s on a 2-core machine held for the 8 runs of
the earlier 4-scheme headline (not for 30 runs). `--profile` prints a cProfile summary of one
diff_index run.

    python benchmarks/bench_pmem_image.py [--scenario scenarios/pmem_image_capture.yaml] [--profile]

Figures are recorded in benchmarks/pmem_image.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

from _harness import ROOT, TimedRun, serial_main


def row(cfg: dict, r: int, res: TimedRun) -> str:
    m = res.metrics
    return (f"  {cfg['params']['scheme']:<11} rep {r}: wall {res.wall:5.2f} s  cpu {res.cpu:5.2f} s  "
            f"events {res.events:>8,}  writes/cpu s {res.system.writes.value / res.cpu:>10,.0f}  "
            f"pause {m['capture_pause_mean_s'] * 1e3:8.3f} ms  restore {m['restore_time_s']:.4f} s  "
            f"recovery {m['recovery_time_s']:.3f} s  violations {len(res.violations)}")


if __name__ == "__main__":
    raise SystemExit(serial_main(__doc__, ROOT / "scenarios" / "pmem_image_capture.yaml", row))
