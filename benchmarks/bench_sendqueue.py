"""Benchmark: the `rdma_sendqueue` micro-benchmark (loss mode) against plain SimPy and Ciw.

The same M/M/8/8 loss queue (8 slots, offered load 6 Erlang, 400,000 arrivals) three ways, side by
side in one run, each repeated and the best wall time kept:
1. this framework: `scenarios/micro_rdma_sendqueue.yaml` loaded and run as one replication through
   the normal runner (`run_replication`: build, run loop with checks, metrics);
2. a plain hand-written SimPy M/M/c/c loop (a `simpy.Resource`, one process per admitted
   customer, `random.Random.expovariate` draws: the usual textbook program);
3. Ciw (`pip install ciw`; not a dependency of the project) with `queue_capacities=[0]`.
Prints arrivals per wall second, the blocking probability each measured (sanity: all near Erlang
B(8, 6) = 0.1219), and the ratios the issue asks for (>= 0.8x plain SimPy, >= 2x Ciw).

    python benchmarks/bench_sendqueue.py [--arrivals 400000] [--repeat 3]

Figures are recorded in benchmarks/components.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runner.replication import run_replication  # noqa: E402
from sim.runner.theory import erlang_b  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SLOTS, LOAD = 8, 6.0


def framework(n: int, seed: int) -> tuple[float, float]:
    scn = load_scenario(ROOT / "scenarios" / "micro_rdma_sendqueue.yaml",
                        {"params.max_arrivals": n, "params.mode": "loss", "params.slots": SLOTS,
                         "params.arrival_rate": f"{LOAD:g}/s", "params.mean_service_time": "1s",
                         "duration": f"{2 * n / LOAD:g}s"})
    t0 = time.perf_counter()
    r = run_replication(scn.resolved, seed)
    wall = time.perf_counter() - t0
    if r.error:
        raise RuntimeError(r.error)
    return wall, r.metrics["blocking_probability"]


def plain_simpy(n: int, seed: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    rnd = random.Random(seed)
    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=SLOTS)
    blocked = 0

    def customer():
        with slots.request() as req:
            yield req
            yield env.timeout(rnd.expovariate(1.0))

    def source():
        nonlocal blocked
        for _ in range(n):
            yield env.timeout(rnd.expovariate(LOAD))
            if slots.count < SLOTS:
                env.process(customer())
            else:
                blocked += 1

    env.process(source())
    env.run()
    return time.perf_counter() - t0, blocked / n


def with_ciw(n: int, seed: int) -> tuple[float, float]:
    import ciw

    t0 = time.perf_counter()
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=LOAD)],
                             service_distributions=[ciw.dists.Exponential(rate=1.0)],
                             number_of_servers=[SLOTS], queue_capacities=[0])
    ciw.seed(seed)
    q = ciw.Simulation(net)
    q.simulate_until_max_customers(n, method="Arrive")
    wall = time.perf_counter() - t0
    recs = q.get_all_records()
    rejected = sum(1 for r in recs if getattr(r, "record_type", "") == "rejection")
    return wall, rejected / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrivals", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best wall time is kept")
    ap.add_argument("--no-ciw", action="store_true")
    args = ap.parse_args()
    n = args.arrivals
    runners = {"framework rdma_sendqueue": framework, "plain SimPy M/M/c/c": plain_simpy}
    if not args.no_ciw:
        try:
            import ciw  # noqa: F401

            runners["Ciw"] = with_ciw
        except ImportError:
            print("ciw not installed (pip install ciw): skipping it", file=sys.stderr)
    best: dict[str, tuple[float, float]] = {}
    for rep in range(args.repeat):
        for name, fn in runners.items():  # interleaved, so machine load affects all alike
            wall, blocking = fn(n, seed=1 + rep)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, blocking)
    print(f"M/M/{SLOTS}/{SLOTS}, offered load {LOAD:g} Erlang, {n:,} arrivals, best of {args.repeat}; "
          f"Erlang B = {erlang_b(SLOTS, LOAD):.4f}")
    print(f"python {platform.python_version()}, simpy {simpy.__version__}, {platform.machine()} {platform.processor()}")
    print(f"{'implementation':<28} {'wall s':>8} {'arrivals/s':>12} {'blocking':>9}")
    for name, (wall, blocking) in best.items():
        print(f"{name:<28} {wall:>8.3f} {n / wall:>12,.0f} {blocking:>9.4f}")
    fw = n / best["framework rdma_sendqueue"][0]
    print(f"framework / plain SimPy = {fw / (n / best['plain SimPy M/M/c/c'][0]):.2f}x (target >= 0.8x)")
    if "Ciw" in best:
        print(f"framework / Ciw         = {fw / (n / best['Ciw'][0]):.2f}x (target >= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
