"""Item 1 of issue 18: the run cache is keyed on the code, and manifests record the git state."""

from __future__ import annotations

import json
import sys
import uuid

from sim.runner import provenance, run_scenario
from sim.runner.cache import run_key
from sim.runner.sweep import run_sweep
from sim.scenario import load_scenario
from tests.conftest import ROOT


def _plugin(tmp_path, monkeypatch):
    name = f"prov_toy_{uuid.uuid4().hex[:8]}"
    src = (ROOT / "tests" / "plugins" / "toy_queue.py").read_text()
    src = src.replace('@register_system("toy_queue")', f'@register_system("{name}")')
    (tmp_path / f"{name}.py").write_text(src)
    monkeypatch.syspath_prepend(str(tmp_path))
    scen = tmp_path / "s.yaml"
    scen.write_text(f"name: prov\nsystem: {name}\nplugins: [{name}]\nseed: 3\nduration: 1s\nreplications: 2\n"
                    "sweep:\n  grid:\n    params.arrival_rate: [30/s, 60/s]\n")
    return tmp_path / f"{name}.py", scen


def test_editing_a_plugin_reruns_its_runs_with_a_notice(tmp_path, monkeypatch, capsys):
    plugin, scen = _plugin(tmp_path, monkeypatch)
    out = tmp_path / "out"
    first = run_sweep(scen, executor="serial", out=out, progress=False)
    assert first.manifest["runs_executed"] == 4
    again = run_sweep(scen, executor="serial", out=out, progress=False)
    assert again.manifest["runs_reused"] == 4  # same code: reused
    plugin.write_text(plugin.read_text() + "\n# the model changed\n")
    capsys.readouterr()
    changed = run_sweep(scen, executor="serial", out=out, progress=False)
    assert changed.manifest["runs_reused"] == 0
    assert changed.manifest["runs_executed"] == 4
    err = capsys.readouterr().err
    assert "computed by other code" in err and len([ln for ln in err.splitlines() if "other code" in ln]) == 1


def test_the_run_key_changes_with_the_sim_sources(monkeypatch):
    cfg = {"system": "toy_queue", "plugins": ["tests.plugins.toy_queue"], "params": {}}
    before = run_key(cfg, 1)
    monkeypatch.setattr(provenance, "sim_source_hash", lambda: "something-else")
    assert run_key(cfg, 1) != before


def test_sim_source_hash_covers_every_sim_module():
    assert provenance.sim_source_hash() == provenance._hash_files(
        [p for p in provenance.SIM_ROOT.rglob("*.py") if "__pycache__" not in p.parts], provenance.SIM_ROOT)
    assert len(provenance.sim_source_hash()) == 16


def test_manifests_record_commit_dirty_flag_and_diff_hash(tmp_path, monkeypatch):
    _plugin_path, scen = _plugin(tmp_path, monkeypatch)
    res = run_sweep(scen, executor="serial", out=tmp_path / "o", progress=False)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    for key in ("git_commit", "git_dirty", "git_diff_hash", "sim_source_hash", "code_hash"):
        assert key in m and key in res.manifest
    assert m["git_commit"] is None or len(m["git_commit"]) == 40
    run = run_scenario(load_scenario(scen, {"sweep": None}), tmp_path / "r")
    for key in ("git_commit", "git_dirty", "git_diff_hash", "sim_source_hash", "code_hash"):
        assert key in run.manifest


def test_without_git_the_fields_are_null(monkeypatch):
    provenance.git_state.cache_clear()
    monkeypatch.setattr(provenance, "_git", lambda *a: None)
    try:
        assert provenance.git_state() == {"git_commit": None, "git_dirty": None, "git_diff_hash": None}
    finally:
        provenance.git_state.cache_clear()


def test_plugin_hash_is_empty_without_plugins_and_names_unknown_modules():
    assert provenance.plugin_source_hash([]) == ""
    assert provenance.plugin_source_hash(["no_such_module_xyz"]) != provenance.plugin_source_hash(["sys"])
    assert "sim" in sys.modules


def test_sweep_and_run_manifests_record_the_git_state_of_the_start(tmp_path, monkeypatch):
    """A commit made while a long sweep or run executes must not be credited with its results."""
    from sim.runner import run as run_module
    from sim.runner import sweep as sweep_module

    _plugin_path, scen = _plugin(tmp_path, monkeypatch)
    state = {"git_commit": "a" * 40, "git_dirty": False, "git_diff_hash": None}
    monkeypatch.setattr(provenance, "git_state", lambda: dict(state))

    def committing(real):
        def run_replication(*args, **kwargs):
            state["git_commit"] = "b" * 40  # the researcher commits while the replications run
            return real(*args, **kwargs)
        return run_replication

    monkeypatch.setattr(sweep_module, "run_replication", committing(sweep_module.run_replication))
    monkeypatch.setattr(run_module, "run_replication", committing(run_module.run_replication))
    swept = run_sweep(scen, executor="serial", out=tmp_path / "o", progress=False)
    assert swept.manifest["git_commit"] == "a" * 40
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["git_commit"] == "a" * 40
    state["git_commit"] = "a" * 40
    ran = run_scenario(load_scenario(scen, {"sweep": None}), tmp_path / "r")
    assert ran.manifest["git_commit"] == "a" * 40
