"""Run N writes of the NVLog benchmark's set-up, for counting instructions under valgrind (load-independent).

    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        $(python -c 'import sys; print(sys.executable)') benchmarks/count_nvlog.py 20000
    (and again with 1): instructions per write = (I refs at 20000 - I refs at 1) / 20000

Builds `scenarios/nvlog_reservation.yaml` as `bench_nvlog.py` does (200k/s, no warm-up, reservation
on), runs it and prints the writes acknowledged. Not a test: nothing is asserted.
"""

from __future__ import annotations

import sys

from _harness import ROOT

from sim.faults import schedule
from sim.runner.replication import build
from sim.scenario import load_scenario


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    sc = load_scenario(ROOT / "scenarios" / "nvlog_reservation.yaml",
                       {"workload.rate": "200k/s", "duration": n / 200e3, "warmup": 0, "params.reservation": True})
    sim, system = build(sc.resolved, 1)
    schedule(sim, system, [])
    system.start()
    sim.run()
    print(f"{system.metrics()['writes_acknowledged']:.0f} writes acknowledged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
