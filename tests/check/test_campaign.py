"""Fault campaigns: correct variants pass, broken ones are caught, and every failure replays."""

from __future__ import annotations

import json

import pytest

from sim.cli import main as cli_main
from sim.runner.campaign import draw_schedule, run_campaign
from sim.runner.replication import run_replication
from sim.scenario import load_scenario

TOY = """\
name: toyrep
description: primary/backup key store for campaign tests
system: toy_replicated
plugins: [tests.plugins.toy_replicated]
seed: 100
duration: 200ms
params: {backups: 2}
faults:
  - {kind: crash, target: primary, at: 10ms}   # replaced by the campaign's schedules
"""


@pytest.fixture
def toy_path(tmp_path):
    p = tmp_path / "toy.yaml"
    p.write_text(TOY)
    return p


def test_correct_variant_survives_a_campaign(toy_path):
    res = run_campaign(load_scenario(toy_path), 120)
    assert len(res.runs) == 120 and not res.failures, [r.finding() for r in res.failures[:3]]
    kinds = {f["kind"] for r in res.runs for f in r.faults}
    assert kinds == {"crash", "power_loss", "link_down", "slow_link"}  # what the toy's targets take
    assert all(f["at"] < 0.15 for r in res.runs for f in r.faults)  # the last 25% is the heal phase
    assert len({json.dumps(r.faults) for r in res.runs}) == 120


def test_broken_variant_is_caught_and_each_failure_replays(toy_path, tmp_path, capsys):
    out = tmp_path / "camp"
    rc = cli_main(["campaign", str(toy_path), "--runs", "60", "--set", "params.broken=true", "--workers", "1",
                   "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 1
    summary = json.loads((out / "campaign.json").read_text())
    failed = [r for r in summary["results"] if r["failed"]]
    assert failed and all("acked_write_on_backup" in r["finding"] for r in failed)
    # every violation is counted by check, per run and over the campaign, not only the 5 details kept
    for r in summary["results"]:
        assert sum(r["violations_by_invariant"].values()) >= len(r["violations"])
        assert bool(r["violations_by_invariant"]) == r["failed"]
    by_check = {row["invariant"]: row for row in summary["failures_by_invariant"]}
    assert by_check["acked_write_on_backup"]["runs"] == len(failed)
    assert by_check["acked_write_on_backup"]["violations"] == sum(
        r["violations_by_invariant"].get("acked_write_on_backup", 0) for r in failed)
    assert any(line.split()[:1] == ["acked_write_on_backup"] for line in text.splitlines())  # the report's table
    first = failed[0]
    assert f"{first['seed']:>10}" in text and f"--seed {first['seed']} --runs 1" in text
    # replay 1: the campaign with --runs 1 from the failing seed finds the same thing
    rc = cli_main(["campaign", str(toy_path), "--runs", "1", "--seed", str(first["seed"]), "--set",
                   "params.broken=true", "--workers", "1", "--out", str(tmp_path / "one"), "--no-progress"])
    one = json.loads((tmp_path / "one" / "campaign.json").read_text())["results"][0]
    assert rc == 1 and one["faults"] == first["faults"] and one["finding"] == first["finding"]
    # replay 2: the written scenario of the failing run, run as an ordinary scenario
    failing = load_scenario(out / "failures" / f"seed-{first['seed']}.yaml")
    rep = run_replication(failing.resolved, first["seed"])
    assert rep.violations == first["violations"][: len(rep.violations)]
    # --expect-violations: success means "caught"
    assert cli_main(["campaign", str(toy_path), "--runs", "30", "--set", "params.broken=true", "--workers", "1",
                     "--out", str(tmp_path / "c2"), "--no-progress", "--expect-violations"]) == 0
    assert cli_main(["campaign", str(toy_path), "--runs", "5", "--workers", "1", "--out", str(tmp_path / "c3"),
                     "--no-progress", "--expect-violations"]) == 1


def test_a_run_that_never_recovers_is_a_finding(toy_path):
    sc = load_scenario(toy_path, {"params.resync": False, "params.keys": 100000, "params.link_latency": "2ms"})
    res = run_campaign(sc, 30, kinds=["crash", "power_loss"])
    live = [r for r in res.failures if r.violations and r.violations[0]["invariant"] == "liveness.not_converged"]
    assert live, [r.finding() for r in res.runs[:5]]
    assert all(any(f["target"] == "primary" for f in r.faults) for r in live)


def test_schedules_depend_only_on_the_run_seed_and_pools_agree(toy_path):
    templates = [{"kind": "crash", "target": "primary", "restart_after": {"dist": "uniform", "low": 0, "high": 1}}]
    assert draw_schedule(templates, 7, 1.0) == draw_schedule(templates, 7, 1.0)
    assert draw_schedule(templates, 7, 1.0) != draw_schedule(templates, 8, 1.0)
    sc = load_scenario(toy_path, {"params.broken": True})
    serial = run_campaign(sc, 12, workers=1)
    pooled = run_campaign(sc, 12, workers=2)
    assert [(r.seed, r.faults, r.violations) for r in serial.runs] == \
           [(r.seed, r.faults, r.violations) for r in pooled.runs]


def test_campaign_input_errors(toy_path, tmp_path, capsys):
    assert cli_main(["campaign", str(toy_path), "--runs", "0"]) == 2
    assert cli_main(["campaign", str(toy_path), "--kinds", "crsh"]) == 2
    assert cli_main(["campaign", str(toy_path), "--kinds", "outage", "--out", str(tmp_path / "x")]) == 2
    assert cli_main(["campaign", str(toy_path), "--heal", "1s"]) == 2
    err = capsys.readouterr().err
    assert "--runs: must be >= 1" in err and "unknown fault kind 'crsh'" in err
    assert "offers no fault templates" in err and "heal phase must be > 0" in err


def test_campaign_json_records_the_git_state_of_the_start(toy_path, tmp_path, monkeypatch):
    """A commit made while the campaign runs must not be credited with its results."""
    from sim.runner import campaign, provenance

    state = {"git_commit": "a" * 40, "git_dirty": False, "git_diff_hash": None}
    monkeypatch.setattr(provenance, "git_state", lambda: dict(state))
    real_execute = campaign._execute

    def commit_then_run(job):
        state.update(git_commit="b" * 40, git_dirty=True, git_diff_hash="0123456789abcdef")
        return real_execute(job)

    monkeypatch.setattr(campaign, "_execute", commit_then_run)
    out = tmp_path / "camp"
    assert cli_main(["campaign", str(toy_path), "--runs", "2", "--workers", "1", "--out", str(out),
                     "--no-progress"]) == 0
    summary = json.loads((out / "campaign.json").read_text())
    assert (summary["git_commit"], summary["git_dirty"], summary["git_diff_hash"]) == ("a" * 40, False, None)
