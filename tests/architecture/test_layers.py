"""The layer contract of docs/architecture.md, checked on the real import graph of `sim`.

Function-level imports count (grimp sees them), so an import moved into a function to dodge a cycle
still shows up here as the cycle it is. Imports under `if TYPE_CHECKING:` (annotations only, never
executed) are left out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[2]


def _module_graph() -> nx.DiGraph:
    graph = grimp.build_graph("sim", cache_dir=None, exclude_type_checking_imports=True)
    g = nx.DiGraph()
    for mod in graph.modules:
        g.add_node(mod)
        for imported in graph.find_modules_directly_imported_by(mod):
            g.add_edge(mod, imported)
    return g


def _cycle_free(g: nx.DiGraph) -> nx.DiGraph:
    """Drop the edges from a package to its own submodules (an `__init__` re-exporting its parts)."""
    h = nx.DiGraph()
    h.add_nodes_from(g)
    h.add_edges_from((a, b) for a, b in g.edges if not b.startswith(a + "."))
    return h


def test_import_linter_contracts_are_kept():
    out = subprocess.run([sys.executable, "-m", "importlinter.cli", "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0 and "No module named importlinter.cli" in out.stderr:
        out = subprocess.run(["lint-imports", "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_the_module_import_graph_has_no_cycle():
    g = _cycle_free(_module_graph())
    cycles = list(nx.simple_cycles(g))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_the_layer_check_sees_a_violation():
    """The contract is not vacuous: a lower layer importing a higher one is reported."""
    g = _module_graph()
    assert g.has_edge("sim.runner.replication", "sim.faults")  # downward edge exists and is seen
    assert not any(a.startswith("sim.core") and b.startswith(("sim.runner", "sim.scenario", "sim.systems"))
                   for a, b in g.edges)
