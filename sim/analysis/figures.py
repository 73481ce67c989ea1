"""Choosing and writing the standard figures of a ResultSet (used by `sim plot` and `sim report`).

Defaults: for a sweep, each metric that varies against the swept parameter with the most values,
one line per value of the parameter with the fewest (the variant), one file per combination of
any further swept parameters; for several runs, a per-variant comparison; CDFs of latency, lag and
recovery metrics; a timeline per run with a time series; a cost-vs-recovery scatter when the
results carry both a `_usd` metric and a recovery time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import plots
from sim.analysis.results import ResultError, ResultSet

# Metrics that say nothing in a figure unless they vary.
_BOOKKEEPING = {"sim_time_s", "watchdog_timeout", "invariant_violations"}
_DISTRIBUTION = re.compile(r"(latency|lag|recovery|rto|rpo|sojourn|response|wait|delay)", re.I)
_RECOVERY = re.compile(r"(recovery|rto|restore|downtime)", re.I)
MAX_METRICS = 12
MAX_FACETS = 8
MAX_COLUMNS = 6


@dataclass
class FigureFile:
    kind: str  # metric_vs_param | panel | comparison | cdf | timeline | tradeoff
    title: str
    paths: list[Path] = field(default_factory=list)

    @property
    def png(self) -> Path | None:
        return next((p for p in self.paths if p.suffix == ".png"), None)


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", s).strip("_")[:120]


def _short(col: str) -> str:
    return col.split(".")[-1].split("]")[-1]


def interesting_metrics(rs: ResultSet) -> list[str]:
    """Metrics with finite values that are not constant bookkeeping."""
    out = []
    for m in rs.metrics:
        v = pd.to_numeric(rs.runs[m], errors="coerce").astype(float)
        v = v[np.isfinite(v)]
        if v.empty:
            continue
        if v.nunique() <= 1 and (m in _BOOKKEEPING or m == "deadlocked" or len(rs.runs) > 1):
            continue  # the same value in every replication: a table entry, not a figure
        out.append(m)
    # the outcome first: whether runs deadlocked or broke an invariant matters more than the 12th latency
    first = [m for m in ("deadlocked", "invariant_violations") if m in out]
    return (first + [m for m in out if m not in first])[:MAX_METRICS]


def choose_axes(rs: ResultSet, x: str | None = None, hue: str | None = None) -> tuple[str | None, str | None, list[str]]:
    """(x, hue, facet columns): x = numeric varying parameter with most values; hue = the one with fewest."""
    varying = rs.varying()
    x = rs.column(x) if x else None
    hue = rs.column(hue) if hue else None
    if x is None:
        cand = [c for c in varying if c != hue and c != "scenario" and plots._is_numeric_axis(rs.runs[c])]
        if cand:
            x = max(cand, key=lambda c: (rs.runs[c].nunique(), -varying.index(c)))
    if hue is None and x is not None:
        rest = [c for c in varying if c != x]
        if rest:
            # the variant: fewest values, an on/off switch first on ties
            hue = min(rest, key=lambda c: (rs.runs[c].astype(str).nunique(),
                                           not pd.api.types.is_bool_dtype(rs.runs[c]), varying.index(c)))
    facets = [c for c in varying if c not in (x, hue)]
    # a `scenario` column that only mirrors the hue/x adds nothing
    facets = [c for c in facets if not _mirrors(rs.runs, c, [x, hue])]
    return x, hue, facets


def _mirrors(df: pd.DataFrame, col: str, others: Sequence[str | None]) -> bool:
    others = [o for o in others if o]
    if not others:
        return False
    return bool(df.groupby(others, dropna=False)[col].nunique(dropna=False).max() <= 1)


def write_figures(rs: ResultSet, out_dir: str | Path, metrics: Sequence[str] | None = None,
                  x: str | None = None, hue: str | None = None,
                  formats: Sequence[str] = plots.FORMATS, *, logx: bool | str = "auto",
                  logy: bool | str = "auto", incomplete: str = "mark") -> list[FigureFile]:
    """Write the standard figures of `rs` into `out_dir`; returns what was written.

    `logx`/`logy`: True or False force the scale, "auto" lets each figure choose (log where the
    values span more than two decades). `incomplete`: 'mark' or 'drop' replications that did not
    complete (see `plots.metric_vs_param`)."""
    out = Path(out_dir)
    chosen = [_metric(rs, m) for m in metrics] if metrics else interesting_metrics(rs)
    if not chosen:
        failed = sum(len(m.get("errors") or []) for m in rs.manifests.values())
        hint = f" ({failed} run(s) failed: see the errors in manifest.json)" if failed else ""
        raise ResultError(f"no metric with finite values to plot{hint}")
    files: list[FigureFile] = []
    x_col, hue_col, facets = choose_axes(rs, x, hue)
    runs = rs.runs
    col = None
    if len(facets) == 1 and runs[facets[0]].nunique() <= MAX_COLUMNS:
        col, facets = facets[0], []  # one further swept parameter: a column of panels per value
    if x_col is not None:
        combos = _facet_values(runs, facets)
        for fixed in combos:
            sfx = "".join(f"__{_short(k)}={plots._fmt(v)}" for k, v in fixed.items())
            tag = "".join(f", {plots.pretty(k)} = {plots._fmt(v)}" for k, v in fixed.items())
            groups = [("metric_vs_param", m, m) for m in chosen]
            if metrics and len(chosen) > 1:  # metrics asked for together: also one stacked panel
                groups.append(("panel", chosen, "panel_" + "_".join(chosen)))
            for kind, ms, name in groups:
                fig = plots.metric_vs_param(runs, ms, x_col, hue_col, col=col, fixed=fixed, logx=logx, logy=logy,
                                            incomplete=incomplete)
                if tag:
                    fig.suptitle(fig.get_suptitle().replace("\n", f"{tag}\n", 1), fontsize="medium")
                stem = out / _slug(f"{name}_vs_{_short(x_col)}{sfx}")
                files.append(FigureFile(kind, fig.get_suptitle().split("\n")[0], plots.save(fig, stem, formats)))
    elif len(rs.results) > 1:
        fig = plots.metric_by_variant(runs, chosen, "result", logy=logy, incomplete=incomplete)
        files.append(FigureFile("comparison", "Comparison of results", plots.save(fig, out / "comparison", formats)))
    # CDFs of distribution-like metrics over replications (only meaningful without a sweep axis)
    cdf_hue = hue_col if x_col is None else None
    if cdf_hue is None and x_col is None and len(rs.results) > 1:
        cdf_hue = "result"
    if x_col is None and len(runs) >= 3:
        for m in [m for m in chosen if _DISTRIBUTION.search(m) and plots.split_unit(m)[1] == "time"][:4]:
            fig = plots.cdf(runs, m, cdf_hue, logx=logx)
            files.append(FigureFile("cdf", f"CDF of {plots.pretty(m)}", plots.save(fig, out / f"cdf_{_slug(m)}", formats)))
    if rs.timeseries is not None:
        ts = rs.timeseries
        lag_probes = [c for c in ts.columns if _DISTRIBUTION.search(c) and plots._is_numeric_axis(ts[c])
                      and c not in ("time_s", "replication")]
        for p in lag_probes[:2]:
            fig = plots.cdf(ts, p, "result" if len(rs.results) > 1 else None, source="time-series samples",
                            logx=logx)
            files.append(FigureFile("cdf", f"CDF of {plots.pretty(p)} samples",
                                    plots.save(fig, out / f"cdf_ts_{_slug(p)}", formats)))
        for res in list(pd.unique(ts["result"]))[:6]:
            fig = plots.timeline(ts, rs.events, result=res if len(rs.results) > 1 else None)
            stem = out / (f"timeline_{_slug(str(res))}" if len(rs.results) > 1 else "timeline")
            files.append(FigureFile("timeline", f"Run timeline ({res})", plots.save(fig, stem, formats)))
    cost = [m for m in chosen if plots.split_unit(m)[1] == "cost"]
    rec = [m for m in chosen if _RECOVERY.search(m) and plots.split_unit(m)[1] == "time"]
    if cost and rec:
        by = [c for c in rs.varying()] or (["result"] if len(rs.results) > 1 else [])
        t_hue = hue_col if hue_col in by else next((c for c in by if runs[c].astype(str).nunique() <= 10), None)
        fig = plots.tradeoff(runs, cost[0], rec[0], by=by, hue=t_hue)
        files.append(FigureFile("tradeoff", f"{plots.pretty(cost[0])} vs {plots.pretty(rec[0])}",
                                plots.save(fig, out / _slug(f"tradeoff_{cost[0]}_vs_{rec[0]}"), formats)))
    return files


def _metric(rs: ResultSet, name: str) -> str:
    col = rs.column(name)
    if col not in rs.metrics:
        raise ResultError(f"{name!r} is not a metric; metrics: {', '.join(rs.metrics)}")
    return col


def _facet_values(runs: pd.DataFrame, facets: list[str]) -> list[dict]:
    if not facets:
        return [{}]
    values = [plots._order(runs[f]) for f in facets]
    combos = [dict(zip(facets, c, strict=True)) for c in itertools.product(*values)]
    present = []
    for c in combos:
        mask = np.ones(len(runs), dtype=bool)
        for k, v in c.items():
            mask &= (runs[k].astype(str) == str(v)).to_numpy()
        if mask.any():
            present.append(c)
    if len(present) > MAX_FACETS:
        raise ResultError(f"{len(present)} combinations of {', '.join(facets)}; choose --x and --hue "
                          f"among {', '.join([*facets])} or plot from Python with `fixed=`")
    return present
