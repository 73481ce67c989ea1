"""Analysis of result directories: loading, statistics, figures, reports and notebooks.

    from sim.analysis import load, plots, stats
    rs = load("results/nvlog_sweep/<id>")            # run or sweep directory (or several)
    rs.summary()                                      # mean, std, n, 95% CI per configuration
    idx = load_index("results", system="nvlog_mirror")  # every run, sweep and campaign (as `sim results`)
    runs = load_selection(idx[idx.status == "ok"])      # the selected ones in one tidy DataFrame
    plots.metric_vs_param(rs.runs, "deadlocked", "params.send_queue_slots", "params.reservation")
"""

from __future__ import annotations

import importlib

from sim.analysis.index import load_index, load_selection
from sim.analysis.results import ResultError, ResultSet, load

__all__ = ["ResultError", "ResultSet", "load", "load_index", "load_selection", "plots", "stats", "figures", "report", "notebook"]


def __getattr__(name: str):
    if name in ("plots", "stats", "figures", "report", "notebook", "cli"):
        return importlib.import_module(f"sim.analysis.{name}")
    raise AttributeError(name)
