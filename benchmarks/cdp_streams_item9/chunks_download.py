"""Time each chunks recovery's download (parallel GETs + volume writes) at the headline with a fast
gp3 volume (32 GiB, 1,000 MB/s, 16,000 IOPS), seed 2024.

Usage: python benchmarks/cdp_streams_item9/chunks_download.py SCENARIO LABEL WORKERS
"""

import sys

import sim.systems.cdp_streams.recovery as recovery
from sim.runner.replication import build
from sim.scenario import load_scenario


def main(path: str, label: str, workers: int) -> None:
    over = {"params.variant": "chunks", "params.volume.capacity": 32 * 2**30,
            "params.volume.throughput": 1000e6, "params.volume.iops": 16000, "params.chunk_workers": workers}
    sim, m = build(load_scenario(path, over).resolved, 2024)
    orig = recovery.parallel
    times: list[tuple[int, float]] = []

    def timed(mm, items, fn):
        t0 = mm.env.now
        out = yield from orig(mm, items, fn)
        times.append((len(items), mm.env.now - t0))
        return out

    recovery.parallel = timed
    m.start()
    sim.run()
    met = m.metrics()
    print(label, "workers", workers, "downloads (objects, s):", [(n, round(t, 1)) for n, t in times],
          f"rto_latest_s={met['rto_latest_s']:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
