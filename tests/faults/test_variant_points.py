"""Each variant's fault-point list is the points its code passes, and campaigns draw `power_loss`
only where it differs from a `crash`.

A model declares every variant's points on its class and narrows its instance's `fault_points` to
the variant's; a swarm campaign draws faults only at those and its report marks the others "not in
this variant" instead of "NEVER HIT". The first test runs each narrowed variant once (recovery
points need a crash to be reached, so some runs carry one) and checks that the points hit are
exactly the kept ones.
"""

from __future__ import annotations

import pytest

from sim.components.host import Host
from sim.components.memory import PmemParams
from sim.components.node import NodeParams, StorageNode
from sim.core.simulation import Simulation
from sim.runner.campaign import campaign_kinds, point_templates
from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from sim.scenario.faults import probe_targets

KV = "scenarios/kv_recovery_swarm.yaml"
KV_CRASHES = [{"kind": "crash", "target": "primary", "at": 4.0, "restart_after": 0.5},
              {"kind": "crash", "target": "node", "at": 7.0, "restart_after": 0.5}]
EDGE = "scenarios/edge_mgmt_recovery_swarm.yaml"
EDGE_CRASH = [{"kind": "crash", "target": "node[1]", "at": 30.0, "restart_after": 10.0}]
DB = "scenarios/db_pitr_campaign.yaml"  # its run includes the point-in-time restore
PMEM = "scenarios/pmem_image_swarm.yaml"
GROUP = {"params.log_flush_interval": 0.05}  # group commit: the log points are passed
RANSOM = "scenarios/ransomware_recovery_campaign.yaml"  # its run includes the attack and the restore
CM = "scenarios/cluster_migration.yaml"

CASES = [
    (KV, {"params.variant": v}, KV_CRASHES) for v in ("fast_restart", "no_checkpoint", "no_replicas")
] + [
    (EDGE, {"params.variant": v}, EDGE_CRASH) for v in ("log_aggregation", "crawl", "backup_restore")
] + [
    (DB, {"params.variant": v}, []) for v in ("coordinated", "independent", "single_coordinator")
] + [
    (PMEM, {"params.scheme": s, **g}, [])
    for s in ("full_index", "diff_index", "copy_whole", "copy_dirty", "fork_snapshot", "criu_predump")
    for g in ({}, GROUP)
] + [
    (RANSOM, {"params.variant": v}, []) for v in ("split_backup", "periodic_backup", "snapshot_rollback")
] + [
    (CM, {"params.variant": v}, []) for v in ("dependency_aware", "naive_parallel", "naive_order", "tier_runbook")
]


def _system(scen):
    cls = scen.system_cls
    r = scen.resolved
    workload = cls.Workload.model_validate(r.get("workload") or {}) if cls.Workload is not None else None
    return probe_targets(cls, cls.Params.model_validate(r["params"]), workload, r["duration"])


@pytest.mark.parametrize(("path", "overrides", "faults"), CASES,
                         ids=[f"{p.split('/')[-1][:-5]}-{'-'.join(map(str, o.values()))}" for p, o, _f in CASES])
def test_a_variant_passes_exactly_the_points_it_keeps(path, overrides, faults):
    scen = load_scenario(path, {**overrides, "faults": faults, "checks.fault_point_coverage": True})
    kept = {fp.name for fp in _system(scen).fault_points}
    declared = {fp.name for fp in scen.system_cls.fault_points}
    res = run_replication(scen.resolved, int(scen.resolved["seed"]), 0)
    assert res.error is None
    hit = {n for n, k in res.fault_point_hits.items() if k}
    assert hit == kept, f"hit but dropped: {sorted(hit - kept)}; kept but not hit: {sorted(kept - hit)}"
    assert kept <= declared


def test_the_baselines_drop_the_points_only_the_mechanism_passes():
    """The narrowing is not vacuous: each of these variants keeps fewer points than its class declares."""
    for path, overrides in ((KV, {"params.variant": "no_checkpoint"}), (KV, {"params.variant": "no_replicas"}),
                            (EDGE, {"params.variant": "crawl"}), (DB, {"params.variant": "independent"}),
                            (PMEM, {"params.scheme": "copy_dirty"}), (PMEM, {"params.scheme": "full_index"}),
                            (RANSOM, {"params.variant": "periodic_backup"})):
        scen = load_scenario(path, {**overrides, "faults": []})
        assert len(_system(scen).fault_points) < len(scen.system_cls.fault_points), (path, overrides)


# --- power_loss where it is a crash ----------------------------------------------------------------
def test_power_loss_is_a_crash_on_a_host_and_on_a_node_without_pmem():
    sim = Simulation(seed=0, duration=1.0)
    assert Host(sim, None, "h").power_loss_is_crash()
    assert StorageNode(sim, NodeParams(), "plain").power_loss_is_crash()
    assert not StorageNode(sim, NodeParams(pmem=PmemParams()), "with_pmem").power_loss_is_crash()


class _Targets:
    def __init__(self, targets):
        self._t = targets

    def fault_targets(self):
        return self._t


def test_campaign_kinds_leave_out_power_loss_only_where_it_is_a_crash():
    sim = Simulation(seed=0, duration=1.0)
    system = _Targets({"plain": StorageNode(sim, NodeParams(), "plain"),
                       "pmem": StorageNode(sim, NodeParams(pmem=PmemParams()), "pmem")})
    assert "power_loss" not in campaign_kinds(system, "plain") and "crash" in campaign_kinds(system, "plain")
    assert {"crash", "power_loss"} <= set(campaign_kinds(system, "pmem"))


@pytest.mark.parametrize(("path", "power_losses"), [(RANSOM, False), (EDGE, False), (CM, False), (PMEM, True)])
def test_point_templates_draw_power_loss_only_on_targets_that_lose_more(path, power_losses):
    """ransomware_recovery's arrays, edge_mgmt_recovery's nodes and cluster_migration's hosts have no
    PMEM: a crash at each point, no power loss besides. pmem_image's node drops PMEM's unpersisted stores."""
    scen = load_scenario(path, {"faults": []})
    templates = point_templates(_system(scen), 1.0)
    assert templates and any(t["kind"] == "crash" for t in templates)
    assert any(t["kind"] == "power_loss" for t in templates) == power_losses


@pytest.mark.parametrize(("path", "fault"), [
    (EDGE, {"target": "node[1]", "at": 30.0}),
    (RANSOM, {"target": "restore_agent", "at": 3600.0}),
])
def test_a_power_loss_where_it_is_a_crash_gives_the_same_run(path, fault):
    """What `power_loss_is_crash` claims: the same fault as a power loss changes no metric."""
    out = []
    for kind, heal in (("crash", "restart_after"), ("power_loss", "restore_after")):
        scen = load_scenario(path, {"faults": [{"kind": kind, heal: 10.0, **fault}]})
        res = run_replication(scen.resolved, int(scen.resolved["seed"]), 0)
        assert res.error is None
        out.append({k: v for k, v in res.metrics.items() if v == v})  # NaN: not reached, in both
    assert out[0] == out[1]
    assert out[0].keys() == out[1].keys()
