"""Every notebook in notebooks/ executes at CI size and is committed without outputs.

Notebooks are found automatically (a model's `notebooks/<system>.ipynb` is picked up when it lands).
Each must have a cell tagged `parameters`; SIZE (from SIM_NOTEBOOK_SIZE, default "small") and
OUT_DIR (a temporary directory) are injected after it, papermill-style, and the notebook runs
with the `python3` kernel from the notebooks/ directory. A cell that raises fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from sim.analysis.notebook import (  # noqa: E402 - after the optional-dependency skips
    execute_notebook,
    list_notebooks,
    notebook_size,
    parameters_cell_index,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = list_notebooks(ROOT / "notebooks")


def test_notebooks_found():
    assert (ROOT / "notebooks" / "00_quickstart.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean_with_parameters(path):
    nb = nbformat.read(path, as_version=4)
    assert parameters_cell_index(nb) is not None, f"{path.name}: no code cell tagged 'parameters'"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: outputs not stripped in cells {dirty} (regenerate it from its build script)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    execute_notebook(path, {"SIZE": notebook_size(), "OUT_DIR": str(tmp_path / "out")}, timeout=900)
