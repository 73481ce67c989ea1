"""Standard figures: metric vs swept parameter with CI bands, CDFs, run timelines, trade-offs.

Every function returns a `matplotlib.figure.Figure` built without pyplot (no global figure state,
rendered with Agg when saved, shown inline in notebooks). Axis labels get their unit from the
metric-name suffix (`_s`, `_bytes`, `_ops_s`, `_bytes_s`, `_usd`), scaled to a readable prefix
(ms, MiB, k ops/s). `save(fig, stem)` writes PNG and SVG.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from sim.analysis.stats import NOISE_RTOL, OUTCOME_METRICS, drop_incomplete, is_binary, outcomes, summarize

FORMATS = ("png", "svg")
DPI = 150

# suffix -> (dimension, base unit); longest suffixes first
UNIT_SUFFIXES: list[tuple[str, str, str]] = [
    ("_bytes_s", "bandwidth", "B/s"),
    ("_ops_s", "rate", "ops/s"),
    ("_bytes", "size", "B"),
    ("_usd", "cost", "USD"),
    ("_s", "time", "s"),
]
_SCALES: dict[str, list[tuple[float, str]]] = {
    "time": [(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "d")],
    "size": [(1, "B"), (2**10, "KiB"), (2**20, "MiB"), (2**30, "GiB"), (2**40, "TiB"), (2**50, "PiB")],
    "bandwidth": [(1, "B/s"), (1e3, "kB/s"), (1e6, "MB/s"), (1e9, "GB/s"), (1e12, "TB/s")],
    "rate": [(1, "ops/s"), (1e3, "k ops/s"), (1e6, "M ops/s"), (1e9, "G ops/s")],
    "cost": [(1, "USD"), (1e3, "k USD"), (1e6, "M USD")],
}
_PREFIXES = ("params.", "workload.")
_ACRONYMS = {"rto", "rpo", "cpu", "io", "ssd", "dram", "pmem", "rdma", "ha", "qp", "wal", "lsn"}
# Parameters carry no unit suffix (`workload.rate`, `params.checkpoint_interval`): their SI unit is read
# from the last part of the name. Scenario files write them with units (`rate: 500k/s`), resolved to SI.
_PARAM_UNITS: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"(bandwidth|byte_rate|throughput)$"), "bandwidth", "B/s"),
    (re.compile(r"(^|_)rate$"), "rate", "ops/s"),
    (re.compile(r"(^|_)(size|capacity|bytes|memory)$"), "size", "B"),
    (re.compile(r"(^|_)(interval|latency|duration|timeout|delay|time|period|after|warmup|window|retention|"
                r"tick|at|low|high|mean_service|service_time)$"), "time", "s"),
]
_COUNT_SCALES = [(1e3, "thousands"), (1e6, "millions"), (1e9, "billions")]


def is_parameter(name: str) -> bool:
    return name.startswith(_PREFIXES) or name.startswith("faults[") or name in ("duration", "warmup")


def param_unit(name: str) -> tuple[str | None, str | None]:
    """(dimension, SI unit) of a parameter column from its last name part: `workload.rate` ->
    ('rate', 'ops/s'), `params.checkpoint_interval` -> ('time', 's'); (None, None) if unknown."""
    last = re.split(r"[.\]]", name)[-1]
    _base, dim, unit = split_unit(last)
    if dim is not None:
        return dim, unit
    for pat, dim, unit in _PARAM_UNITS:
        if pat.search(last):
            return dim, unit
    return None, None


def split_unit(name: str) -> tuple[str, str | None, str | None]:
    """`'lag_p99_s'` -> ('lag_p99', 'time', 's'); names without a unit suffix -> (name, None, None)."""
    for sfx, dim, unit in UNIT_SUFFIXES:
        if name.endswith(sfx) and len(name) > len(sfx):
            return name[: -len(sfx)], dim, unit
    if re.search(r"_bytes_per_[a-z]+$", name):  # metadata_bytes_per_image: a size per something
        return name, "size", "B"
    return name, None, None


def unit_scale(name: str, values: Iterable[float] | None = None, typical: str = "max") -> tuple[float, str | None]:
    """(divisor, unit label) that puts |values| of `name` in a readable range: by their maximum
    (axis ticks stay below 1000 units) or by their median (`typical="median"`, for tables)."""
    _base, dim, unit = split_unit(name)
    if dim is None and is_parameter(name):
        dim, unit = param_unit(name)
    if dim is None:
        return 1.0, None
    a = np.asarray(list(values) if values is not None else [], dtype=float)
    a = np.abs(a[np.isfinite(a) & (a != 0)])
    if a.size == 0:
        return 1.0, unit
    typ = float(np.median(a) if typical == "median" else a.max())
    factor, label = 1.0, unit
    for f, lab in _SCALES[dim]:
        if typ >= f * 0.999:
            factor, label = f, lab
    if dim == "time" and factor < 1e-9:
        factor, label = 1.0, "s"
    return float(factor), label


def pretty(name: str) -> str:
    """Human name of a column: `params.send_queue_slots` -> 'send queue slots'."""
    for p in _PREFIXES:
        if name.startswith(p):
            name = name[len(p):]
    base, _dim, _unit = split_unit(name)
    base = re.sub(r"_p(\d+(?:\.\d+)?)$", r" p\1", base)
    words = base.replace("_", " ").replace(".", " ").split(" ")
    return " ".join(w.upper() if w in _ACRONYMS else w for w in words)


def axis_label(name: str, values: Iterable[float] | None = None, binary: bool = False) -> tuple[str, float]:
    """(axis label with unit, divisor to apply to the values). The unit is chosen from `values` (pass
    one panel's values for a per-panel unit); large unitless counts are shown in thousands/millions."""
    if binary:
        return f"P({pretty(name)})", 1.0
    factor, unit = unit_scale(name, values)
    if unit is None and values is not None:
        a = np.abs(np.asarray(pd.to_numeric(pd.Series(list(values)), errors="coerce"), dtype=float))
        a = a[np.isfinite(a)]
        big = [(f, w) for f, w in _COUNT_SCALES if a.size and a.max() >= 10 * f]
        if big:
            factor, unit = big[-1]
    return (f"{pretty(name)} ({unit})" if unit else pretty(name)), factor


class PlainFormatter(ScalarFormatter):
    """Tick labels without an offset or a `1e6` multiplier: the axis label carries the unit, and an
    offset such as `1e-11+5.53` would make floating-point noise look like a signal."""

    def __init__(self) -> None:
        super().__init__(useOffset=False, useMathText=False)
        self.set_scientific(False)


def spans_decades(values, decades: float = 2.0) -> bool:
    """True if the positive finite `values` are all > 0 and span more than `decades` decades."""
    a = np.asarray(pd.to_numeric(pd.Series(list(values)), errors="coerce"), dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2 or np.any(a <= 0):
        return False
    return bool(a.max() / a.min() > 10 ** decades)


def finish_axes(fig: Figure) -> Figure:
    """Plain tick labels (no offset) on every linear axis, and an axis whose data range is
    floating-point noise drawn flat around its value rather than stretched over 1e-11."""
    for ax in fig.axes:
        for axis, lim, setter, auto in ((ax.xaxis, ax.dataLim.intervalx, ax.set_xlim, ax.get_autoscalex_on()),
                                        (ax.yaxis, ax.dataLim.intervaly, ax.set_ylim, ax.get_autoscaley_on())):
            if axis.get_scale() != "linear":
                continue
            fmt = axis.get_major_formatter()
            if isinstance(fmt, ScalarFormatter) and not isinstance(fmt, PlainFormatter):
                axis.set_major_formatter(PlainFormatter())  # not the fixed labels of categories
            lo, hi = (float(v) for v in lim)
            if auto and math.isfinite(lo) and math.isfinite(hi) and (hi - lo) <= NOISE_RTOL * max(abs(lo), abs(hi)):
                c = (lo + hi) / 2
                pad = 0.05 * abs(c) if c != 0 else 1.0
                setter(c - pad, c + pad)
    return fig


def _new_figure(width: float = 6.4, height: float = 4.0, nrows: int = 1, ncols: int = 1, sharex: bool = False):
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(max(n, 1))]


def _is_numeric_axis(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _order(values) -> list:
    vals = list(pd.unique(pd.Series(values)))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _fmt(v) -> str:
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_):
        f = float(v)
        for div, sfx in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(f) >= 10 * div and (f / div) == round(f / div, 2):
                return f"{f / div:g}{sfx}"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


def _auto_logx(xs: np.ndarray) -> bool:
    """Log x when the values span a wide range or are (roughly) geometric, e.g. 6, 12, 24, 48."""
    xs = np.unique(xs[np.isfinite(xs)])
    if xs.size < 3 or np.any(xs <= 0):
        return False
    ratios = xs[1:] / xs[:-1]
    return float(xs.max() / xs.min()) >= 30.0 or (xs.max() / xs.min() >= 8 and bool(np.all(ratios >= 1.5)))


def _summarize(df: pd.DataFrame, by: list[str], metrics: Sequence[str], confidence: float, method: str) -> pd.DataFrame:
    """`summarize` with `method='auto'` decided per metric over all its values (Wilson for a 0/1
    metric), not per group: a count that is 0 at one point is not a probability there."""
    if method != "auto":
        return summarize(df, by, metrics, confidence=confidence, method=method)
    parts = [summarize(df, by, [m], confidence=confidence, method="wilson" if is_binary(df[m]) else "t")
             for m in metrics]
    return pd.concat(parts, ignore_index=True) if parts else summarize(df, by, [], confidence=confidence)


def _n_note(summ: pd.DataFrame, confidence: float, kind: str) -> str:
    """'mean and 95% t CI; n = 4 replications per point' or, when n varies, the range of n."""
    if summ.empty:
        return f"mean and {confidence:.0%} {kind}"
    n = summ["n"].astype(int)
    n = n[n > 0] if (n > 0).any() else n  # a point without a value is not drawn
    bad = summ["incomplete"].astype(str).str.len() > 0 if "incomplete" in summ.columns else pd.Series(False)
    if n.max() <= 1:
        return "one replication per point (no t CI)"
    if n.min() == n.max() and not bad.any():
        return f"mean and {confidence:.0%} {kind}; {int(n.max())} replications per point"
    parts = f"n = {int(n.min())}–{int(n.max())} per point" if n.min() != n.max() else f"n = {int(n.max())} per point"
    extra = "; hollow: not every replication completed" if bad.any() else ""
    return f"mean and {confidence:.0%} {kind}; {parts} (annotated where fewer count{extra})"


def _annotate_n(ax, xs, ys, rows: pd.DataFrame, color, full_n: int) -> None:
    """`n=k` beside each point whose n is below `full_n` or where a replication did not complete."""
    for xv, yv, (_, r) in zip(xs, ys, rows.iterrows(), strict=True):
        inc = str(r.get("incomplete", "") or "")
        if int(r["n"]) >= full_n and not inc:
            continue
        if not (math.isfinite(xv) and math.isfinite(yv)):
            continue
        text = f"n={int(r['n'])}" + (f" ({inc})" if inc else "")
        ax.margins(y=0.12)  # room for the annotation inside the axes
        ax.annotate(text, (xv, yv), textcoords="offset points", xytext=(3, 5), fontsize=6, color=color,
                    gid="n-annotation")


def _wrap(text: str, fig: Figure) -> str:
    """`text` wrapped to the figure's width (a medium-size title holds about 11 characters an inch)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, max(40, int(fig.get_figwidth() * 11))))


def _log_choice(flag: bool | str, values) -> bool:
    return flag is True or (flag == "auto" and spans_decades(values))


def metric_vs_param(runs: pd.DataFrame, metric: str | Sequence[str], x: str, hue: str | None = None,
                    *, col: str | None = None, confidence: float = 0.95, method: str = "auto",
                    logx: bool | str = "auto", logy: bool | str = "auto", title: str | None = None,
                    fixed: dict | None = None, incomplete: str = "mark") -> Figure:
    """Mean of `metric` against `x` with CI bands, one line per value of `hue`.

    Several metrics give stacked panels sharing the x axis (e.g. deadlock probability and
    throughput against send-queue slots); `col` adds one column of panels per value of another
    parameter (e.g. offered load). `method='auto'` uses Wilson intervals for 0/1 metrics and
    Student-t otherwise. `fixed` filters rows first ({column: value}).

    Each panel gets its own unit (µs in one, ms in another) and a log y axis when its means span
    more than two decades (`logy='auto'`; True/False force it). Points whose n is below the number
    of replications (a NaN metric) or where a replication deadlocked, stalled, timed out or was cut
    short are annotated `n=k (3 deadlocked)` and drawn hollow (`incomplete='mark'`);
    `incomplete='drop'` leaves those replications out of every metric but the outcome ones.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    df = runs
    for k, v in (fixed or {}).items():
        if k not in df.columns:
            raise KeyError(f"no column {k!r}")
        df = df[df[k].astype(str) == str(v)]
    for c in [x, *([hue] if hue else []), *([col] if col else []), *metrics]:
        if c not in df.columns:
            raise KeyError(f"no column {c!r}")
    if df.empty:
        raise ValueError("no rows to plot" + (f" with {fixed}" if fixed else ""))
    if incomplete not in ("mark", "drop"):
        raise ValueError(f"incomplete={incomplete!r}: use 'mark' or 'drop'")
    if incomplete == "drop":
        df = drop_incomplete(df, metrics)
    by = ([col] if col else []) + ([hue] if hue else []) + [x]
    summ = _summarize(df, by, metrics, confidence, method)
    # how a replication ended is what an outcome metric (deadlocked) shows: no mark for it there
    summ.loc[summ["metric"].isin(OUTCOME_METRICS), "incomplete"] = ""
    full_n = int(summ["replications"].max()) if not summ.empty else 0
    numeric_x = _is_numeric_axis(df[x])
    cats = _order(df[x]) if not numeric_x else None
    hues = _order(df[hue]) if hue else [None]
    cols = _order(df[col]) if col else [None]
    colors = _colors(len(hues))
    binaries = [m for m in metrics if method == "wilson" or (method == "auto" and is_binary(df[m]))]
    xlabel, xf = axis_label(x, df[x] if numeric_x else None)
    nonneg = {m: bool((pd.to_numeric(df[m], errors="coerce").dropna() >= 0).all()) for m in metrics}
    fig, axes = _new_figure(min(4.0 * len(cols), 16.0) + 2.4 * (len(cols) == 1), 3.0 * len(metrics) + 0.8,
                            nrows=len(metrics), ncols=len(cols), sharex=True)
    for i, m in enumerate(metrics):
        binary = m in binaries
        sm_m = summ[summ["metric"] == m]
        for j, cv in enumerate(cols):
            ax = axes[i, j]
            sm = sm_m if cv is None else sm_m[sm_m[col].astype(str) == str(cv)]
            panel = df if cv is None else df[df[col].astype(str) == str(cv)]
            ylabel, yf = axis_label(m, pd.concat([panel[m], sm["mean"]]), binary)  # this panel's unit
            log_y = not binary and _log_choice(logy, sm["mean"])
            floor = float(sm["mean"][sm["mean"] > 0].min()) / yf / 10 if log_y else 0.0
            for h, color in zip(hues, colors, strict=True):
                g = sm if h is None else sm[sm[hue].astype(str) == str(h)]
                if g.empty:
                    continue
                pos = g[x].map(cats.index) if not numeric_x else g[x].astype(float)
                g = g.assign(_pos=pos).sort_values("_pos")
                xs = g["_pos"].to_numpy(dtype=float) / (xf if numeric_x else 1.0)
                ys = g["mean"].to_numpy(dtype=float) / yf
                label = None if h is None else f"{pretty(hue)} = {_fmt(h)}"
                ax.plot(xs, ys, marker="o", ms=4, color=color, label=label)
                hollow = (g["incomplete"].astype(str).str.len() > 0).to_numpy()
                if hollow.any():  # points where some replications did not complete
                    ax.scatter(xs[hollow], ys[hollow], s=30, facecolors="white", edgecolors=[color], zorder=3)
                lo, hi = g["ci_low"].to_numpy(dtype=float) / yf, g["ci_high"].to_numpy(dtype=float) / yf
                if nonneg[m]:
                    lo = np.maximum(lo, floor)  # a t band of a non-negative metric stops at 0
                if np.any(np.isfinite(lo)):
                    ax.fill_between(xs, lo, hi, color=color, alpha=0.2, linewidth=0)
                _annotate_n(ax, xs, ys, g, color, full_n)
            if j == 0 or len(cols) > 1:
                ax.set_ylabel(ylabel if j == 0 or ylabel != axes[i, 0].get_ylabel() else "")
            if binary:
                ax.set_ylim(-0.03, 1.03)
            elif log_y:
                ax.set_yscale("log")
            if i == 0 and cv is not None:
                cl, cf = axis_label(col, df[col] if _is_numeric_axis(df[col]) else None)
                name, _, unit = cl.partition(" (")
                shown = _fmt(cv / cf if _is_numeric_axis(df[col]) else cv)
                ax.set_title(f"{name} = {shown}" + (f" {unit.rstrip(')')}" if unit else ""), fontsize="small")
            if not numeric_x:
                ax.set_xticks(range(len(cats)), [_fmt(c) for c in cats])
            elif (logx is True) or (logx == "auto" and _auto_logx(df[x].to_numpy(dtype=float))):
                ax.set_xscale("log")
                vals = np.unique(df[x].to_numpy(dtype=float)) / xf
                if vals.size <= 12:
                    ax.set_xticks(vals, [_fmt(v) for v in vals])
                    ax.minorticks_off()
            if i == len(metrics) - 1:
                ax.set_xlabel(xlabel)
    if hue:
        axes[0, 0].legend(fontsize="small", title=None)
    kind = "Wilson CI for probabilities, t otherwise" if binaries and len(binaries) < len(metrics) else (
        "Wilson CI" if binaries else "t CI")
    ci_note = _n_note(summ, confidence, kind)
    if incomplete == "drop" and (outcomes(df) != "complete").any():
        ci_note += "; replications that did not complete left out"
    names = " and ".join(f"P({pretty(m)})" if m in binaries else pretty(m) for m in metrics)
    fig.suptitle(title or f"{names} vs {pretty(x)}\n" + _wrap(f"({ci_note})", fig), fontsize="medium")
    return finish_axes(fig)


def metric_by_variant(runs: pd.DataFrame, metrics: str | Sequence[str], variant: str, *,
                      confidence: float = 0.95, method: str = "auto", title: str | None = None,
                      logy: bool | str = "auto", incomplete: str = "mark") -> Figure:
    """Mean and CI of each metric per variant (e.g. two result directories), one panel per metric.

    Every point is labelled with its n; a variant whose replications did not all complete (or whose
    metric is NaN in some) is drawn hollow and says so (`n=1 (3 deadlocked)`), so a comparison never
    silently rests on the one replication that survived. `incomplete='drop'` leaves those
    replications out of the non-outcome metrics."""
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if incomplete == "drop":
        runs = drop_incomplete(runs, metrics)
    summ = _summarize(runs, [variant], metrics, confidence, method)
    summ.loc[summ["metric"].isin(OUTCOME_METRICS), "incomplete"] = ""
    uniform = summ["n"].nunique() <= 1 and not (summ["incomplete"].astype(str) != "").any()
    cats = _order(runs[variant])
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = _new_figure(3.2 * ncols + 0.4, 2.8 * nrows + 0.9, nrows=nrows, ncols=ncols)
    colors = _colors(len(cats))
    any_bad = False
    for i, ax in enumerate(axes.flat):
        if i >= len(metrics):
            ax.set_visible(False)
            continue
        m = metrics[i]
        binary = method == "wilson" or (method == "auto" and is_binary(runs[m]))
        sm = summ[summ["metric"] == m]
        ylabel, yf = axis_label(m, pd.concat([runs[m], sm["mean"]]), binary)
        nonneg = bool((pd.to_numeric(runs[m], errors="coerce").dropna() >= 0).all())
        for j, c in enumerate(cats):
            r = sm[sm[variant].astype(str) == str(c)]
            if r.empty or not math.isfinite(float(r["mean"].iloc[0])):
                continue
            row = r.iloc[0]
            mean = float(row["mean"]) / yf
            lo, hi = float(row["ci_low"]) / yf, float(row["ci_high"]) / yf
            if nonneg:
                lo = max(lo, 0.0)  # a t interval of a non-negative metric stops at 0
            err = None if not math.isfinite(lo) else [[max(0.0, mean - lo)], [max(0.0, hi - mean)]]
            inc = str(row["incomplete"] or "") if m not in OUTCOME_METRICS else ""
            short = int(row["n"]) < int(row["replications"])
            hollow = bool(inc) or short
            any_bad |= hollow
            ax.errorbar([j], [mean], yerr=err, fmt="o", color=colors[j], capsize=4,
                        mfc="white" if hollow else colors[j], mec=colors[j])
            if uniform:
                continue  # the same n everywhere: said once in the title
            text = f"n={int(row['n'])}" + (f" of {int(row['replications'])}" if short else "")
            text += f"\n({inc})" if inc and (short or m not in OUTCOME_METRICS) else ""
            ax.annotate(text, (j, mean), textcoords="offset points", xytext=(7, 0), fontsize=6, va="center",
                        color="tab:red" if hollow else "0.3", gid="n-annotation")
        names = [_fmt(c) for c in cats]
        crowded = len(cats) > 4 or max(len(t) for t in names) > 14
        ax.set_xticks(range(len(cats)), names, rotation=40 if crowded else 20, fontsize="small",
                      ha="right" if crowded else "center")
        ax.set_xlim(-0.5, len(cats) - 0.5)
        ax.set_ylabel(ylabel, fontsize="small")
        ax.set_xlabel(pretty(variant), fontsize="small")
        if not binary and _log_choice(logy, sm["mean"]):
            ax.set_yscale("log")
    n_all = int(summ["n"].max()) if not summ.empty else 0
    if not uniform:
        note = f"mean and {confidence:.0%} CI, n per point"
    elif n_all > 1:
        note = f"mean and {confidence:.0%} CI; {n_all} replications each"
    else:
        note = "one replication each (no t CI)"
    if any_bad:
        note += "; hollow: not every replication counts (a NaN metric, or a run that did not complete)"
    fig.suptitle(title or f"Comparison by {pretty(variant)}\n" + _wrap(f"({note})", fig), fontsize="medium")
    return finish_axes(fig)


def cdf(data: pd.DataFrame, metric: str, hue: str | None = None, *, title: str | None = None,
        source: str = "replications", logx: bool | str = "auto") -> Figure:
    """Empirical CDF of `metric` values (per-replication metrics, or time-series samples), per `hue`;
    log x when the positive values span more than two decades (`logx='auto'`)."""
    if metric not in data.columns:
        raise KeyError(f"no column {metric!r}")
    fig, axes = _new_figure()
    ax = axes[0, 0]
    all_vals = pd.to_numeric(data[metric], errors="coerce").astype(float)
    xlabel, xf = axis_label(metric, all_vals)
    groups = [(None, data)] if hue is None else [(h, data[data[hue].astype(str) == str(h)]) for h in _order(data[hue])]
    colors = _colors(len(groups))
    plotted = 0
    for (h, g), col in zip(groups, colors, strict=True):
        v = pd.to_numeric(g[metric], errors="coerce").astype(float).to_numpy()
        v = np.sort(v[np.isfinite(v)]) / xf
        if v.size == 0:
            continue
        y = np.arange(1, v.size + 1) / v.size
        label = f"{pretty(hue)} = {_fmt(h)} (n={v.size})" if hue else f"n={v.size}"
        ax.step(np.concatenate([[v[0]], v]), np.concatenate([[0.0], y]), where="post", color=col, label=label)
        plotted += 1
    if _log_choice(logx, all_vals[np.isfinite(all_vals)]):
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cumulative fraction")
    ax.set_ylim(0, 1.02)
    if plotted:
        ax.legend(fontsize="small")
    fig.suptitle(title or f"CDF of {pretty(metric)} ({source})", fontsize="medium")
    return finish_axes(fig)


def _event_spans(events: pd.DataFrame) -> tuple[list[tuple[float, float, str]], list[tuple[float, str]]]:
    """Pair `<x>_start`/`<x>_end` events (same kind/target/index) into spans; others are instants.

    A `fault_start` never ended is a span to the end of the run (a permanent fault); other unmatched
    starts (`heal_phase_start`) are instants.
    """
    spans: list[tuple[float, float, str]] = []
    instants: list[tuple[float, str]] = []
    open_: dict[tuple, list[tuple[float, str]]] = {}
    extra_key = [c for c in ("fault", "kind", "target", "index", "occurrence", "name") if c in events.columns]

    def label_of(row) -> str:
        parts = [str(row[c]) for c in ("kind", "target") if c in row.index and pd.notna(row[c])]
        return " ".join(parts)

    for _, row in events.sort_values("time_s", kind="stable").iterrows():
        ev = str(row.get("event", ""))
        t = float(row["time_s"])
        key_extra = tuple(str(row[c]) for c in extra_key)
        m = re.match(r"^(.*?)_(start|begin|injected)$", ev)
        e = re.match(r"^(.*?)_(end|stop|healed)$", ev)
        lab = label_of(row)
        if m:
            open_.setdefault((m.group(1), *key_extra), []).append((t, f"{ev} {lab}".strip()))
        elif e and open_.get((e.group(1), *key_extra)):
            t0, _ = open_[(e.group(1), *key_extra)].pop(0)
            spans.append((t0, t, f"{e.group(1)} {lab}".strip()))
        else:
            instants.append((t, f"{ev} {lab}".strip()))
    for key, starts in open_.items():
        for t0, lab in starts:
            if key[0] == "fault":
                spans.append((t0, math.inf, f"{lab.replace('fault_start', 'fault')} (not healed)"))
            else:
                instants.append((t0, lab))
    return spans, instants


_LEVEL_WORDS = re.compile(r"(length|occupancy|queue|level|inflight|in_flight|busy|lag|depth|used|free|active|size)", re.I)


def is_cumulative(values: pd.Series, name: str = "") -> bool:
    """A probe that only grows (a count of acknowledged writes, bytes copied): shown as a rate.

    Needs at least 8 samples rising in at least half the intervals, and a name that is not a level
    (queue length, occupancy, lag...), so a queue that merely filled up is not taken for a count."""
    if name and _LEVEL_WORDS.search(name):
        return False
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    v = v[np.isfinite(v)]
    if v.size < 8:
        return False
    d = np.diff(v)
    # one drop is allowed: counters are reset at the end of the warm-up
    return int(np.count_nonzero(d < 0)) <= 1 and np.count_nonzero(d > 0) >= d.size / 2


def cumulative_to_rate(time_s: pd.Series, values: pd.Series) -> pd.Series:
    """Per-second rate over each sampling interval of a cumulative probe (NaN for the first sample
    and across a reset)."""
    dt = time_s.astype(float).diff()
    dv = values.astype(float).diff()
    return (dv.where(dv >= 0) / dt.where(dt > 0)).reset_index(drop=True)


def timeline(timeseries: pd.DataFrame, events: pd.DataFrame | None = None, probes: Sequence[str] | None = None,
             *, replication: int | None = None, result: str | None = None, title: str | None = None,
             rates: bool = True, max_events: int = 50) -> Figure:
    """Probes against time (one panel each: throughput, queue occupancy, lag...), with fault spans
    shaded and other notable events (recovery, deadlock) as vertical lines, for one replication.

    Probes that only grow (cumulative counts) are drawn as rates per second when `rates` is set;
    constant probes are left out unless named in `probes`."""
    ts = timeseries
    if result is not None and "result" in ts.columns:
        ts = ts[ts["result"] == result]
    if "replication" in ts.columns:
        rep = int(ts["replication"].min()) if replication is None else int(replication)
        ts = ts[ts["replication"] == rep]
    else:
        rep = 0
    if ts.empty:
        raise ValueError("no time-series rows for this replication")
    skip = {"time_s", "replication", "result", "point", "seed"}
    if probes is None:
        probes = [c for c in ts.columns if c not in skip and _is_numeric_axis(ts[c])]
        varying = [c for c in probes if ts[c].nunique(dropna=True) > 1]
        probes = varying or probes  # constant probes say nothing next to varying ones
    else:
        probes = list(probes)
    if not probes:
        raise ValueError("the time series has no probe columns")
    ts = ts.sort_values("time_s")
    series = {p: cumulative_to_rate(ts["time_s"], ts[p]) if (rates and is_cumulative(ts[p], p)) else None
              for p in probes}
    ev = events if events is not None else pd.DataFrame()
    if not ev.empty:
        if result is not None and "result" in ev.columns:
            ev = ev[ev["result"] == result]
        if "replication" in ev.columns:
            ev = ev[ev["replication"] == rep]
    spans, instants = _event_spans(ev) if not ev.empty and "time_s" in ev.columns else ([], [])
    spans, instants = spans[:max_events], instants[:max_events]
    t = ts["time_s"].to_numpy(dtype=float)
    tlabel, tf = axis_label("time_s", t)
    fig, axes = _new_figure(7.2, 1.9 * len(probes) + 1.0, nrows=len(probes), sharex=True)
    colors = _colors(len(probes))
    tmax = float(t.max()) / tf
    span_colors = _colors(len(spans) + 3)[3:]
    for ax, p, col in zip(axes[:, 0], probes, colors, strict=True):
        rate = series[p]
        if rate is not None:
            name = {"size": p[: -len("_bytes")] + "_bytes_s", None: p + "_ops_s"}.get(split_unit(p)[1], p)
            ylabel, yf = axis_label(name, rate)
            ylabel = ylabel.replace(" (", " rate (", 1) if "(" in ylabel else ylabel + " rate"
            ax.plot(t / tf, rate.to_numpy(dtype=float) / yf, color=col, lw=1.2, drawstyle="steps-pre")
        else:
            ylabel, yf = axis_label(p, ts[p])
            ax.plot(t / tf, ts[p].to_numpy(dtype=float) / yf, color=col, lw=1.2)
        ax.set_ylabel(ylabel, fontsize="small")
        for (t0, t1, lab), sc in zip(spans, span_colors, strict=False):
            ax.axvspan(t0 / tf, min(t1 / tf, tmax), color=sc, alpha=0.15, label=lab)
        for ti, lab in instants:
            style = (("k", "--") if lab.startswith("deadlock_formed") else ("0.5", "--") if "deadlock" in lab
                     else ("tab:green", ":") if "recover" in lab else ("0.4", "-."))
            ax.axvline(ti / tf, color=style[0], ls=style[1], lw=1.2, label=lab)
    axes[-1, 0].set_xlabel(tlabel.replace("time", "simulated time"))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    seen: dict[str, object] = {}
    for hnd, lab in zip(handles, labels, strict=True):
        seen.setdefault(lab, hnd)
    if seen:
        axes[0, 0].legend(list(seen.values()), list(seen), fontsize="x-small", loc="best")
    name = f"{result}: " if result else ""
    fig.suptitle(title or f"{name}run timeline (replication {rep})", fontsize="medium")
    return finish_axes(fig)


def tradeoff(runs: pd.DataFrame, cost: str, recovery: str, by: Sequence[str] | None = None,
             hue: str | None = None, *, confidence: float = 0.95, title: str | None = None) -> Figure:
    """Cost against recovery time: one point per configuration (`by` columns) with CI error bars
    on both axes, coloured by `hue`. Lower-left is better."""
    by = list(by or [])
    if hue and hue not in by:
        by = [hue, *by]
    summ = summarize(runs, by, [cost, recovery], confidence=confidence, method="t")
    fig, axes = _new_figure(6.4, 4.6)
    ax = axes[0, 0]
    xlabel, xf = axis_label(recovery, runs[recovery])
    ylabel, yf = axis_label(cost, runs[cost])
    key_cols = by
    if key_cols:
        cs, rs = (summ[summ["metric"] == m].set_index(key_cols) for m in (cost, recovery))
        joined = cs.merge(rs, left_index=True, right_index=True, suffixes=("_c", "_r")).reset_index()
    else:
        c, r = (summ[summ["metric"] == m].reset_index(drop=True) for m in (cost, recovery))
        joined = c.merge(r, left_index=True, right_index=True, suffixes=("_c", "_r"))
    hues = _order(joined[hue]) if hue else [None]
    colors = _colors(len(hues))
    for h, col in zip(hues, colors, strict=True):
        g = joined if h is None else joined[joined[hue].astype(str) == str(h)]
        xe = g["half_width_r"].to_numpy(dtype=float) / xf
        ye = g["half_width_c"].to_numpy(dtype=float) / yf
        ax.errorbar(g["mean_r"].to_numpy(dtype=float) / xf, g["mean_c"].to_numpy(dtype=float) / yf,
                    xerr=np.where(np.isfinite(xe), xe, 0), yerr=np.where(np.isfinite(ye), ye, 0),
                    fmt="o", color=col, capsize=3, label=None if h is None else f"{pretty(hue)} = {_fmt(h)}")
        others = [c for c in key_cols if c != hue]
        if others and len(g) <= 30:
            for _, row in g.iterrows():
                ax.annotate(", ".join(_fmt(row[c]) for c in others), (row["mean_r"] / xf, row["mean_c"] / yf),
                            textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if hue:
        ax.legend(fontsize="small")
    if spans_decades(joined["mean_r"]):
        ax.set_xscale("log")
    if spans_decades(joined["mean_c"]):
        ax.set_yscale("log")
    fig.suptitle(title or f"{pretty(cost)} vs {pretty(recovery)} ({confidence:.0%} CI)", fontsize="medium")
    return finish_axes(fig)


def save(fig: Figure, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write `stem.png`, `stem.svg` (or the given formats); returns the paths written."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        p = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(p, format=fmt, dpi=DPI)
        out.append(p)
    return out
