"""ransomware_recovery: every central step has a check that fails when it is skipped or reordered.

Each deliberately broken variant (`params.broken`, BROKEN on purpose) against the correct
mechanism under the same scenario: classification, tag substitution, the split write (skipped,
acknowledged early, its two writes reversed), tag resolution (skipped, without its version check),
the copy-back (no re-copy of records written during it, progress recorded before the copy), and
the baselines' choice of a clean restore point. Small data (10,000 records), hours of simulated
time in a fraction of a second each.
"""

from __future__ import annotations

import pytest
import yaml

from sim.runner.replication import run_replication
from sim.scenario import load_scenario

BASE = {
    "name": "rr_steps",
    "system": "ransomware_recovery",
    "seed": 11,
    "duration": "2h",
    "params": {"files": 50, "records_per_file": 200, "extent_size": "64KiB", "write_rate": "50/s",
               "write_batch": "10s", "restore_batch": 1024, "detection_delay": "10min",
               "detection_delay_sigma": 0.0, "reimage_time": "5min", "backup_interval": "30min",
               "snapshot_interval": "10min", "probe_readers": 4},
    "faults": [{"kind": "ransomware", "target": "primary", "at": "35min", "rate": "20.97MB/s"}],
}


def run(tmp_path, faults=None, **params):
    data = {**BASE, "params": {**BASE["params"], **params}}
    if faults is not None:
        data["faults"] = faults
    path = tmp_path / "rr.yaml"
    path.write_text(yaml.safe_dump(data))
    scen = load_scenario(path)
    res = run_replication(scen.resolved, scen.resolved["seed"], 0)
    assert res.error is None, res.error
    return res


def found(res) -> set[str]:
    return {v["invariant"] for v in res.violations}


def test_the_mechanism_is_clean_and_loses_nothing(tmp_path):
    res = run(tmp_path)
    m = res.metrics
    assert m["invariant_violations"] == 0, res.violations
    assert m["records_lost"] == 0 and m["records_wrong"] == 0
    assert m["critical_bytes_in_context"] == 0
    assert m["records_encrypted"] > 0 and m["records_copied"] >= m["records_total"]


@pytest.mark.parametrize("broken", ["skip_classify", "misclassify", "skip_tag_substitution"])
def test_critical_fields_in_the_context_store_are_caught(tmp_path, broken):
    res = run(tmp_path, faults=[], broken=broken)
    assert res.metrics["critical_bytes_in_context"] > 0
    assert "context_holds_no_critical_field" in found(res)


def test_skipping_the_split_write_loses_committed_records(tmp_path):
    res = run(tmp_path, broken="skip_split_write")
    assert res.metrics["records_lost"] > 0
    assert "committed_record_lost" in found(res)


CRASH_CLASSIFIED = {"kind": "crash", "target": "primary", "point": "ransomware_recovery.split_write.classified",
                    "hit": 180, "restart_after": "1min"}
CRASH_BETWEEN = {"kind": "crash", "target": "primary", "point": "ransomware_recovery.split_write.after_first_store",
                 "hit": 180, "restart_after": "1min"}
ATTACK = BASE["faults"][0]


CRASH_PRIMARY_DURABLE = {**CRASH_CLASSIFIED, "point": "ransomware_recovery.write.primary_durable"}


@pytest.mark.parametrize("crash", [CRASH_CLASSIFIED, CRASH_PRIMARY_DURABLE], ids=["classified", "primary_durable"])
def test_acknowledging_before_the_split_write_is_caught(tmp_path, crash):
    ok = run(tmp_path, faults=[crash, ATTACK])
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    bad = run(tmp_path, faults=[crash, ATTACK], broken="ack_before_split_write")
    assert "committed_record_lost" in found(bad)


def test_a_crash_between_the_two_stores_needs_critical_first(tmp_path):
    ok = run(tmp_path, faults=[CRASH_BETWEEN, ATTACK])
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    assert ok.metrics["records_lost"] == 0
    bad = run(tmp_path, faults=[CRASH_BETWEEN, ATTACK], broken="context_before_critical")
    assert "committed_record_lost" in found(bad)


def test_tag_resolution_needs_its_version_check(tmp_path):
    bad = run(tmp_path, faults=[CRASH_BETWEEN, ATTACK], broken="skip_tag_version_check")
    assert bad.metrics["records_wrong"] > 0
    assert "restored_equals_oracle" in found(bad)


def test_skipping_tag_resolution_serves_and_restores_tags(tmp_path):
    bad = run(tmp_path, broken="skip_tag_resolution")
    assert bad.metrics["records_wrong"] > 0
    assert {"restored_equals_oracle", "served_equals_oracle"} <= found(bad)


SLOW_COPY = {"restore_parallelism": 1, "restore_batch": 256,
             "primary": {"write_bandwidth": "200KB/s", "write_iops": 2000}}


def test_records_written_during_the_copy_back_are_copied_again(tmp_path):
    ok = run(tmp_path, **SLOW_COPY)
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    assert ok.metrics["records_recopied"] > 0
    bad = run(tmp_path, broken="skip_recopy", **SLOW_COPY)
    assert "primary_equals_oracle_at_switch_back" in found(bad)


def test_progress_recorded_before_the_copy_loses_a_batch_at_a_crash(tmp_path):
    crash = {"kind": "crash", "target": "restore_agent", "point": "ransomware_recovery.restore.batch_write",
             "hit": 3, "restart_after": "1min"}
    ok = run(tmp_path, faults=[ATTACK, crash])
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    assert any(e["event"] == "fault_point" for e in ok.events)
    bad = run(tmp_path, faults=[ATTACK, crash], broken="cursor_before_copy")
    assert "restored_equals_oracle" in found(bad)


@pytest.mark.parametrize("variant", ["periodic_backup", "snapshot_rollback"])
def test_baselines_restore_only_a_clean_point(tmp_path, variant):
    slow = {"detection_delay": "45min"}  # a backup and snapshots are taken while the primary is encrypted
    ok = run(tmp_path, variant=variant, **slow)
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    assert ok.metrics["records_lost"] > 0 and ok.metrics["records_wrong"] == 0
    bad = run(tmp_path, variant=variant, broken="skip_clean_point_check", **slow)
    assert "encrypted_never_restored_as_data" in found(bad)


def test_an_agent_restart_during_failover_starts_the_copy_back_once(tmp_path):
    """Found by the swarm (seed 2097): the agent's restart and the run book both started the copier."""
    crash = {"kind": "crash", "target": "restore_agent", "at": "2790s", "restart_after": "30s"}
    res = run(tmp_path, faults=[ATTACK, crash])
    m = res.metrics
    assert m["invariant_violations"] == 0, res.violations
    assert m["time_to_full_restore_s"] > 0
    assert m["records_copied"] - m["records_recopied"] == m["records_total"]  # every batch copied once
