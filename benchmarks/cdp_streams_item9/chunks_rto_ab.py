"""chunks RTO at the headline (`scenarios/cdp_streams_compare.yaml`), default and a fast gp3 volume
(1,000 MB/s, 16,000 IOPS, 32 workers), single replications: run with PYTHONPATH at the code to compare.

Usage: python benchmarks/cdp_streams_item9/chunks_rto_ab.py SCENARIO LABEL
"""

import sys
import time

from sim.runner.replication import run_replication
from sim.scenario import load_scenario

CONFIGS = {
    "default": {},
    "fast": {"params.volume.capacity": 32 * 2**30, "params.volume.throughput": 1000e6,
             "params.volume.iops": 16000, "params.chunk_workers": 32},
}


def main(path: str, label: str) -> None:
    for name, over in CONFIGS.items():
        for seed in (2024, 2025, 2026):
            sc = load_scenario(path, {"params.variant": "chunks", **over})
            t = time.process_time()
            r = run_replication(sc.resolved, seed)
            m = r.metrics
            print(f"{label} {name} {seed} rto_latest_s={m['rto_latest_s']:.1f} rto_past_s={m['rto_past_s']:.1f} "
                  f"verified={m['recoveries_verified']:.0f} viol={len(r.violations)} err={r.error} "
                  f"cpu={time.process_time() - t:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
