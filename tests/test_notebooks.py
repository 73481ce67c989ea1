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
    SIZE_DEFAULT,
    SIZE_ENV,
    execute_notebook,
    image_outputs,
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
def test_notebook_has_one_size_convention_and_draws_inline(path):
    """SIZE comes from SIM_NOTEBOOK_SIZE with the same default everywhere; nothing switches the
    backend to Agg (which draws nothing in Jupyter)."""
    nb = nbformat.read(path, as_version=4)
    params = nb.cells[parameters_cell_index(nb)].source
    assert f'SIZE = os.environ.get("{SIZE_ENV}", "{SIZE_DEFAULT}")' in params, params
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert 'matplotlib.use("Agg")' not in code and "matplotlib.use('Agg')" not in code
    assert "%matplotlib inline" in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    nb = execute_notebook(path, {"SIZE": notebook_size(), "OUT_DIR": str(tmp_path / "out")}, timeout=900)
    # its figures are rendered inline: image/png outputs in the executed notebook (FIG_DIR is None)
    assert image_outputs(nb), f"{path.name}: no cell output an image"
