"""Items 2 and 17 of issue 18: `sim results` and `sim.analysis.load_index` / `load_selection` over
runs, sweeps and campaigns; campaigns are first-class results (commit and versions recorded; replay
re-runs a campaign run; plot and report answer a campaign directory with one clear line)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.analysis import load_index, load_selection
from sim.cli import main
from tests.check.test_campaign import TOY as CAMPAIGN
from tests.runner.conftest import TOY


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results root with a run, a sweep, an interrupted-looking sweep and a campaign."""
    root = tmp_path_factory.mktemp("results")
    f = root.parent / "toy.yaml"
    f.write_text(TOY)
    s = root.parent / "sweep.yaml"
    s.write_text(TOY.replace("name: toy_sweep", "name: toy_grid")
                 + "sweep:\n  grid:\n    params.arrival_rate: [30/s, 60/s]\n")
    c = root.parent / "camp.yaml"
    c.write_text(CAMPAIGN)
    assert main(["run", str(f), "--out", str(root / "toy_sweep" / "run1"), "--no-progress"]) == 0
    assert main(["sweep", str(s), "--executor", "serial", "--out", str(root / "toy_grid" / "sw1"),
                 "--no-progress"]) == 0
    (root / "toy_grid" / "half").mkdir()
    (root / "toy_grid" / "half" / "journal.jsonl").write_text('{"key": "x"}\n')
    assert main(["campaign", str(c), "--runs", "3", "--workers", "1", "--out", str(root / "toyrep" / "c1"),
                 "--no-progress"]) == 0
    return root


def test_sim_results_lists_runs_sweeps_and_campaigns(results, capsys):
    assert main(["results", "--root", str(results)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:9] == ["when", "kind", "scenario", "system", "commit", "dirty", "n", "status", "path"]
    body = "\n".join(out[1:])
    assert " run " in body and " sweep " in body and " campaign " in body and "incomplete" in body
    row = next(ln for ln in out if ln.endswith("sw1"))
    assert "toy_grid" in row and "toy_queue" in row and " 4  ok" in row
    assert main(["results", "--root", str(results), "--system", "toy_replicated"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].endswith("c1")
    assert main(["results", "--root", str(results), "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "no results"
    assert main(["results", "--root", str(results), "--since", "yesterday"]) == 2
    assert capsys.readouterr().err.startswith("sim results: error: --since 'yesterday'")


def test_load_index_and_selection_give_tidy_frames(results):
    idx = load_index(results)
    assert set(idx["kind"]) == {"run", "sweep", "campaign"}
    assert list(idx.columns) == ["path", "kind", "scenario", "system", "commit", "dirty", "when", "n", "status"]
    assert str(idx["when"].dtype).startswith("datetime64")
    toy = load_index(results, system="toy_queue")
    runs = load_selection(toy)
    assert len(runs) == 2 + 4  # the run's replications and the sweep's runs; the incomplete one left out
    assert runs["result"].nunique() == 2
    camp = load_selection(load_index(results, system="toy_replicated"))
    assert len(camp) == 3 and {"run", "seed", "failed"} <= set(camp.columns)
    assert isinstance(runs, pd.DataFrame)


def test_campaign_json_records_commit_versions_and_base(results):
    m = json.loads((results / "toyrep" / "c1" / "campaign.json").read_text())
    for key in ("git_commit", "git_dirty", "git_diff_hash", "package_version", "python", "simpy", "code_hash"):
        assert key in m
    assert m["kind"] == "campaign" and m["system"] == "toy_replicated" and m["base"]["system"] == "toy_replicated"


def test_replay_plot_and_report_accept_a_campaign_directory(results, capsys, tmp_path):
    d = results / "toyrep" / "c1"
    assert main(["replay", str(d), "--replication", "1"]) == 0
    assert capsys.readouterr().out.startswith("match: campaign run 1")
    for cmd in (["plot", str(d), "--out", str(tmp_path / "f")], ["report", str(d), "--out", str(tmp_path / "r.html")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is a fault campaign (campaign.json)" in err[0], err
