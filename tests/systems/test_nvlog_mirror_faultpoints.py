"""nvlog_mirror's fault points, progress and the broken variants they must expose.

Fast single runs through load_scenario/run_scenario: a crash at the right hit of the right point
catches `ack_before_mirror`; the stall check catches `leak_slot_every`; the correct mechanism
passes both. The swarm figures (200 runs) are commands in docs/models/nvlog_mirror.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.runner import run_scenario
from sim.scenario import load_scenario
from sim.systems.nvlog_mirror import NvlogMirror

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "scenarios" / "nvlog_campaign.yaml"
PACKAGE = ROOT / "sim" / "systems" / "nvlog_mirror"


def run(faults=(), **overrides):
    sc = load_scenario(CAMPAIGN, {"faults": list(faults), **overrides})
    return run_scenario(sc, write=False, replications=1)


def violations(res):
    return [e for e in res.manifest["events"] if e["event"] == "invariant_violation"] + list(
        res.manifest.get("violations") or [])


def invariant_names(res):
    names = set()
    for v in violations(res):
        names.add(v.get("invariant") or v.get("detail", ""))
    return names


def test_every_point_called_in_the_package_is_declared_and_every_declared_one_is_called():
    called = set()
    for f in PACKAGE.glob("*.py"):
        called |= set(re.findall(r'(?:fault_point|_?fp)\("([^"]+)"\)', f.read_text()))
    declared = {fp.name for fp in NvlogMirror.fault_points}
    assert called == declared
    assert {"nvlog_mirror.reservation.granted", "nvlog_mirror.reservation.released", "nvlog_mirror.txn.mirror_posted",
            "nvlog_mirror.partner.applied", "nvlog_mirror.primary.ack_arrived", "nvlog_mirror.client.acked",
            "nvlog_mirror.takeover.checked", "nvlog_mirror.resync.started", "nvlog_mirror.resync.done"} <= declared
    assert all(n.startswith("nvlog_mirror.") for n in declared)
    assert all(fp.targets and set(fp.targets) <= {"primary", "partner"} for fp in NvlogMirror.fault_points)


MIRROR_POSTED = {"kind": "crash", "target": "primary", "point": "nvlog_mirror.txn.mirror_posted", "hit": 500,
                 "restart_after": "1ms"}


def test_ack_before_mirror_is_caught_by_a_crash_at_the_mirror_post():
    res = run([MIRROR_POSTED], duration="20ms", **{"checks.heal_phase": "5ms", "params.ack_before_mirror": True})
    assert res.metrics.invariant_violations.iloc[0] >= 1
    assert res.metrics.lost_acknowledged_writes.iloc[0] >= 1
    struck = [e for e in res.manifest["events"] if e["event"] == "fault_point"]
    assert struck and struck[0]["point"] == "nvlog_mirror.txn.mirror_posted" and struck[0]["hit"] == 500


@pytest.mark.parametrize("point", ["nvlog_mirror.txn.mirror_posted", "nvlog_mirror.client.acked",
                                   "nvlog_mirror.partner.received", "nvlog_mirror.primary.ack_arrived"])
def test_the_correct_mechanism_survives_a_primary_crash_at_each_ack_ordering_point(point):
    res = run([{**MIRROR_POSTED, "point": point}], duration="20ms", **{"checks.heal_phase": "5ms"})
    assert res.metrics.invariant_violations.iloc[0] == 0, violations(res)
    assert res.metrics.lost_acknowledged_writes.iloc[0] == 0
    struck = [e for e in res.manifest["events"] if e["event"] == "fault_point"]
    assert [e["point"] for e in struck] == [point]  # the crash did strike there
    assert res.metrics.writes_failed.iloc[0] > 0  # and it did lose the writes in progress


def test_a_leaked_send_queue_slot_stalls_the_pair_and_the_stall_names_the_waiting_transactions():
    res = run(duration="30ms", **{"params.leak_slot_every": 200, "checks": {"interval": "1ms", "stall_window": "5ms"}})
    m = res.metrics.iloc[0]
    assert m.stalled == 1 and m.deadlocked == 0
    assert 0.015 < m.time_to_stall_s < 0.03  # 64 slots, 3 per write, 1 in 200 freed lost: ~21 ms at 200k/s
    assert m.writes_in_progress > 100
    stall = [e for e in res.manifest["events"] if e["event"] == "stalled"]
    assert stall and "write_transaction#" in stall[0]["detail"] and "(suspended)" in stall[0]["detail"]
    assert "send_queue" in stall[0]["detail"]


def test_the_correct_mechanism_does_not_stall():
    res = run(duration="30ms", **{"checks": {"interval": "1ms", "stall_window": "5ms"}})
    m = res.metrics.iloc[0]
    assert m.stalled == 0 and m.invariant_violations == 0
    assert m.writes_acknowledged > 5000


def test_progress_counts_acknowledged_and_in_progress_writes():
    from sim.runner.replication import build

    sim, system = build(load_scenario(CAMPAIGN, {"faults": [], "duration": "5ms", "checks": {"interval": "1ms"}}).resolved, 1)
    system.start()
    sim.run()
    done, pending = system.progress()
    assert done == system.c_acked.value > 0
    assert pending == system.client.inflight == system.c_arrived.value - done - system.c_rejected.value - \
        system.c_failed.value


def test_a_system_built_without_a_workload_runs_the_default_200k_per_s():
    """The default workload path (the mutation run found it untested: mutants leaving `self.workload` None survived)."""
    from sim.core.simulation import Simulation
    from sim.systems.nvlog_mirror import NvlogParams

    sim = Simulation(seed=1, duration=0.002, checks={})
    system = NvlogMirror(sim, NvlogParams())
    assert system.workload is not None and system.workload.rate == 200e3
    system.start()
    sim.run()
    assert system.c_acked.value > 100


def test_without_a_stall_window_the_heal_phase_liveness_check_still_catches_the_leak():
    """converged()'s own "no write acknowledged during the heal phase": campaigns' stall window covers
    the same ground, a plain run with a heal phase and no stall window has only this check."""
    res = run(duration="40ms", **{"params.leak_slot_every": 200, "checks": {"interval": "1ms", "heal_phase": "10ms"}})
    m = res.metrics.iloc[0]
    assert m.stalled == 0  # no stall window: no stall check
    found = [v for v in res.manifest["violations"] if v["invariant"] == "liveness.not_converged"]
    assert found and "no write was acknowledged during the heal phase" in found[0]["detail"]
