"""periodic_apply's past-point restores at the headline: the blocks each restored snapshot holds and
the restore + initialisation time (seeds 2024-2026)."""

import sim.systems.cdp_streams.snapshots as snapshots
import sim.systems.cdp_streams.variants as variants
from sim.runner.replication import build
from sim.scenario import load_scenario


def main() -> None:
    sc = load_scenario("scenarios/cdp_streams_compare.yaml", {"params.variant": "periodic_apply"})
    orig = snapshots.recover_from_snapshot
    for seed in (2024, 2025, 2026):
        sim, m = build(sc.resolved, seed)
        log: list[tuple[int, float]] = []

        def wrapped(mm, r, log=log):
            t0 = mm.env.now
            data = yield from orig(mm, r)
            log.append((len(data), mm.env.now - t0))
            return data

        variants.recover_from_snapshot = wrapped
        m.start()
        sim.run()
        variants.recover_from_snapshot = orig
        met = m.metrics()
        for nblocks, dur in log:
            print(f"{seed} restore: blocks={nblocks} ({nblocks * 4096 / 1e9:.2f} GB at 4 KiB) "
                  f"restore+init={dur:.1f} s  rto_past_s(mean)={met['rto_past_s']:.1f}", flush=True)


if __name__ == "__main__":
    main()
