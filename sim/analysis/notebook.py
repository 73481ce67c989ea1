"""Executing notebooks with parameters (papermill-style), and finding the repository from a notebook.

Every notebook in `notebooks/` has one code cell tagged `parameters` defining at least `SIZE`
("small" for CI, "full" for the paper figures) and `OUT_DIR` (None: a results/ subdirectory).
`execute_notebook(path, {"SIZE": "small"})` inserts a cell tagged `injected-parameters` right after
it, as papermill does, and runs the notebook with nbclient; a cell that raises fails the call with
the cell's source and the error.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
SIZE_ENV = "SIM_NOTEBOOK_SIZE"


class NotebookError(Exception):
    """A notebook could not be executed (a cell raised, or it has no parameters cell)."""


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the nearest ancestor of `start` (default: cwd) with `pyproject.toml` and
    `sim/`, else the directory the `sim` package was imported from. Lets a notebook find
    `scenarios/...` whether it runs from the repo root or from `notebooks/`."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() and (d / "sim").is_dir():
            return d
    import sim

    return Path(sim.__file__).resolve().parent.parent


def repo_path(*parts: str) -> Path:
    """A path inside the repository (`repo_path("scenarios", "nvlog_reservation.yaml")`)."""
    return repo_root().joinpath(*parts)


def notebook_size(default: str = "small") -> str:
    """The notebook size CI asks for (`SIM_NOTEBOOK_SIZE`, default small)."""
    return os.environ.get(SIZE_ENV, default) or default


def list_notebooks(directory: str | Path | None = None) -> list[Path]:
    """Every notebook in `notebooks/` (checkpoints excluded), sorted by name."""
    d = Path(directory) if directory else repo_path("notebooks")
    return sorted(p for p in d.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def parameters_cell_index(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def inject_parameters(nb, parameters: dict[str, Any]):
    """A copy of `nb` with a cell assigning `parameters` after its `parameters` cell."""
    import nbformat

    idx = parameters_cell_index(nb)
    if idx is None:
        raise NotebookError("no code cell tagged 'parameters' (see notebooks/README.md)")
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    idx = parameters_cell_index(nb)
    if parameters:
        src = "# Parameters injected by sim.analysis.notebook\n" + "".join(
            f"{k} = {v!r}\n" for k, v in parameters.items())
        cell = nbformat.v4.new_code_cell(src, metadata={"tags": [INJECTED_TAG]})
        nb.cells.insert(idx + 1, cell)
    return nb


def strip_outputs(nb):
    """Remove outputs and execution counts (for committing)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return nb


def execute_notebook(path: str | Path, parameters: dict[str, Any] | None = None, *, cwd: str | Path | None = None,
                     timeout: int = 600, kernel_name: str = "python3", write: str | Path | None = None):
    """Execute the notebook at `path` with `parameters` injected; returns the executed notebook.

    `cwd` is the kernel's working directory (default: the notebook's directory). Raises
    NotebookError naming the failing cell when a cell raises. `write` saves the executed copy.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb = inject_parameters(nb, parameters or {})
    workdir = str(Path(cwd) if cwd else path.parent.resolve())
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": workdir}})
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as e:
        raise NotebookError(_describe_failure(path, nb, e)) from None
    finally:
        if write:
            nbformat.write(nb, str(write))
    return nb


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _describe_failure(path: Path, nb, exc: Exception) -> str:
    """`path: cell N raised Error: message`, the cell's source and the end of the traceback."""
    failed = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            failed = (i, cell)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = _ANSI.sub("", str(getattr(exc, "evalue", "")))
    head = f"{path.name}: cell {failed[0] if failed else '?'} raised {ename}: {evalue}"
    src = failed[1].source if failed else ""
    tb = _ANSI.sub("", str(exc)).strip()
    return f"{head}\n--- cell source ---\n{src}\n--- traceback (end) ---\n{tb[-2500:]}"
