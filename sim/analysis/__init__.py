"""Analysis of result directories: loading, statistics, figures, reports and notebooks.

    from sim.analysis import load, plots, stats
    rs = load("results/nvlog_sweep/<id>")            # run or sweep directory (or several)
    rs.summary()                                      # mean, std, n, 95% CI per configuration
    plots.metric_vs_param(rs.runs, "deadlocked", "params.send_queue_slots", "params.reservation")
"""

from __future__ import annotations

import importlib

from sim.analysis.results import ResultError, ResultSet, load

__all__ = ["ResultError", "ResultSet", "load", "plots", "stats", "figures", "report", "notebook"]


def __getattr__(name: str):
    if name in ("plots", "stats", "figures", "report", "notebook", "cli"):
        return importlib.import_module(f"sim.analysis.{name}")
    raise AttributeError(name)
