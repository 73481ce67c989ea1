"""Fault points: a fault strikes at the n-th hit of a named instant, or at each hit with a probability."""

from __future__ import annotations

import json
import textwrap

import pytest

from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from sim.scenario.errors import ScenarioError

HEAD = """\
name: points
system: toy_points
plugins: [tests.plugins.toy_points]
seed: 5
duration: 50ms
"""


def scenario(tmp_path, body: str):
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + textwrap.dedent(body))
    return load_scenario(p)


def run(tmp_path, body: str):
    s = scenario(tmp_path, body)
    return run_replication(s.resolved, s.resolved["seed"])


def test_a_fault_at_the_nth_hit_strikes_at_that_instant(tmp_path):
    res = run(tmp_path, """\
        checks: {fault_point_coverage: true}
        faults:
          - {kind: crash, target: node, point: toy.between_steps, hit: 7, restart_after: 2ms}
        """)
    assert res.error is None
    strikes = [e for e in res.events if e["event"] == "fault_point"]
    assert len(strikes) == 1 and strikes[0]["hit"] == 7
    assert strikes[0]["time_s"] == pytest.approx(7e-3)  # the 7th write, 1 ms apart
    start = next(e for e in res.events if e["event"] == "fault_start")
    assert start["time_s"] == strikes[0]["time_s"]
    assert res.fault_point_hits["toy.write_start"] > res.fault_point_hits["toy.between_steps"] - 1 > 20


def test_the_crash_falls_between_the_steps_and_finds_the_broken_order(tmp_path):
    fault = """\
        faults:
          - {kind: crash, target: node, point: toy.between_steps, hit: 3, restart_after: 2ms}
        """
    ok = run(tmp_path, "params: {ack_first: false}\n" + textwrap.dedent(fault))
    broken = run(tmp_path, "params: {ack_first: true}\n" + textwrap.dedent(fault))
    assert ok.metrics["invariant_violations"] == 0
    assert broken.metrics["invariant_violations"] == 1
    assert broken.violations[0]["invariant"] == "acked_write_durable"
    # the same crash at a plain time never lands inside the zero-length window
    timed = run(tmp_path, "params: {ack_first: true}\nfaults:\n  - {kind: crash, target: node, at: 3.0005ms, "
                          "restart_after: 2ms}\n")
    assert timed.metrics["invariant_violations"] == 0


def test_probability_strikes_up_to_times_and_is_seeded(tmp_path):
    body = """\
        faults:
          - {kind: crash, target: node, point: toy.write_start, probability: 0.2, times: 3, restart_after: 1ms}
        """
    a, b = run(tmp_path, body), run(tmp_path, body)
    hits_a = [e["hit"] for e in a.events if e["event"] == "fault_point"]
    assert len(hits_a) == 3 and hits_a == [e["hit"] for e in b.events if e["event"] == "fault_point"]


def test_no_fault_during_the_heal_phase_and_unknown_points_are_located_errors(tmp_path):
    res = run(tmp_path, """\
        checks: {heal_phase: 40ms}
        faults:
          - {kind: crash, target: node, point: toy.write_start, hit: 20, restart_after: 1ms}
        """)
    assert not [e for e in res.events if e["event"] == "fault_point"]
    with pytest.raises(ScenarioError, match=r"s.yaml:7: faults\[0\].point: .*did you mean 'toy.write_start'"):
        scenario(tmp_path, "faults:\n  - {kind: crash, target: node, point: toy.write_strt, hit: 1}\n")
    with pytest.raises(ScenarioError, match=r"exactly one of `hit`"):
        scenario(tmp_path, "faults:\n  - {kind: crash, target: node, point: toy.write_start}\n")
    with pytest.raises(ScenarioError, match=r"exactly one of `at`"):
        scenario(tmp_path, "faults:\n  - {kind: crash, target: node, at: 1ms, point: toy.write_start, hit: 1}\n")


def test_a_swarm_campaign_finds_the_zero_length_window_and_reports_coverage(tmp_path):
    from sim.runner.campaign import format_report, run_campaign, write_campaign

    s = scenario(tmp_path, "params: {ack_first: true}\n")
    plain = run_campaign(s, 20, duration=0.05)
    assert not plain.failures  # uniform times never land between the two steps
    swarm = run_campaign(s, 20, duration=0.05, swarm=True)
    assert swarm.failures, "the swarm campaign with fault points should catch the broken order"
    r = swarm.failures[0]
    assert any(f.get("point") == "toy.between_steps" for f in r.faults) and r.swarm["on"]
    out = write_campaign(swarm, tmp_path / "camp")
    text = format_report(swarm, "s.yaml", " --swarm")
    assert "fault points: 2/2 hit" in text and "--swarm" in text
    replay = load_scenario(out / "failures" / f"seed-{r.seed}.yaml")
    again = run_replication(replay.resolved, r.seed)
    assert again.metrics["invariant_violations"] >= 1  # the failure file replays the failure
    ok = run_campaign(scenario(tmp_path, "params: {ack_first: false}\n"), 20, duration=0.05, swarm=True)
    assert not ok.failures


def test_a_campaign_reports_points_its_variant_does_not_pass_apart_from_never_hit(tmp_path):
    """A point declared for other variants is not a coverage gap of this one."""
    from sim.runner.campaign import format_report, run_campaign, write_campaign

    res = run_campaign(scenario(tmp_path, "params: {one_step: true}\n"), 4, duration=0.05, swarm=True)
    text = format_report(res, "s.yaml", " --swarm")
    assert "fault points: 1/1 hit (+1 declared for other variants" in text
    row = next(line for line in text.splitlines() if "toy.between_steps" in line)
    assert row.endswith("not in this variant") and "NEVER HIT" not in text
    assert not any(f.get("point") == "toy.between_steps" for r in res.runs for f in r.faults)
    out = write_campaign(res, tmp_path / "camp")
    cov = {c["point"]: c for c in json.loads((out / "campaign.json").read_text())["coverage"]}
    assert cov["toy.between_steps"]["in_variant"] is False and cov["toy.write_start"]["in_variant"] is True


def test_a_plain_campaign_says_it_did_not_count_hits_instead_of_never_hit(tmp_path):
    from sim.runner.campaign import format_report, run_campaign

    text = format_report(run_campaign(scenario(tmp_path, ""), 2, duration=0.05), "s.yaml")
    assert "fault points: 2 declared, hits not counted" in text and "NEVER HIT" not in text
    counted = run_campaign(scenario(tmp_path, "checks: {fault_point_coverage: true}\n"), 2, duration=0.05)
    assert "fault points: 2/2 hit" in format_report(counted, "s.yaml")
