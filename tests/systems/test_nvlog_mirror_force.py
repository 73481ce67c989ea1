"""nvlog_mirror: the forced out-of-sync takeover scenario and the ONTAP-sourced detection default.

One replication per policy of `scenarios/nvlog_force_takeover.yaml` (partner down 4-9 ms, the
primary crashing inside the resync window): forced, the acknowledged writes the partner lacks are
lost and counted with no violation; refused, nothing is lost and the outage is longer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runner import run_scenario
from sim.scenario import load_scenario
from sim.systems.nvlog_mirror import NvlogMirror
from tests.systems.test_nvlog_mirror_faultpoints import run as run_campaign_scenario
from tests.systems.test_nvlog_mirror_faultpoints import violations

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "nvlog_force_takeover.yaml"


def run(policy: str):
    sc = load_scenario(SCENARIO, {"params.takeover_out_of_sync": policy})
    return run_scenario(sc, write=False, replications=1).metrics.iloc[0]


def test_a_forced_takeover_out_of_sync_counts_its_losses_and_a_refused_one_loses_nothing():
    forced, refused = run("force"), run("refuse")
    assert forced["takeovers"] == 1 and forced["takeovers_refused"] == 0
    # the writes acknowledged degraded that neither the resync nor a CP (to disk) had saved yet
    assert forced["lost_acknowledged_writes"] > 100
    assert forced["invariant_violations"] == 0  # the loss the rule allows, counted, not a violation
    assert refused["takeovers"] == 0 and refused["takeovers_refused"] == 1
    assert refused["lost_acknowledged_writes"] == 0 and refused["invariant_violations"] == 0
    assert refused["unavailable_s"] > forced["unavailable_s"]  # refusing costs availability instead


def test_default_failure_detection_is_ontaps_15_s_takeover_detection_time():
    p = NvlogMirror.Params()
    assert p.missed_heartbeats * p.heartbeat_interval == 15.0


OUT_OF_SYNC = [
    {"kind": "crash", "target": "partner", "at": "10ms", "restart_after": "3ms"},
    {"kind": "crash", "target": "primary", "point": "nvlog_mirror.partner.received_out_of_sync", "hit": 3,
     "restart_after": "1ms"},
]


@pytest.mark.parametrize("policy", ["refuse", "force"])
def test_the_out_of_sync_point_puts_a_primary_crash_in_the_resync_window(policy):
    res = run_campaign_scenario(OUT_OF_SYNC, duration="30ms", **{"checks.heal_phase": "5ms", "params.takeover_out_of_sync": policy})
    ev = [e["event"] for e in res.manifest["events"]]
    struck = [e for e in res.manifest["events"] if e["event"] == "fault_point"]
    assert [e["point"] for e in struck] == ["nvlog_mirror.partner.received_out_of_sync"]
    assert violations(res) == []
    m = res.metrics.iloc[0]
    if policy == "force":
        # forced out of sync; nothing is lost: the resync batch was on the link ahead of the entry that
        # hit the point, so it lands on the partner before the takeover (the oracle checks that count)
        assert "takeover_forced" in ev and m["takeovers"] == 1 and m["lost_acknowledged_writes"] == 0
    else:
        assert "takeover_refused" in ev and m["takeovers"] == 0 and m["lost_acknowledged_writes"] == 0
