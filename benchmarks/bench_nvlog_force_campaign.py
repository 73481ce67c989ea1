"""A swarm campaign of forced out-of-sync takeovers, with each run's HA metrics.

`python -m sim campaign` reports violations only; this script runs the same swarm (same seeds, same
draws: it calls `run_campaign`) and also keeps each run's `lost_acknowledged_writes`, `takeovers`
and `takeovers_refused`, once with `takeover_out_of_sync: refuse` (the default) and once with
`force`. It shows that a forced takeover's lost acknowledged writes are counted, not reported as
violations, and that no loss goes unreported (a missing acknowledged write that is not counted
would fail `acked_write_on_partner`, a violation).

    PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_nvlog_force_campaign.py [RUNS [KINDS [POLICIES]]]

KINDS (comma-separated, e.g. `crash`; `all` for every kind) restricts the fault kinds drawn, as
`sim campaign --kinds`; POLICIES (comma-separated, default `refuse,force`) the policies run. The
swarm draws the fault point `nvlog_mirror.partner.restarted` too: a primary crash there lands in
the out-of-sync window after a partner restart, which a takeover then meets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import sim.runner.campaign as campaign
from sim.runner.replication import run_replication
from sim.scenario.schema import load_scenario, scenario_from_dict

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "nvlog_campaign.yaml"
KEYS = ("lost_acknowledged_writes", "takeovers", "takeovers_refused", "takeovers_impossible")


def run(policy: str, runs: int, kinds: list[str] | None) -> tuple[list[dict], float]:
    """The swarm campaign with `takeover_out_of_sync: policy`; one row of metrics per run."""
    rows: list[dict] = []
    original = campaign._execute

    def execute(job: tuple) -> campaign.CampaignRun:
        r = original(job)
        k, seed, resolved, faults, _ = job
        data = dict(resolved, faults=faults, seed=seed)
        m = run_replication(scenario_from_dict(data, name="<force>").resolved, seed, 0).metrics
        rows.append({"seed": seed, "violations": len(r.violations), "failed": r.failed,
                     **{key: int(m.get(key, 0)) for key in KEYS}})
        return r

    scen = load_scenario(SCENARIO, overrides={"params.takeover_out_of_sync": policy})
    campaign._execute = execute
    t0 = time.monotonic()
    try:
        campaign.run_campaign(scen, runs, seed=1, swarm=True, workers=1, kinds=kinds)
    finally:
        campaign._execute = original
    return rows, time.monotonic() - t0


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    kinds = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] != "all" else None
    policies = sys.argv[3].split(",") if len(sys.argv) > 3 else ["refuse", "force"]
    print(f"{SCENARIO.name}, {runs} runs, seeds 1..{runs}, swarm, kinds {kinds or 'all'}")
    print(f"load at start: {Path('/proc/loadavg').read_text().strip()}")
    for policy in policies:
        t_cpu = time.process_time()
        rows, wall = run(policy, runs, kinds)
        cpu = time.process_time() - t_cpu
        lossy = [r for r in rows if r["lost_acknowledged_writes"] > 0]
        print(f"{policy}: {runs} runs, {sum(r['failed'] for r in rows)} failed, "
              f"{sum(r['violations'] for r in rows)} violations, "
              f"takeovers {sum(r['takeovers'] for r in rows)}, refused {sum(r['takeovers_refused'] for r in rows)}, "
              f"impossible {sum(r['takeovers_impossible'] for r in rows)}, runs with lost acknowledged writes "
              f"{len(lossy)}, lost acknowledged writes {sum(r['lost_acknowledged_writes'] for r in rows)} "
              f"(per lossy run: {sorted(r['lost_acknowledged_writes'] for r in lossy)}), seeds of lossy runs "
              f"{[r['seed'] for r in lossy]}, wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"load at end: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
