"""Every registered system fulfils the System contract (see sim/core/system.py), checked without a
test written for it: its scenarios run small and deterministically, its params and metrics are
documented and declared, its fault targets carry their kinds and every kind is scheduled through a
scenario file, heals and leaves no errored replication, a campaign runs clean, and
`invariant_violations` is the ViolationLog's true count.

Kept fast: small runs (`_systems.SMALL_DURATION`), results shared between the checks (cached per
worker).
"""

from __future__ import annotations

from collections import Counter

import pytest

from sim.cli import main as cli_main
from sim.core.fault_target import FaultTarget
from sim.core.system import FRAMEWORK_METRICS, System
from sim.runner.campaign import run_campaign
from sim.runner.replication import build, run_replication, start
from sim.scenario import load_scenario
from tests.conformance import _systems as S

NAMES = S.names()
SCENARIOS = S.scenario_cases()
FRAMEWORK = {m.name for m in FRAMEWORK_METRICS}


def _info(name: str) -> S.SystemInfo:
    return S.systems()[name]


def _main(name: str):
    info = _info(name)
    if info.main_scenario is None:
        pytest.fail(f"{name}: no scenario file (scenarios/*.yaml with `system: {name}`)")
    return info, info.main_scenario


@pytest.fixture(scope="module")
def built():
    """(sim, system) of each system's main scenario, cut small, built but not started."""
    cache = {}

    def get(name):
        if name not in cache:
            info, path = _main(name)
            _full, sc = S.small_scenario(path, info.small)
            cache[name] = build(sc.resolved, sc.resolved["seed"])
        return cache[name]

    return get


# --- scenarios ------------------------------------------------------------------------------------
def test_every_system_is_checked():
    assert "primary_backup" in NAMES and "rdma_sendqueue" in NAMES, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_system_has_a_scenario(name):
    assert _info(name).scenarios, f"{name}: no scenario file names it as its `system:`"


@pytest.mark.parametrize("name,path", SCENARIOS, ids=[f"{n}-{p.stem}" for n, p in SCENARIOS])
def test_scenario_validates_and_runs_small(name, path):
    full, small = S.small_scenario(path, _info(name).small)
    assert full.resolved["system"] == name and small.resolved["duration"] <= full.resolved["duration"]
    res = S.small_run(path, _info(name).small)
    assert res.error is None, res.error  # a deadlock is a result (a baseline may deadlock on purpose)
    assert res.metrics["watchdog_timeout"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_run_is_deterministic(name):
    info, path = _main(name)
    a = S.small_run(path, info.small)
    b = S.small_run(path, info.small, attempt=1)
    assert a.error is None and b.error is None, a.error or b.error
    assert S.same_metrics(a.metrics, b.metrics), {k: (a.metrics[k], b.metrics.get(k)) for k in a.metrics
                                                  if not S.same_metrics({k: a.metrics[k]}, {k: b.metrics.get(k)})}
    assert a.violations == b.violations


# --- declared contract ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_params_and_metrics_are_documented(name):
    info = _info(name)
    assert info.doc.exists(), f"{name}: no doc at {info.doc.relative_to(S.ROOT)}"
    text = info.doc_text()
    assert text, f"{name}: no section `### `{name}`` in {info.doc.relative_to(S.ROOT)}"
    params = [f for f in info.cls.Params.model_fields if f"`{f}`" not in text]
    metrics = [m.name for m in info.cls.metrics_spec if f"`{m.name}`" not in text]
    assert not params and not metrics, (f"{name}: not in backticks in {info.doc.relative_to(S.ROOT)}: "
                                        f"params {params}, metrics {metrics}")


@pytest.mark.parametrize("name", NAMES)
def test_metrics_are_declared_once(name):
    spec = _info(name).cls.metrics_spec
    assert spec, f"{name}: empty metrics_spec"
    twice = [n for n, c in Counter(m.name for m in spec).items() if c > 1]
    assert not twice, f"{name}: declared twice in metrics_spec: {twice}"
    assert all(m.description.strip() for m in spec), f"{name}: a metric without a description"


@pytest.mark.parametrize("name", NAMES)
def test_reported_metrics_are_declared(name):
    info, path = _main(name)
    res = S.small_run(path, info.small)
    assert res.error is None, res.error
    declared = {m.name for m in info.cls.metrics_spec} | FRAMEWORK
    extra = sorted(set(res.metrics) - declared)
    assert not extra, f"{name}: metrics() returns undeclared metrics {extra}"


@pytest.mark.parametrize("name", NAMES)
def test_fault_targets_are_fault_targets(name, built):
    cls = _info(name).cls
    for legacy in ("fault_kinds", "check_fault_params"):
        assert not hasattr(cls, legacy), f"{name}: defines {legacy} (kinds and checks belong on the targets)"
    assert cls.violations is System.violations, f"{name}: overrides violations() (use check_at_end)"
    _sim, system = built(name)
    targets = system.fault_targets()
    bad = {t: type(o).__name__ for t, o in targets.items() if not isinstance(o, FaultTarget)}
    assert not bad, f"{name}: fault targets that are not FaultTargets: {bad}"
    empty = [t for t, o in targets.items() if not o.fault_kinds]
    assert not empty, f"{name}: targets without fault_kinds: {empty}"


# --- faults through a scenario file ------------------------------------------------------------------
def _fault_cases():
    """(system, target, kind): every kind of every target of each system's main scenario."""
    out = []
    for name in NAMES:
        info = _info(name)
        if info.main_scenario is None:
            continue
        try:
            _full, sc = S.small_scenario(info.main_scenario, info.small)
            _sim, system = build(sc.resolved, sc.resolved["seed"])
            targets = system.fault_targets()
        except Exception as e:  # noqa: BLE001 - reported by the case below
            out.append((name, f"<build failed: {type(e).__name__}>", ""))
            continue
        for target in sorted(targets):
            kinds = getattr(targets[target], "fault_kinds", ())
            if not isinstance(kinds, tuple | list | set | frozenset):
                out.append((name, target, f"<fault_kinds is a {type(kinds).__name__}>"))
                continue
            out += [(name, target, kind) for kind in kinds]
    return out


FAULT_CASES = _fault_cases()


@pytest.mark.parametrize("name,target,kind", FAULT_CASES, ids=[f"{n}-{t}-{k}" for n, t, k in FAULT_CASES])
def test_every_fault_kind_runs_from_a_scenario_and_heals(name, target, kind, built, tmp_path):
    assert kind and not kind.startswith("<") and not target.startswith("<"), f"{name}: {target} {kind}"
    info = _info(name)
    _sim, system = built(name)
    entry = S.fault_entry(system, target, kind, info.small)
    p = tmp_path / f"{name}_{kind}.yaml"
    p.write_text(S.fault_scenario_text(info, entry))
    sc = load_scenario(p)  # the schema path: keys resolved and checked as in any scenario file
    res = run_replication(sc.resolved, sc.resolved["seed"])
    assert res.error is None, f"{entry}: {res.error}"
    starts = [e for e in res.events if e["event"] == "fault_start"]
    assert starts, f"{entry}: never injected"
    if kind in S.HEAL_KEY:
        assert any(e["event"] == "fault_end" for e in res.events), f"{entry}: never healed"


# --- campaign ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_campaign_has_no_errored_run(name, built):
    info, path = _main(name)
    _sim, system = built(name)
    if not system.fault_targets() and system.campaign_faults() is None:
        pytest.skip(f"{name} takes no faults")
    res = run_campaign(load_scenario(path), 20, duration=info.small, heal=0.25 * info.small)
    errored = [r for r in res.runs if r.error]
    assert len(res.runs) == 20 and not errored, errored[0].error


# --- violation count -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_invariant_violations_is_the_true_count(name):
    info, path = _main(name)
    _full, sc = S.small_scenario(path, info.small)
    resolved, seed = sc.resolved, sc.resolved["seed"]
    sim, system = build(resolved, seed)
    start(sim, system, resolved.get("faults") or [])
    sim.run()
    system.metrics()
    log = system.violations()
    assert system.violations() is log  # the end checks run once
    true_count = log.count + len(sim.final_violations())
    assert len(log.details) == min(log.count, log.keep)
    row = S.small_run(path, info.small)  # the same resolved scenario and seed, run by the runner
    assert row.error is None, row.error
    assert row.metrics["invariant_violations"] == true_count


# --- `sim list metrics SYSTEM` -------------------------------------------------------------------------
def _shared_metric_names():
    owners = {}
    for name in NAMES:
        for m in _info(name).cls.metrics_spec:
            owners.setdefault(m.name, []).append((name, m.description))
    return {m: o for m, o in owners.items() if len({d for _n, d in o}) > 1}


def test_list_metrics_shows_each_systems_own_description(capsys):
    shared = _shared_metric_names()
    assert shared, "no metric name is shared by two systems with different descriptions"
    for metric, owners in shared.items():
        for name, description in owners:
            assert cli_main(["list", "metrics", name]) == 0
            out = capsys.readouterr().out
            lines = [ln for ln in out.splitlines() if ln.split() and ln.split()[0] == metric]
            assert lines and all(description in ln for ln in lines), (metric, name, description, lines)
