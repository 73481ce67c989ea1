"""Executing notebooks with parameters (papermill-style), finding the repository from a notebook,
building notebooks from cell lists (`notebooks/build_*.py`) and the helpers their cells share.

Every notebook in `notebooks/` has one code cell tagged `parameters` defining at least `SIZE`
(from `SIM_NOTEBOOK_SIZE`, default "small" in every notebook; "full" for the paper figures) and
`OUT_DIR` (None: a results/ subdirectory or memory), written by `parameters_source`.
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


def notebook_size(default: str = "small") -> str:  # same default as SIZE_DEFAULT
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
                            kernel_manager_class=_this_interpreter_kernel_manager(),
                            resources={"metadata": {"path": workdir}})
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as e:
        raise NotebookError(_describe_failure(path, nb, e)) from None
    finally:
        if write:
            nbformat.write(nb, str(write))
    return nb


def _this_interpreter_kernel_manager():
    """A kernel manager whose kernel runs this interpreter (so this checkout of `sim`), whatever
    `python3` kernel spec a user or another environment installed."""
    import sys

    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    class ThisInterpreterKernelManager(KernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name="Python 3 (this interpreter)", language="python")
            return self._kernel_spec

    return ThisInterpreterKernelManager


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


# --- building notebooks (used by notebooks/build_*.py) -------------------------------------------

Cells = list[tuple[str, str]]


SIZE_DEFAULT = "small"


def parameters_source(fig_names: str | None = None, extra: str = "", out_dir_note: str = "kept in memory") -> str:
    """The parameters cell every notebook shares: SIZE from `SIM_NOTEBOOK_SIZE` (default "small",
    the same in every notebook), OUT_DIR, FIG_DIR (when the notebook saves figures named `fig_names`,
    e.g. "kv_*.png") and any `extra` lines."""
    lines = ["import os", "",
             f'SIZE = os.environ.get("{SIZE_ENV}", "{SIZE_DEFAULT}")  # "small": seconds, for CI; '
             '"full": the scenario files as written',
             f"OUT_DIR = None   # where results are written (None: {out_dir_note})"]
    if fig_names:
        lines.append(f"FIG_DIR = None   # if set, figures are also saved there as {fig_names}")
    if extra:
        lines.append(extra.rstrip())
    return "\n".join(lines)


def setup_source(*, stdlib: str = "", import_sim: bool = False, names: tuple[str, ...] = (), width: int = 160,
                 extra: str = "", helpers: str = "") -> str:
    """The set-up cell of a model notebook (after its parameters cell): inline figures, pandas,
    `plots`, `SMALL`, any `extra` lines, and `sweep`/`save` from `NotebookHelpers(SIZE, OUT_DIR,
    FIG_DIR, <helpers>)`. `stdlib`: import lines before pandas's; `import_sim`: also `import sim`;
    `names`: more names from `sim.analysis.notebook` (e.g. "repo_path")."""
    lines = ["%matplotlib inline"]
    if stdlib:
        lines += [stdlib.rstrip(), ""]
    lines += ["import pandas as pd", ""]
    if import_sim:
        lines.append("import sim")
    lines += ["from sim.analysis import plots",
              f"from sim.analysis.notebook import {', '.join(sorted({'NotebookHelpers', *names}))}", "",
              'SMALL = SIZE == "small"', f'pd.set_option("display.width", {width})']
    if extra:
        lines.append(extra.rstrip())
    call = f"helpers = NotebookHelpers(SIZE, OUT_DIR, FIG_DIR{', ' + helpers if helpers else ''})"
    if len(call) > 110:
        call = f"helpers = NotebookHelpers(SIZE, OUT_DIR, FIG_DIR,\n                          {helpers})"
    lines += [call,
              "sweep, save = helpers.sweep, helpers.save  # help(helpers.sweep): what each size runs"]
    return "\n".join(lines)


def build_notebook(cells: Cells, kernel: str = "python3"):
    """A notebook of `cells`, each `(kind, source)` with kind "md", "code" or "params" (a code cell
    tagged `parameters`); cell ids are numbered, so that rebuilding gives an identical file."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        elif kind == "params":
            nb.cells.append(new_code_cell(src, metadata={"tags": [PARAMETERS_TAG]}))
        elif kind == "code":
            nb.cells.append(new_code_cell(src))
        else:
            raise ValueError(f"unknown cell kind {kind!r} (md, code or params)")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def write_notebook(cells: Cells, path: str | Path) -> Path:
    """Build the notebook of `cells`, validate it and write it (without outputs) to `path`."""
    import nbformat

    nb = build_notebook(cells)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    print("wrote", path)
    return Path(path)


# --- helpers for the cells of model notebooks ----------------------------------------------------


def sweep_checked(name: str, overrides: dict[str, Any] | None = None, *, out_dir: str | Path | None = None,
                  violated: str = "an invariant was violated"):
    """Run `scenarios/<name>.yaml` as a serial sweep with `overrides` (results written under
    `out_dir/<name>` if `out_dir` is set) and return its runs; raises AssertionError if a run failed
    (with its error) or violated an invariant (with the message `violated`)."""
    import sim

    out = None if out_dir is None else str(Path(out_dir) / name)
    runs = sim.sweep(str(repo_path("scenarios", f"{name}.yaml")), executor="serial", progress=False,
                     overrides=overrides or {}, out=out)
    if not runs["error"].isna().all():
        raise AssertionError(runs["error"].dropna().iloc[0])
    if not (runs["invariant_violations"] == 0).all():
        raise AssertionError(violated)
    return runs


def save_figure(fig, fig_dir: str | Path | None, name: str):
    """Save `fig` as `fig_dir/<name>.png` (150 dpi), creating the directory (nothing if `fig_dir` is
    None), and return it, so that a cell ending in `save_figure(...)` also shows it inline."""
    if fig_dir is not None:
        Path(fig_dir).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(fig_dir) / f"{name}.png", dpi=150, bbox_inches="tight")
    return fig


class NotebookHelpers:
    """The `sweep` and `save` a model notebook's cells share, bound to its parameters cell.

    `size`, `out_dir`, `fig_dir`: the notebook's SIZE, OUT_DIR and FIG_DIR. `small_base`: the
    overrides every sweep gets at SIZE "small" (under each call's own small overrides);
    `violated`: the message of a run that violated an invariant (see `sweep_checked`)."""

    def __init__(self, size: str, out_dir: str | Path | None = None, fig_dir: str | Path | None = None, *,
                 small_base: dict[str, Any] | None = None, violated: str = "an invariant was violated") -> None:
        self.small = size == "small"
        self.out_dir, self.fig_dir = out_dir, fig_dir
        self.small_base = dict(small_base or {})
        self.violated = violated

    def overrides(self, small: dict[str, Any] | None = None, always: dict[str, Any] | None = None) -> dict[str, Any]:
        """`small_base` and `small` at SIZE "small" (nothing at "full": the scenario file as written),
        then `always` at every size."""
        return ({**self.small_base, **(small or {})} if self.small else {}) | (always or {})

    def sweep(self, name: str, small: dict[str, Any] | None = None, always: dict[str, Any] | None = None, *,
              write: bool = True):
        """`sweep_checked` of `scenarios/<name>.yaml` with `overrides(small, always)`; results under
        OUT_DIR/<name> when OUT_DIR is set and `write`."""
        return sweep_checked(name, self.overrides(small, always), out_dir=self.out_dir if write else None,
                             violated=self.violated)

    def save(self, fig, name: str):
        """`save_figure(fig, FIG_DIR, name)`: saved when FIG_DIR is set, returned to show inline."""
        return save_figure(fig, self.fig_dir, name)


def image_outputs(nb) -> list[int]:
    """Indices of the code cells of an executed notebook that output an image (image/png)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and any("image/png" in (o.get("data") or {}) for o in c.get("outputs", []))]
