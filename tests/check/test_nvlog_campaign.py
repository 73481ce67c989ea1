"""The NVLog model under a fault campaign: the broken variant (ack before mirror) is caught.

The full 200-run campaign of the issue is a command (docs/faults.md); here a small one keeps the
suite fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runner.campaign import run_campaign
from sim.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "nvlog_campaign.yaml"

pytestmark = pytest.mark.skipif(not SCENARIO.exists(), reason="needs scenarios/nvlog_campaign.yaml")


def campaign(runs: int, **overrides):
    sc = load_scenario(SCENARIO, {"faults": [], **overrides})
    return run_campaign(sc, runs, seed=1000, duration=0.02, heal=0.006)


def test_nvlog_targets_and_kinds_come_from_the_model():
    res = campaign(1)
    kinds = {(t["target"], t["kind"]) for t in res.options["templates"]}
    assert {("primary", "crash"), ("partner", "crash"), ("interconnect", "link_down"),
            ("partner_apply", "outage")} <= kinds
    # the nodes' NVLog is battery-backed: a power loss is a crash there, so it is not drawn twice
    assert not any(kind == "power_loss" for _target, kind in kinds)


def test_ack_before_mirror_is_caught():
    res = campaign(25, **{"params.ack_before_mirror": True})
    caught = [r for r in res.runs if any(v["invariant"] == "acked_write_on_partner" for v in r.violations)]
    assert caught, [r.finding() for r in res.runs]
    assert all(any(f["target"] == "primary" for f in r.faults) for r in caught)


def test_correct_nvlog_survives_the_campaign():
    res = campaign(25)
    # no lost acknowledged write, no liveness failure, no model error
    assert not res.failures, [(r.seed, r.finding()) for r in res.failures]


def swarm(runs: int, **overrides):
    sc = load_scenario(SCENARIO, {"faults": [], **overrides})
    return run_campaign(sc, runs, seed=1, swarm=True)


def test_a_swarm_campaign_catches_the_leaked_send_queue_slot_as_a_stall():
    res = swarm(6, **{"params.leak_slot_every": 200})  # ~half the runs stall (108 and 102 of 200)
    stalled = [r for r in res.runs if any(v["invariant"] == "liveness.stall" for v in r.violations)]
    assert stalled, [r.finding() for r in res.runs]
    assert all("write_transaction#" in next(v["detail"] for v in r.violations if v["invariant"] == "liveness.stall")
               for r in stalled)
