"""Hot-path cost of nvlog_mirror's unarmed fault points, A/B in one process: A = as shipped, B = every
hot-path point called twice (B - A = the points' cost); also counts the point calls per write.

    PYTHONPATH=$PWD python benchmarks/bench_nvlog_faultpoints.py [WRITES=200000] [PAIRS=3]

Not a test. Figures: docs/models/nvlog_mirror.md ("Hot-path cost").
"""
import sys
import time

from sim.faults import schedule
from sim.runner.replication import build
from sim.scenario import load_scenario

ROOT = "scenarios/nvlog_reservation.yaml"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
sc = load_scenario(ROOT, {"workload.rate": "200k/s", "duration": N / 200e3, "warmup": 0, "params.reservation": True})

def one(mode):
    sim, system = build(sc.resolved, 1)
    calls = [0]
    real = sim.fault_point
    if mode == "count":
        def fp(name):
            calls[0] += 1
            real(name)
    elif mode == "double":
        def fp(name):
            real(name)
            real(name)
    else:
        fp = None
    if fp is not None:
        for actor in (system.txn, system.txn.slots, system.client, system.partner, system.completions):
            actor._fp = fp
    c0 = time.process_time()
    schedule(sim, system, [])
    system.start()
    sim.run()
    return time.process_time() - c0, system.c_acked.value, calls[0]

_, acked, calls = one("count")
print(f"hot-path point calls: {calls} for {acked} acknowledged writes = {calls / acked:.2f} per write", flush=True)
res = {"plain": [], "double": []}
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    for mode in ("plain", "double"):
        cpu, acked, _ = one(mode)
        res[mode].append(cpu)
        print(f"{mode:6s} run {i}: CPU {cpu:.2f} s", flush=True)
a, b = min(res["plain"]), min(res["double"])
print(f"min CPU plain {a:.3f} s, doubled {b:.3f} s: points cost {(b - a) / a:+.1%} of the run "
      f"({(b - a) / acked * 1e9:.0f} ns per write)")
