"""The notebook helper: parameter injection, repository discovery, clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

from sim.analysis.notebook import (  # noqa: E402
    NotebookError,
    execute_notebook,
    inject_parameters,
    list_notebooks,
    repo_path,
    repo_root,
    strip_outputs,
)

ROOT = Path(__file__).resolve().parents[2]


def make_nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, src in cells:
        meta = {"tags": ["parameters"]} if kind == "params" else {}
        nb.cells.append(nbformat.v4.new_code_cell(src, metadata=meta) if kind != "md"
                        else nbformat.v4.new_markdown_cell(src))
    return nb


def test_inject_after_parameters_cell():
    nb = make_nb(("md", "# t"), ("params", "SIZE = 'full'\nOUT_DIR = None"), ("code", "print(SIZE)"))
    out = inject_parameters(nb, {"SIZE": "small", "OUT_DIR": "/tmp/x"})
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code", "code"]
    assert out.cells[2].metadata["tags"] == ["injected-parameters"]
    assert "SIZE = 'small'\nOUT_DIR = '/tmp/x'\n" in out.cells[2].source
    assert len(nb.cells) == 3  # the original is untouched
    again = inject_parameters(out, {"SIZE": "tiny"})  # re-injection replaces, not stacks
    assert sum("injected-parameters" in c.metadata.get("tags", []) for c in again.cells) == 1


def test_no_parameters_cell_is_an_error():
    with pytest.raises(NotebookError, match="tagged 'parameters'"):
        inject_parameters(make_nb(("code", "x = 1")), {"SIZE": "small"})


def test_repo_root_from_root_notebooks_and_elsewhere(tmp_path, monkeypatch):
    assert repo_root(ROOT) == ROOT
    assert repo_root(ROOT / "notebooks") == ROOT
    monkeypatch.chdir(tmp_path)  # outside the repo: falls back to where `sim` was imported from
    assert repo_root() == ROOT
    assert repo_path("scenarios").is_dir()


def test_committed_notebooks_listed():
    names = [p.name for p in list_notebooks(ROOT / "notebooks")]
    assert "00_quickstart.ipynb" in names and "nvlog_mirror.ipynb" in names and names == sorted(names)


def test_strip_outputs():
    nb = make_nb(("code", "1"))
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="x")]
    nb.cells[0].execution_count = 3
    strip_outputs(nb)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None


def test_failing_cell_names_cell_and_error(tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    path = tmp_path / "bad.ipynb"
    nbformat.write(make_nb(("params", "SIZE = 'full'"), ("code", "assert SIZE == 'full', f'size is {SIZE}'")), path)
    with pytest.raises(NotebookError) as e:
        execute_notebook(path, {"SIZE": "small"}, timeout=120)
    msg = str(e.value)
    assert msg.startswith("bad.ipynb: cell 2 raised AssertionError: size is small")
    assert "assert SIZE == 'full'" in msg and "\x1b[" not in msg
    execute_notebook(path, {"SIZE": "full"}, timeout=120)  # and passes with the right parameter


def test_build_notebook_is_stable_and_tags_the_parameters_cell():
    from sim.analysis.notebook import build_notebook, parameters_cell_index, parameters_source

    cells = [("md", "# title"), ("params", parameters_source("x_*.png")), ("code", "print(SIZE)")]
    nb = build_notebook(cells)
    nbformat.validate(nb)
    assert parameters_cell_index(nb) == 1
    assert [c["id"] for c in nb.cells] == ["cell-00", "cell-01", "cell-02"]
    assert nbformat.writes(build_notebook(cells)) == nbformat.writes(nb)  # rebuilding gives the same file
    assert "FIG_DIR = None" in nb.cells[1].source and "x_*.png" in nb.cells[1].source
    with pytest.raises(ValueError, match="unknown cell kind"):
        build_notebook([("markdown", "x")])


def test_notebook_helpers_apply_small_overrides_at_small_size_and_always_overrides_at_both(monkeypatch, tmp_path):
    from sim.analysis import notebook

    calls = []
    monkeypatch.setattr(notebook, "sweep_checked", lambda name, o, out_dir=None, violated="": calls.append(
        (name, o, out_dir, violated)) or name)
    base = {"duration": "1s", "replications": 2}
    small = notebook.NotebookHelpers("small", tmp_path, small_base=base, violated="oracle differs")
    full = notebook.NotebookHelpers("full", tmp_path, small_base=base)
    assert small.overrides({"replications": 1}, {"params.x": 3}) == {"duration": "1s", "replications": 1,
                                                                      "params.x": 3}
    assert full.overrides({"replications": 1}, {"params.x": 3}) == {"params.x": 3}  # the file, plus `always`
    assert small.sweep("s") == "s" and calls[-1] == ("s", base, tmp_path, "oracle differs")
    full.sweep("s", {"duration": "2s"}, write=False)
    assert calls[-1][1:3] == ({}, None)
    fig = object()
    assert full.save(fig, "x") is fig and not list(tmp_path.iterdir())  # no FIG_DIR: shown, not saved


def test_setup_source_binds_sweep_and_save_to_the_parameters(tmp_path):
    from sim.analysis.notebook import NotebookHelpers, setup_source

    src = setup_source(stdlib="import re", import_sim=True, names=("repo_path",), extra="X = 1",
                       helpers='small_base={"duration": "1s"}, violated="' + "v" * 40 + '"')
    assert src.startswith("%matplotlib inline\n") and max(map(len, src.splitlines())) <= 110
    ns = {"SIZE": "small", "OUT_DIR": str(tmp_path), "FIG_DIR": None}
    exec(src.removeprefix("%matplotlib inline\n"), ns)
    assert isinstance(ns["helpers"], NotebookHelpers) and ns["SMALL"] and ns["X"] == 1
    assert ns["sweep"] == ns["helpers"].sweep and ns["save"] == ns["helpers"].save
    assert ns["helpers"].small_base == {"duration": "1s"} and ns["helpers"].out_dir == str(tmp_path)
    assert callable(ns["repo_path"]) and ns["re"].__name__ == "re"


def test_committed_notebooks_are_what_their_build_scripts_write(tmp_path):
    """A build script edited but not run (or a notebook edited by hand) shows here."""
    import importlib.util

    from sim.analysis.notebook import build_notebook

    checked = 0
    for script in sorted((ROOT / "notebooks").glob("build_*.py")):
        spec = importlib.util.spec_from_file_location(f"_nb_{script.stem}", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        target = ROOT / "notebooks" / f"{script.stem.removeprefix('build_')}.ipynb"
        if not hasattr(module, "CELLS") or not target.exists():
            continue  # build_notebooks.py writes several; build_nvlog_mirror.py draws the doc's figures
        out = tmp_path / target.name
        nbformat.write(build_notebook(module.CELLS), str(out))
        assert out.read_text() == target.read_text(), f"{target.name}: run python notebooks/{script.name}"
        checked += 1
    assert checked >= 7
