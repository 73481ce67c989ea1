"""cdp_streams fault points: a crash of the apply side at the right instant catches the BROKEN-on-purpose
`advance_applied_early` (the applied position advanced before the replica write), the correct
mechanism stays clean under the same crash, and every point a variant declares is really passed.

Runs use a small configuration (1 GiB volume, 5 writes/s, 35 simulated minutes, applies every
10 min, the drill at 25 min): about a second each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from sim.systems.cdp_streams.model import FAULT_POINTS
from sim.systems.cdp_streams.oracle import INVARIANT, REPLICA_INVARIANT

SCENARIO = """\
name: cdp_fault_point_{variant}
system: cdp_streams
seed: 3
duration: 35min
params:
  variant: {variant}
  apply_interval: 10min
  volume: {{capacity: 1GiB}}
  journal: {{capacity: 4GiB}}
  chunk_size: 1MiB
  past_points: 3
  recovery_at: 25min
  advance_applied_early: {broken}
workload:
  arrivals: {{kind: poisson, rate: 5/s}}
checks: {{fault_point_coverage: true}}
faults:
  - {{kind: crash, target: {target}, point: {point}, hit: {hit}, restart_after: 1s}}
"""

#: variant -> (target, the point right before the replica write, hit): the instant at which a
#: crash leaves a position that runs ahead of the replica in the broken variant
RIGHT_POINT = {
    "do_undo": ("instance", "cdp.apply.before_volume_write", 2),
    "periodic_apply": ("instance", "cdp.apply.before_volume_write", 2),
    "chunks": ("instance", "cdp.chunks.before_manifest", 1),
    "appliance": ("appliance", "cdp.appliance.before_replica_write", 3),
}


def run(tmp_path: Path, variant: str, broken: bool):
    target, point, hit = RIGHT_POINT[variant]
    path = tmp_path / f"{variant}_{broken}.yaml"
    path.write_text(SCENARIO.format(variant=variant, broken=str(broken).lower(), target=target, point=point,
                                    hit=hit))
    sc = load_scenario(path)
    res = run_replication(sc.resolved, int(sc.resolved["seed"]))
    assert res.error is None, res.error
    struck = [e for e in res.events if e["event"] == "fault_point"]
    assert [(e["point"], e["hit"]) for e in struck] == [(point, hit)]
    return res


@pytest.mark.parametrize("variant", sorted(RIGHT_POINT))
def test_crash_before_the_replica_write_catches_applied_advanced_early(tmp_path, variant):
    bad = run(tmp_path, variant, broken=True)
    invariants = {v["invariant"] for v in bad.violations}
    # seen at once after the crash, by comparing the replica itself with the oracle ...
    assert REPLICA_INVARIANT in invariants, bad.violations
    first = next(v for v in bad.violations if v["invariant"] == REPLICA_INVARIANT)
    assert "after a crash" in first["detail"]
    assert bad.metrics["invariant_violations"] >= 2
    good = run(tmp_path, variant, broken=False)
    assert good.metrics["invariant_violations"] == 0, good.violations
    assert good.metrics["recoveries_verified"] >= 3 and good.metrics["latest_recovered"] == 1
    # every point this variant declares is passed (a declared point that is never hit strikes nothing)
    names = [fp.name for fp in FAULT_POINTS if fp.name.startswith(_variant_points(variant))]
    missing = [n for n in names if not good.fault_point_hits.get(n)]
    assert not missing, missing


def test_recovery_check_alone_also_sees_the_lost_writes(tmp_path):
    """The recoveries' own check (recovered volume == oracle) sees it too once the crash is at the
    right instant: what was missing before fault points was the crash there, not the check."""
    bad = run(tmp_path, "do_undo", broken=True)
    assert INVARIANT in {v["invariant"] for v in bad.violations}


def _variant_points(variant: str) -> tuple[str, ...]:
    from sim.systems.cdp_streams.variants import VARIANTS

    return VARIANTS[variant].points


def test_every_declared_point_belongs_to_a_variant_and_names_real_targets():
    from sim.systems.cdp_streams.variants import VARIANTS

    prefixes = tuple(p for v in VARIANTS.values() for p in v.points)
    assert all(fp.name.startswith(prefixes) for fp in FAULT_POINTS)
    assert all(set(fp.targets) <= {"instance", "production", "appliance"} for fp in FAULT_POINTS)
