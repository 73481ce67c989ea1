"""Each kind of bad scenario input gives exit code 2 and one `FILE:LINE: key.path: message` line."""

from __future__ import annotations

import re

import pytest

from sim.cli import main

BASE = """\
name: t
system: toy_queue
plugins: [tests.plugins.toy_queue]
duration: 1s
params:
  arrival_rate: 50/s
"""


def validate(tmp_path, text: str | bytes, capsys, name: str = "s.yaml"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    code = main(["validate", str(p)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err, str(p)


def assert_one_error(code, err, path, line, keypath, words):
    assert code == 2
    assert len(err) == 1, err
    m = re.match(r"^(.*?):(\d+): (?:(\S+): )?(.*)$", err[0])
    assert m, err[0]
    assert m.group(1) == path
    assert int(m.group(2)) == line, err[0]
    if keypath is not None:
        assert m.group(3) == keypath, err[0]
    assert re.search(words, m.group(4), re.I), err[0]
    assert "Traceback" not in err[0]


def test_valid_file_passes(tmp_path, capsys):
    code, err, _ = validate(tmp_path, BASE, capsys)
    assert code == 0 and err == []


def test_yaml_syntax_error(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE + "params: [unclosed\n", capsys)
    assert_one_error(code, err, p, 8, None, "YAML error")


def test_empty_file(tmp_path, capsys):
    code, err, p = validate(tmp_path, "# only a comment\n\n", capsys)
    assert_one_error(code, err, p, 1, None, "empty")


def test_top_level_not_mapping(tmp_path, capsys):
    code, err, p = validate(tmp_path, "- a\n- b\n", capsys)
    assert_one_error(code, err, p, 1, None, "top level must be a mapping")


def test_duplicate_keys(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE + "duration: 2s\n", capsys)
    assert_one_error(code, err, p, 7, None, "duplicate key")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_inf(tmp_path, capsys, value):
    code, err, p = validate(tmp_path, BASE.replace("50/s", value), capsys)
    assert_one_error(code, err, p, 6, "params.arrival_rate", "NaN|infinite")


def test_negative_and_zero(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE.replace("duration: 1s", "duration: -1s"), capsys)
    assert_one_error(code, err, p, 4, "duration", "> 0")
    code, err, p = validate(tmp_path, BASE.replace("50/s", "0/s"), capsys)
    assert_one_error(code, err, p, 6, "params.arrival_rate", "> 0")


def test_bad_unit(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE.replace("duration: 1s", "duration: 1 fortnight"), capsys)
    assert_one_error(code, err, p, 4, "duration", "duration")
    code, err, p = validate(tmp_path, BASE.replace("50/s", "50"), capsys)
    assert code == 0  # a plain number is SI (per second)
    code, err, p = validate(tmp_path, BASE.replace("50/s", "50GB"), capsys)
    assert_one_error(code, err, p, 6, "params.arrival_rate", "rate")


def test_missing_file(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].endswith("file not found")


def test_binary_file(tmp_path, capsys):
    code, err, p = validate(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00", capsys)
    assert_one_error(code, err, p, 1, None, "binary")


def test_alias_bomb_is_refused(tmp_path, capsys):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    code, err, p = validate(tmp_path, BASE + "\n".join(lines) + "\n", capsys)
    assert code == 2 and len(err) == 1
    assert "alias bomb" in err[0] or "more than" in err[0]


def test_unknown_top_level_key_suggests(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE + "replicatons: 3\n", capsys)
    assert_one_error(code, err, p, 7, "replicatons", "did you mean 'replications'")


def test_unknown_param_key_suggests(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE + "  mean_servce: 1ms\n", capsys)
    assert_one_error(code, err, p, 7, "params.mean_servce", "did you mean 'mean_service'")


def test_unknown_system(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE.replace("system: toy_queue", "system: toy_queu"), capsys)
    assert_one_error(code, err, p, 2, "system", "did you mean 'toy_queue'")


def test_missing_required_key(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE.replace("duration: 1s\n", ""), capsys)
    assert_one_error(code, err, p, 1, "duration", "required")


def test_warmup_not_shorter_than_duration(tmp_path, capsys):
    code, err, p = validate(tmp_path, BASE + "warmup: 2s\n", capsys)
    assert code == 2 and "warmup must be shorter" in err[0]


def test_extends_overrides_and_points_at_child_lines(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(BASE)
    child = "extends: base.yaml\nname: child\nparams:\n  mean_service: -1ms\n"
    code, err, p = validate(tmp_path, child, capsys, name="child.yaml")
    assert_one_error(code, err, p, 4, "params.mean_service", ">= 0|> 0")


def test_extends_merges(tmp_path):
    from sim.scenario import load_scenario

    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nparams:\n  mean_service: 2ms\n")
    sc = load_scenario(tmp_path / "child.yaml")
    assert sc.resolved["name"] == "child"
    assert sc.resolved["params"]["arrival_rate"] == 50.0  # kept from the base
    assert sc.resolved["params"]["mean_service"] == 0.002  # overridden, unit resolved


def test_circular_extends(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n" + BASE)
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n" + BASE)
    code = main(["validate", str(tmp_path / "a.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "circular extends" in err


def test_set_override_and_bad_override(tmp_path, capsys):
    from sim.scenario import load_scenario, parse_set_arguments

    (tmp_path / "s.yaml").write_text(BASE)
    sc = load_scenario(tmp_path / "s.yaml", parse_set_arguments(["params.mean_service=3ms", "seed=5"]))
    assert sc.resolved["params"]["mean_service"] == 0.003 and sc.resolved["seed"] == 5
    code = main(["run", str(tmp_path / "s.yaml"), "--set", "params.mean_servce=3ms", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--set:0: params.mean_servce: unknown key" in err[0]
    assert not (tmp_path / "o").exists()  # nothing half-written
