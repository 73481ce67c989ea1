"""Measure the per-entry CPU costs of the log-aggregation rebuild on this machine.

Times the model's own code paths on synthetic logs: filtering a node's log for the entries of the
lost management files (`extract_cost`: numpy selection over every entry read), merge-ordering the
extracted entries by HLC (`order_cost`: `np.lexsort` per extracted entry) and applying the
history onto a checkpoint (`apply_cost`: `state.apply_history`, a Python loop, so the figure is
an upper bound of a compiled implementation's). The `edge_mgmt_recovery` defaults come from here
(docs/models/edge_mgmt_recovery.md). Not a test: nothing is asserted.

    python benchmarks/bench_edge_mgmt_recovery_replay.py [--entries 2000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import ROOT  # noqa: F401 - puts the repository on sys.path

from sim.systems.edge_mgmt_recovery.state import ENTRY, apply_history


def best(fn, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=2_000_000, help="log entries read (all nodes)")
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    n, files, fpm = a.entries, 200_000, 10_000
    file = rng.integers(0, files, n).astype(np.uint32)
    lsn = np.arange(1, n + 1, dtype=np.int64)
    pos = np.zeros((files // fpm, 4), dtype=np.int64)
    in_job = np.zeros(files // fpm, dtype=bool)
    in_job[[1, 5, 9, 13, 17]] = True

    def extract():
        fm = file.astype(np.int64) // fpm
        keep = in_job[fm] & (lsn > pos[fm, 1])
        return file[keep]

    t_extract = best(extract) / n
    k = len(extract())
    hl = rng.random(k) * 600
    hc = rng.integers(0, 3, k).astype(np.uint32)
    node = rng.integers(0, 4, k)
    t_order = best(lambda: np.lexsort((lsn[:k], node, hc, hl))) / k
    base = np.zeros(fpm, dtype=ENTRY)
    present = np.ones(fpm, dtype=bool)
    rel = rng.integers(0, fpm, k)
    ops = rng.integers(0, 7, k).astype(np.uint8)
    args = rng.integers(1, 1 << 30, k).astype(np.uint32)
    t_apply = best(lambda: apply_history(base.copy(), present.copy(), rel, ops, args)) / k
    with open("/proc/loadavg") as fh:
        load = fh.read().strip()
    print(f"entries read {n:,}, extracted {k:,}; load {load}")
    print(f"extract_cost {t_extract * 1e6:.3f} us/entry read")
    print(f"order_cost   {t_order * 1e6:.3f} us/entry extracted")
    print(f"apply_cost   {t_apply * 1e6:.3f} us/entry applied")


if __name__ == "__main__":
    main()
