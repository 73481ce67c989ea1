"""Faults scheduled from YAML reach the system at their times, with their params in SI units."""

from __future__ import annotations

import math
import textwrap

import pytest

from sim.faults import KINDS, schedule
from sim.runner.replication import build, run_replication
from sim.scenario import load_scenario, scenario_from_dict
from sim.scenario.errors import ScenarioError

HEAD = """\
name: faults_test
system: toy_fault_log
plugins: [tests.plugins.toy_fault_log]
seed: 3
duration: 10s
"""


def write(tmp_path, body: str, head: str = HEAD):
    p = tmp_path / "s.yaml"
    p.write_text(head + textwrap.dedent(body))
    return p


def run_log(scenario, seed=None):
    resolved = scenario.resolved
    sim, system = build(resolved, resolved["seed"] if seed is None else seed)
    schedule(sim, system, resolved["faults"])
    system.start()
    sim.run()
    return sim, system


EVERY_KIND = """\
faults:
  - {kind: crash, target: "node[0]", at: 1s, restart_after: 500ms}
  - {kind: power_loss, target: "node[1]", at: 1.5s, restore_after: 2s}
  - {kind: link_down, target: link, at: 2s, duration: 100ms}
  - {kind: slow_link, target: link, at: 3s, duration: 1s, latency_factor: 10, bandwidth: 1GB/s}
  - {kind: lose_data, target: store, at: 4s, what: log_segment, count: 2}
  - {kind: corrupt_data, target: store, at: 4.5s, what: newest_metadata_record}
  - {kind: outage, target: cloud, at: 5s, duration: 1min}
  - {kind: throttle, target: cloud, at: 6s, duration: 1s, factor: 0.1}
  - {kind: ransomware, target: "node[2]", at: 7s, rate: 100MB/s, files: 10}
  - {kind: clock_skew, target: sensor, at: 8s, offset: -20ms, drift: 50e-6, duration: 1s}
"""


def test_every_kind_is_scheduled_from_yaml(tmp_path):
    sc = load_scenario(write(tmp_path, EVERY_KIND))
    assert {f["kind"] for f in sc.resolved["faults"]} == set(KINDS)
    sim, system = run_log(sc)
    log = [(t, op, kind, target) for t, op, kind, target, _p, _i in system.log]
    assert (1.0, "inject", "crash", "node[0]") in log and (1.5, "heal", "crash", "node[0]") in log
    assert (3.5, "heal", "power_loss", "node[1]") in log
    assert any(e[:3] == (2.0, "inject", "link_down") for e in log)
    assert any(math.isclose(e[0], 2.1) and e[1:3] == ("heal", "link_down") for e in log)
    # instantaneous kinds are never healed; the outage outlives the run and is not healed either
    assert not any(op == "heal" and kind in ("lose_data", "corrupt_data", "outage") for _t, op, kind, _x in log)
    params = {e[2]: e[4] for e in system.log if e[1] == "inject"}
    assert params["slow_link"] == {"duration": 1.0, "latency_factor": 10.0, "bandwidth_factor": None,
                                   "latency": None, "bandwidth": 1e9}
    assert params["lose_data"] == {"what": "log_segment", "count": 2}  # model-specific keys passed through
    assert params["ransomware"]["rate"] == 1e8 and params["ransomware"]["files"] == 10
    assert params["clock_skew"]["offset"] == pytest.approx(-0.02) and params["clock_skew"]["drift"] == 50e-6
    assert params["throttle"]["factor"] == 0.1 and params["outage"]["duration"] == 60.0
    starts = [e for e in sim.events if e["event"] == "fault_start"]
    assert len(starts) == 10 and starts[0] == {"time_s": 1.0, "event": "fault_start", "kind": "crash",
                                               "target": "node[0]", "index": 0, "occurrence": 0,
                                               "restart_after": 0.5}


def test_faults_in_manifest_and_timeseries(tmp_path):
    from sim.runner import run_scenario

    sc = load_scenario(write(tmp_path, EVERY_KIND + "timeseries: {interval: 250ms}\n"))
    res = run_scenario(sc, tmp_path / "out")
    ev = res.manifest["events"]
    assert sum(e["event"] == "fault_start" for e in ev) == 10
    assert sum(e["event"] == "fault_end" for e in ev) == 6  # not lose/corrupt (instant), outage, ransomware
    ts = res.timeseries.set_index("time_s")["faults_active"]
    assert ts.loc[0.75] == 0 and ts.loc[1.25] == 1 and ts.loc[1.75] == 1 and ts.loc[3.25] == 2


def test_pattern_targets_expand_and_draws_come_from_fault_streams(tmp_path):
    body = """\
    faults:
      - kind: crash
        target: "node[*]"
        at: {dist: uniform, low: 1s, high: 9s}
        restart_after: {dist: exponential, mean: 100ms}
    """
    sc = load_scenario(write(tmp_path, body))
    assert sc.resolved["faults"][0]["targets"] == ["node[0]", "node[1]", "node[2]"]
    _sim, a = run_log(sc)
    _sim, b = run_log(sc)
    _sim, c = run_log(sc, seed=4)
    inj = [e for e in a.log if e[1] == "inject"]
    assert sorted(e[3] for e in inj) == ["node[0]", "node[1]", "node[2]"]
    assert len({e[0] for e in inj}) == 3 and all(1 <= e[0] <= 9 for e in inj)  # independent draws
    assert a.log == b.log and a.log != c.log
    for t, op, _k, target, params, _i in a.log:
        if op == "heal":
            start = next(e[0] for e in inj if e[3] == target)
            assert t == pytest.approx(start + params["restart_after"])


def test_recurring_failures_follow_mtbf_and_mttr(tmp_path):
    head = HEAD.replace("duration: 10s", "duration: 2000s")
    body = """\
    faults:
      - {kind: crash, target: "node[*]", mtbf: 9s, mttr: 1s, after: 10s}
    """
    sim, system = run_log(load_scenario(write(tmp_path, body, head)))
    per_node = {}
    for t, op, _k, target, params, _i in system.log:
        per_node.setdefault(target, []).append((t, op, params["restart_after"]))
    assert set(per_node) == {"node[0]", "node[1]", "node[2]"}
    for events in per_node.values():
        ops = [op for _t, op, _p in events]
        assert ops[0::2] == ["inject"] * len(ops[0::2]) and ops[1::2] == ["heal"] * len(ops[1::2])
        assert events[0][0] >= 10.0
        downs = [h[0] - i[0] for i, h in zip(events[0::2], events[1::2], strict=False)]
        # about (2000-10)/(9+1) = 199 failures each; mean repair 1 s
        assert 150 < len(downs) < 250
        assert 0.8 < sum(downs) / len(downs) < 1.2
    assert len(per_node["node[0]"]) != len(per_node["node[1]"]) or per_node["node[0]"] != per_node["node[1]"]


def test_heal_phase_turns_faults_off_and_checks_convergence(tmp_path):
    body = """\
    checks: {heal_phase: 3s}
    faults:
      - {kind: crash, target: "node[0]", at: 2s}            # permanent: healed when the heal phase starts
      - {kind: link_down, target: link, mtbf: 500ms}        # recurring: stops at the heal phase
    """
    sc = load_scenario(write(tmp_path, body))
    sim, system = run_log(sc)
    assert (7.0, "heal", "crash", "node[0]") in [e[:4] for e in system.log]
    assert all(t < 7.0 for t, op, *_ in system.log if op == "inject")
    assert not system.down
    assert {"time_s": 7.0, "event": "heal_phase_start"} in sim.events
    res = run_replication(sc.resolved, 3)
    assert res.metrics["invariant_violations"] == 0


def test_liveness_failure_is_a_finding(tmp_path):
    # the toy key store without resync after a primary restart never catches its backups up
    head = """\
    name: live
    system: toy_replicated
    plugins: [tests.plugins.toy_replicated]
    seed: 5
    duration: 400ms
    params: {keys: 100000, link_latency: 5ms}   # ~10 writes in flight; keys rarely rewritten
    checks: {heal_phase: 100ms}
    faults:
      - {kind: crash, target: primary, at: 100ms, restart_after: 20ms}
    """
    p = tmp_path / "live.yaml"
    p.write_text(textwrap.dedent(head))
    ok = run_replication(load_scenario(p).resolved, 5)
    assert ok.metrics["invariant_violations"] == 0, ok.violations
    bad = run_replication(load_scenario(p, {"params.resync": False}).resolved, 5)
    assert bad.metrics["invariant_violations"] >= 1
    assert bad.violations[0]["invariant"] == "liveness.not_converged"
    assert "behind the primary" in bad.violations[0]["detail"]


def test_resolved_faults_validate_to_themselves(tmp_path):
    sc = load_scenario(write(tmp_path, EVERY_KIND + """\
  - {kind: crash, target: "node[*]", mtbf: 1s, mttr: 100ms, until: 5s}
  - {kind: link_down, target: link, at: {dist: normal, mean: 2s, sd: 1s}, duration: {dist: lognormal, median: 1s, sigma: 0.5}}
"""))
    again = scenario_from_dict(sc.resolved)
    assert again.resolved["faults"] == sc.resolved["faults"]


BAD = [
    ("- {kind: crash, target: nodee, at: 1s}", "faults[0].target: unknown target 'nodee'; did you mean 'node["),
    ("- {kind: crash, target: 'disk[*]', at: 1s}", "faults[0].target: target pattern 'disk[*]' matches no fault target"),
    ("- {kind: crsh, target: link, at: 1s}", "faults[0].kind: unknown fault kind 'crsh'; did you mean 'crash'?"),
    ("- {target: link, at: 1s}", "faults[0]: required key 'kind' is missing"),
    ("- {kind: crash, target: sensor, at: 1s}", "faults[0].kind: target 'sensor' cannot take fault 'crash' (it takes: clock_skew)"),
    ("- {kind: crash, target: link}", "faults[0]: give exactly one of `at` (one fault), `mtbf` (recurring faults) or `point`"),
    ("- {kind: crash, target: link, at: 11s}", "faults[0].at: at 11 s falls after the end of the run"),
    ("- {kind: crash, target: link, at: -1s}", "faults[0].at: Value error, must be >= 0"),
    ("- {kind: crash, target: link, at: 1 parsec}", "faults[0].at"),
    ("- {kind: crash, target: link, at: {dist: gamma, k: 1}}", "faults[0].at: Value error, unknown distribution 'gamma'"),
    ("- {kind: crash, target: link, at: {dist: uniform, low: 2s, high: 1s}}", "low must be <= high"),
    ("- {kind: crash, target: link, at: 1s, restart_afte: 1s}", "faults[0].restart_afte: unknown key 'restart_afte'; did you mean 'restart_after'?"),
    ("- {kind: lose_data, target: store, mtbf: 1s, mttr: 1s}", "a lose_data fault is instantaneous"),
    ("- {kind: slow_link, target: link, at: 1s}", "slow_link needs latency_factor"),
    ("- {kind: throttle, target: cloud, at: 1s, factor: 2}", "faults[0].factor: Input should be less than or equal to 1"),
    ("- {kind: ransomware, target: store, at: 1s}", "faults[0].rate: required key is missing"),
    ("- {kind: clock_skew, target: sensor, at: 1s}", "clock_skew needs a non-zero offset or drift"),
    ("- {kind: crash, target: link, mttr: 1s, at: 1s}", "`mttr` goes with `mtbf`"),
    ("- 5", "faults[0]: a fault is a mapping"),
]


@pytest.mark.parametrize("entry,message", BAD)
def test_bad_faults_are_located_errors(tmp_path, entry, message):
    p = write(tmp_path, "faults:\n  " + entry + "\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    item = e.value.items[0]
    assert item.file == str(p) and item.line == 7
    assert message.replace("Value error, ", "") in str(item).replace("Value error, ", ""), str(item)


def test_heal_phase_errors(tmp_path):
    p = write(tmp_path, "checks: {heal_phase: 2s}\nfaults:\n  - {kind: crash, target: link, at: 9s}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:8: faults\[0\].at: at 9 s falls in the heal phase"):
        load_scenario(p)
    p = write(tmp_path, "checks: {heal_phase: 20s}\n")
    with pytest.raises(ScenarioError, match="heal_phase must be shorter than duration"):
        load_scenario(p)


def test_system_without_targets_rejects_faults(tmp_path):
    p = tmp_path / "q.yaml"
    p.write_text("name: q\nsystem: toy_queue\nplugins: [tests.plugins.toy_queue]\nduration: 1s\n"
                 "faults:\n  - {kind: crash, target: server, at: 1ms}\n")
    with pytest.raises(ScenarioError, match="unknown target 'server' \\(known: none: this system takes no faults\\)"):
        load_scenario(p)
