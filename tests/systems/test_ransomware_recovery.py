"""ransomware_recovery: the qualitative outcomes of issue 20, determinism and bad inputs.

Small data (10,000 records) under common random numbers: the same attack in every variant.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import simpy
import yaml
from pydantic import ValidationError

from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from sim.systems.ransomware_recovery import RansomwareRecoveryParams
from sim.systems.ransomware_recovery.vault import VaultServer
from tests.systems.test_ransomware_recovery_steps import BASE


def run(tmp_path, **params):
    data = {**BASE, "params": {**BASE["params"], **params}}
    path = tmp_path / "rr.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, scen.resolved["seed"], 0)
    assert res.error is None, res.error
    assert res.metrics["invariant_violations"] == 0, res.violations
    return res.metrics


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rr")
    return {v: run(tmp, variant=v) for v in ("split_backup", "periodic_backup", "snapshot_rollback")}


def test_service_resumes_long_before_the_baselines_restore(three):
    split = three["split_backup"]
    assert split["time_to_resume_s"] < 0.5 * three["periodic_backup"]["time_to_full_restore_s"]
    assert split["time_to_resume_s"] < three["snapshot_rollback"]["time_to_resume_s"]
    assert split["time_to_full_restore_s"] >= split["time_to_resume_s"]
    assert math.isnan(three["periodic_backup"]["degraded_read_latency_p99_s"])


def test_the_split_backup_loses_far_fewer_records(three):
    assert three["split_backup"]["records_lost"] == 0
    assert three["periodic_backup"]["records_lost"] > 0
    assert three["snapshot_rollback"]["records_lost"] > 0
    assert all(m["records_wrong"] == 0 for m in three.values())
    assert three["split_backup"]["critical_bytes_in_context"] == 0


def test_degraded_reads_cost_a_round_trip_to_the_critical_store(three):
    m = three["split_backup"]
    assert m["degraded_read_latency_p99_s"] > m["normal_read_latency_p99_s"]
    assert m["degraded_throughput_ops_s"] > 0


def test_storage_overhead_grows_with_the_critical_fraction(tmp_path):
    lo = run(tmp_path, critical_fraction=0.0625)
    hi = run(tmp_path, critical_fraction=0.5)
    assert 1.0 < lo["storage_overhead_ratio"] < hi["storage_overhead_ratio"]


def test_degraded_reads_slow_with_the_critical_fraction_where_the_lookup_server_is_loaded(tmp_path):
    # 16 readers against one lookup thread (a tag per request): 1 vs 8 tags per record
    lo = run(tmp_path, critical_fraction=0.0625, probe_readers=16)
    hi = run(tmp_path, critical_fraction=0.5, probe_readers=16)
    assert hi["degraded_throughput_ops_s"] < 0.8 * lo["degraded_throughput_ops_s"]
    assert hi["degraded_read_latency_p99_s"] > lo["degraded_read_latency_p99_s"]
    # enough threads: the lookups are parallel device reads, nearly flat (the device's IOPS only)
    lo8 = run(tmp_path, critical_fraction=0.0625, probe_readers=16, vault_threads=64)
    hi8 = run(tmp_path, critical_fraction=0.5, probe_readers=16, vault_threads=64)
    assert hi8["degraded_throughput_ops_s"] > 0.9 * lo8["degraded_throughput_ops_s"]


def test_each_tag_is_its_own_request_at_the_lookup_server():
    env = simpy.Environment()

    class Disk:
        def read(self, nbytes):
            yield env.timeout(1e-6)

    def elapsed(threads: int, tags: int) -> float:
        server = VaultServer(env, SimpleNamespace(disk=Disk()), threads, 10e-6, 80.0)
        t0 = env.now
        env.run(env.process(server.resolve(tags)))
        return env.now - t0

    assert elapsed(1, 8) == pytest.approx(8 * 10e-6 + 1e-6)  # one thread: the 8 requests in turn
    assert elapsed(8, 8) == pytest.approx(10e-6 + 1e-6)  # 8 threads: in parallel
    assert elapsed(1, 1) == pytest.approx(10e-6 + 1e-6)


def test_a_reachable_backup_target_costs_the_baseline_not_the_split_backup(tmp_path, three):
    periodic = run(tmp_path, variant="periodic_backup", attacker_reaches="backup_target")
    assert periodic["records_lost"] > three["periodic_backup"]["records_lost"]
    assert periodic["records_lost"] == periodic["records_total"]  # every image encrypted: nothing to restore
    split = run(tmp_path, attacker_reaches="backup_target")
    assert split["records_lost"] == 0
    # the context store reached too: records lost are declared, none restored or served wrong
    both = run(tmp_path, attacker_reaches="backup_and_context")
    assert both["records_lost"] > 0 and both["records_wrong"] == 0


def test_the_same_seed_gives_the_same_metrics(tmp_path, three):
    again = run(tmp_path, variant="snapshot_rollback")
    assert again == three["snapshot_rollback"] or all(
        (a == b) or (math.isnan(a) and math.isnan(b)) for a, b in zip(again.values(), three["snapshot_rollback"].values(),
                                                                     strict=True))


@pytest.mark.parametrize("bad", [{"extent_size": 100}, {"tag_size": 1000}, {"fields_per_record": 63},
                                 {"attack_start_min": 10, "attack_start_max": 5}, {"critical_fraction": 1.5}])
def test_bad_params_are_rejected(bad):
    with pytest.raises(ValidationError):
        RansomwareRecoveryParams(**bad)
