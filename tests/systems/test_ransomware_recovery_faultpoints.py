"""ransomware_recovery: the fault points a campaign strikes, and where they sit in the incident.

The split write's points are named by where it runs (`split_write` on the primary with no attack
running, `split_write_attacked` on the primary while it is being encrypted, `failover_write` on
the restore agent during failover), so that a swarm hit drawn among a point's hits lands in that
phase. Each variant declares only the points its actors pass and the hosts it uses. A torn split
write under attack or in failover is harmless to the mechanism and caught in the broken variants;
the model's scheduled attack waits for a crashed primary. Small data, a fraction of a second each.
"""

from __future__ import annotations

import pytest
import yaml

from sim.runner.replication import build, run_replication
from sim.scenario import load_scenario
from sim.systems.ransomware_recovery.model import FAULT_POINTS
from sim.systems.ransomware_recovery.variants import VARIANTS

BASE = {
    "name": "rr_points",
    "system": "ransomware_recovery",
    "seed": 11,
    "duration": "1h",
    "checks": {"fault_point_coverage": True},
    "params": {
        "files": 50,
        "records_per_file": 200,
        "extent_size": "64KiB",
        "write_rate": "50/s",
        "write_batch": "10s",
        "restore_batch": 1024,
        "detection_delay": "10min",
        "detection_delay_sigma": 0.0,
        "reimage_time": "5min",
        "backup_interval": "30min",
        "snapshot_interval": "10min",
        "probe_readers": 4,
    },
    "faults": [{"kind": "ransomware", "target": "primary", "at": "35min", "rate": "20.97MB/s"}],
}
ATTACK = BASE["faults"][0]
P = "ransomware_recovery."


def scenario(tmp_path, faults=None, **params):
    data = {**BASE, "params": {**BASE["params"], **params}}
    if faults is not None:
        data["faults"] = faults
    path = tmp_path / "rr.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def run(tmp_path, faults=None, **params):
    scen = scenario(tmp_path, faults, **params)
    res = run_replication(scen.resolved, scen.resolved["seed"], 0)
    assert res.error is None, res.error
    return res


def found(res) -> set[str]:
    return {v["invariant"] for v in res.violations}


def when(res, event: str) -> float:
    return next(e["time_s"] for e in res.events if e["event"] == event)


@pytest.mark.parametrize("variant", ["split_backup", "periodic_backup", "snapshot_rollback"])
def test_each_variant_passes_exactly_the_points_it_declares(tmp_path, variant):
    res = run(tmp_path, variant=variant)
    hit = {n for n, k in res.fault_point_hits.items() if k}
    declared = {fp.name for fp in FAULT_POINTS if fp.name.startswith(VARIANTS[variant].points)}
    assert hit == declared
    assert {fp.name for fp in FAULT_POINTS} >= hit


def test_the_split_write_points_are_named_by_the_phase_they_run_in(tmp_path):
    crash = {"kind": "crash", "hit": 2, "restart_after": "30s"}
    faults = [
        ATTACK,
        {**crash, "target": "primary", "point": P + "split_write_attacked.both_durable"},
        {**crash, "target": "restore_agent", "point": P + "failover_write.both_durable"},
    ]
    res = run(tmp_path, faults=faults)
    assert res.metrics["invariant_violations"] == 0, res.violations
    strikes = {e["point"]: e["time_s"] for e in res.events if e["event"] == "fault_point"}
    attack, detected, restored = when(res, "attack"), when(res, "detected"), when(res, "restored")
    assert attack < strikes[P + "split_write_attacked.both_durable"] < detected
    assert detected < strikes[P + "failover_write.both_durable"] < restored


TORN = [
    ("primary", "split_write_attacked.after_first_store"),
    ("restore_agent", "failover_write.after_first_store"),
]
CAUGHT_BY = [
    ("context_before_critical", "committed_record_lost"),
    ("skip_tag_version_check", "restored_equals_oracle"),
]


@pytest.mark.parametrize("target,point", TORN, ids=["under_attack", "in_failover"])
def test_a_torn_split_write_under_attack_or_in_failover_is_harmless_to_the_mechanism(tmp_path, target, point):
    ok = run(
        tmp_path,
        faults=[
            ATTACK,
            {"kind": "crash", "target": target, "point": P + point, "hit": 3, "restart_after": "1min"},
        ],
    )
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    assert ok.metrics["records_lost"] == 0 and ok.metrics["records_wrong"] == 0
    assert any(e["event"] == "fault_point" for e in ok.events)


@pytest.mark.parametrize("target,point", TORN, ids=["under_attack", "in_failover"])
@pytest.mark.parametrize("broken,check", CAUGHT_BY, ids=[b for b, _ in CAUGHT_BY])
def test_a_torn_split_write_under_attack_or_in_failover_needs_critical_first_and_the_version_check(
    tmp_path, target, point, broken, check
):
    bad = run(
        tmp_path,
        faults=[
            ATTACK,
            {"kind": "crash", "target": target, "point": P + point, "hit": 3, "restart_after": "1min"},
        ],
        broken=broken,
    )
    assert check in found(bad)


def test_an_acknowledged_write_lost_under_attack_is_caught_at_the_switch_back(tmp_path):
    faults = [
        ATTACK,
        {
            "kind": "crash",
            "target": "primary",
            "point": P + "split_write_attacked.classified",
            "hit": 3,
            "restart_after": "1min",
        },
    ]
    ok = run(tmp_path, faults=faults)
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    bad = run(tmp_path, faults=faults, broken="ack_before_split_write")
    # written after the attack began: not a pre-attack value, but committed
    assert "primary_equals_oracle_at_switch_back" in found(bad)


def test_the_scheduled_attack_waits_for_a_crashed_primary(tmp_path):
    crash = {"kind": "crash", "target": "primary", "at": "25min", "restart_after": "10min"}
    res = run(
        tmp_path, faults=[crash], scheduled_attack=True, attack_start_min="30min", attack_start_max="30min"
    )
    m = res.metrics
    assert m["invariant_violations"] == 0, res.violations
    assert 35 * 60 <= m["attack_time_s"] < 40 * 60  # once the primary is back (restart included)
    assert m["records_encrypted"] > 0 and m["time_to_full_restore_s"] > 0


@pytest.mark.parametrize(
    "variant,hosts",
    [
        ("split_backup", {"primary", "vault", "context_store", "restore_agent"}),
        ("periodic_backup", {"primary", "backup_target", "restore_agent"}),
        ("snapshot_rollback", {"primary"}),
    ],
)
def test_campaign_faults_strike_only_the_hosts_a_variant_uses(tmp_path, variant, hosts):
    _sim, system = build(scenario(tmp_path, variant=variant).resolved, 11)
    templates = system.campaign_faults()
    assert {t["target"] for t in templates} == hosts
    assert {t["target"] for t in templates if t["kind"] == "ransomware"} <= hosts
