"""Sweeps started from a Jupyter kernel: spawn-safe process workers and the tidy DataFrame back."""

from __future__ import annotations

import pytest

from tests.runner.conftest import TOY


def test_sweep_runs_on_a_process_pool_from_a_notebook(tmp_path, root):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    scenario = tmp_path / "nb.yaml"
    scenario.write_text(TOY + "sweep:\n  grid:\n    params.servers: [1, 2]\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import multiprocessing, sys, time\n"
            "before = multiprocessing.get_start_method(allow_none=True)\n"
            "t0 = time.time()\n"
            f"sys.path.insert(0, {str(root)!r})\n"
            "import sim\n"
            f"df = sim.sweep({str(scenario)!r}, executor='processes', workers=2, out={str(tmp_path / 'o')!r})\n"
            "after = multiprocessing.get_start_method(allow_none=True)\n"
            # the stdlib's own spawn code pins the default context at its platform default (never to spawn)
            "assert after in (before, multiprocessing.get_all_start_methods()[0]), after\n"
            "print('took', time.time() - t0)\n"
            "print(len(df), df.attrs['runs_failed'], df['sojourn_mean_s'].notna().all())"
        )
    ]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}})
    client.execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    assert "4 0 True" in out, nb.cells[0].outputs
    assert (tmp_path / "o" / "runs.parquet").exists()
