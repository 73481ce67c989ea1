"""Item 13 of issue 18: a scenario's name is one portable directory name, and nothing is written
outside the output root."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.runner.store import default_out_dir, under_root
from sim.scenario import ScenarioError, load_scenario
from tests.runner.conftest import TOY

BODY = TOY.split("\n", 1)[1]  # TOY without its name line


@pytest.mark.parametrize("name,says", [
    ("slash/../../etc", "path separator"),
    ("back\\\\slash", "path separator"),
    ("..", "'..'"),
    ("a..b", "'..'"),
    ('"tab\\there"', "control character"),
    ("“curly”", "not portable"),
    ("with space", "not portable"),
    (".hidden", "must not start"),
])
def test_bad_names_are_located_errors(tmp_path, name, says):
    f = tmp_path / "s.yaml"
    f.write_text(f"{BODY}name: {name}\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    [item] = e.value.items
    assert item.path == "name" and item.line == BODY.count("\n") + 1, str(item)
    assert says in item.message


def test_a_bad_name_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(f"name: slash/../../etc\n{BODY}")
    assert main(["run", "s.yaml", "--no-progress"]) == 2
    assert "s.yaml:1: name:" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_a_nameless_file_gets_a_portable_name_from_its_file(tmp_path):
    f = tmp_path / "my sweep “v2”.yaml"
    f.write_text(BODY)
    assert load_scenario(f).name == "my_sweep_v2"


def test_out_dirs_stay_under_the_root(tmp_path):
    assert default_out_dir("ok", "h", tmp_path).parent == tmp_path / "ok"
    with pytest.raises(ValueError):
        under_root(tmp_path, "../../etc", "x")
    with pytest.raises(ValueError):
        default_out_dir("..", "h", tmp_path)
