"""`sim report RESULT_DIR...`: one self-contained HTML (figures embedded as base64 PNG) or Markdown
report with the scenario, the summary table (mean and 95% CI per metric and configuration), a
paired comparison of the two variants when there are two, notable events, and the figures.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.cli import add_common_arguments, error, scale_options
from sim.analysis.results import ResultError, ResultSet


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)
    p.add_argument("--format", choices=["html", "md"], help="report format (default from --out, else html)")
    p.add_argument("--out", metavar="FILE", help="report file (default RESULT_DIR/report.html or report.md)")


def _fmt(v, digits: int = 4) -> str:
    """A number as a reader writes it: 4 significant digits, no exponent between 1e-3 and 1e9."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if math.isnan(v):
            return "—"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v == 0:
            return "0"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if 10 ** digits <= abs(v) < 1e9:
            return f"{v:.0f}"
        if abs(v) >= 1e-3:
            text = f"{v:.{digits}g}"
            return text if "e" not in text else f"{v:.{max(digits - 1, 0)}f}"
        return f"{v:.{digits}g}"
    return str(v)


def _p(p: float) -> str:
    if not isinstance(p, float | int) or math.isnan(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


class _Units:
    """Per-column display unit: the divisor and label chosen from the column's typical (median) value."""

    def __init__(self, runs: pd.DataFrame) -> None:
        self.runs = runs
        self._cache: dict[str, tuple[float, str | None]] = {}

    def of(self, name: str) -> tuple[float, str | None]:
        from sim.analysis.plots import unit_scale

        if name not in self._cache:
            vals = pd.to_numeric(self.runs[name], errors="coerce") if name in self.runs.columns else None
            self._cache[name] = unit_scale(name, vals, typical="median")
        return self._cache[name]

    def value(self, name: str, v, with_unit: bool = True) -> str:
        """`v` of column `name` in its display unit ('8.37 µs'); non-numbers as they are."""
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
            return _fmt(v)
        f, unit = self.of(name)
        text = _fmt(float(v) / f)
        return f"{text} {unit}" if unit and with_unit and text not in ("—", "0") else text


def summary_table(rs: ResultSet, metrics: list[str], by: list[str] | None = None) -> pd.DataFrame:
    """Wide table: one row per configuration (`by`), one `mean ± half-width` column per metric (in a
    readable unit named in the header, e.g. `latency_p99_s [µs]`), n, and how many replications
    did not complete. Parameter values are shown in their unit (`200 k ops/s`); 0/1 metrics as a
    percentage with the Wilson interval; a cell whose n is below the configuration's replications
    says so (`(n=2)`); a spread that is floating-point noise is 0."""
    from sim.analysis.stats import interval, is_binary

    by = rs.varying() if by is None else by
    s = rs.summary(by=by, metrics=metrics)
    if s.empty:
        return pd.DataFrame()
    units = _Units(rs.runs)
    header = {m: f"{m} [{u}]" if (u := units.of(m)[1]) else m for m in metrics}
    binary = {m: is_binary(rs.runs[m]) for m in metrics}

    def cell(r) -> str:
        if r["n"] == 0:
            return "—"
        m = r["metric"]
        short = f" (n={int(r['n'])})" if int(r["n"]) < int(r["replications"]) else ""
        if binary[m]:
            g = rs.runs
            for c in by:
                g = g[g[c].astype(str) == str(r[c])]
            w = interval(g[m], method="wilson")
            return f"{w.mean:.0%} [{w.low:.0%}, {w.high:.0%}]{short}"
        f = units.of(m)[0]
        hw = r["half_width"]
        out = _fmt(r["mean"] / f)
        if hw is None or (isinstance(hw, float) and math.isnan(hw)):
            return out + short
        return f"{out} ± {_fmt(hw / f, 2)}{short}"

    s = s.assign(cell=s.apply(cell, axis=1))
    if not by:
        s = s.assign(std=[_fmt(r["std"] / units.of(r["metric"])[0]) for _, r in s.iterrows()],
                     metric=s["metric"].map(header))
        return s[["metric", "cell", "std", "n"]].rename(columns={"cell": "mean ± 95% CI"})
    wide = s.pivot_table(index=by, columns="metric", values="cell", aggfunc="first", sort=False)
    groups = s.groupby(by, sort=False, dropna=False)
    n = groups["replications"].max()
    wide = wide.reindex(columns=[m for m in metrics if m in wide.columns])
    wide.insert(0, "n", n.reindex(wide.index).astype(int))
    inc = groups["incomplete"].first().reindex(wide.index).fillna("")
    if (inc.astype(str) != "").any():
        wide.insert(1, "not complete", inc.astype(str))
    wide = wide.reset_index()
    for c in by:
        if c in wide.columns and c in rs.runs.columns:
            wide[c] = [units.value(c, v) for v in wide[c]]
    wide.columns = [header.get(str(c), str(c)) for c in wide.columns]
    wide.attrs["metric_columns"] = [header[m] for m in metrics if header[m] in wide.columns]
    return wide


def transpose_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The wide summary with one row per metric and one column per configuration (for a handful of
    configurations and many metrics, so that the table fits the page)."""
    from sim.analysis.plots import pretty

    metric_cols = [c for c in table.attrs.get("metric_columns", []) if c in table.columns]
    head = [c for c in table.columns if c not in metric_cols]
    cfg = [" · ".join(f"{pretty(c)} = {row[c]}" for c in head if c not in ("n", "not complete")) or "all"
           for _, row in table.iterrows()]
    body = table[metric_cols].T
    body.columns = cfg
    extra = pd.DataFrame([table[c].astype(str).tolist() for c in ("n", "not complete") if c in table.columns],
                         index=[c for c in ("n", "not complete") if c in table.columns], columns=cfg)
    out = pd.concat([extra, body])
    return out.rename_axis("metric").reset_index()


def _two_variants(rs: ResultSet, hue: str | None) -> tuple[str, list[str], list[str]] | None:
    """(variant column, its two values as text, the other columns that tell points apart)."""
    from sim.analysis.figures import _mirrors

    if "seed" not in rs.runs.columns:
        return None
    if not hue:  # two variants without a sweep axis: a parameter (or the result) with two values
        two = [c for c in rs.varying() if rs.runs[c].astype(str).nunique() == 2]
        two = sorted(two, key=lambda c: c == "scenario") or (["result"] if len(rs.results) == 2 else [])
        if not two:
            return None
        hue = two[0]
    vals = sorted(rs.runs[hue].astype(str).unique())
    if len(vals) != 2:
        return None
    by = [c for c in rs.varying() if c != hue and not _mirrors(rs.runs, c, [hue])]
    return hue, vals, by


def paired_frame(rs: ResultSet, hue: str | None, metrics: list[str]) -> tuple[str, list[str], pd.DataFrame] | None:
    """Paired (common random numbers) differences b - a between the two values of `hue`, in SI units:
    (variant column, [a, b], compare_variants frame with `incomplete_a`/`incomplete_b`)."""
    from sim.analysis.stats import compare_variants, describe_incomplete, outcomes

    tv = _two_variants(rs, hue)
    if tv is None:
        return None
    hue, vals, by = tv
    try:
        t = compare_variants(rs.runs, hue, vals[0], vals[1], metrics, by=by)
    except ValueError:
        return None
    if t.empty:
        return None
    runs = rs.runs.assign(_outcome=outcomes(rs.runs), _v=rs.runs[hue].astype(str))
    grouped = runs.groupby([*by, "_v"], dropna=False)["_outcome"]
    inc = {k if isinstance(k, tuple) else (k,): describe_incomplete(g) for k, g in grouped}
    reps = {k if isinstance(k, tuple) else (k,): len(g) for k, g in grouped}
    keys = [tuple(r[c] for c in by) for _, r in t.iterrows()]
    t = t.assign(incomplete_a=[inc.get((*k, vals[0]), "") for k in keys],
                 incomplete_b=[inc.get((*k, vals[1]), "") for k in keys],
                 replications=[max(reps.get((*k, vals[0]), 0), reps.get((*k, vals[1]), 0)) for k in keys])
    return hue, vals, t.assign(_by=[by] * len(t))


def paired_table(rs: ResultSet, hue: str | None, metrics: list[str], x: str | None = None
                 ) -> tuple[str, pd.DataFrame] | None:
    """The paired comparison as a table in readable units (one row per point and metric)."""
    pf = paired_frame(rs, hue, metrics)
    if pf is None:
        return None
    hue, vals, t = pf
    t = t[t["n_pairs"] > 0]
    if t.empty:
        return None
    by = t["_by"].iloc[0]
    units = _Units(rs.runs)
    rows = []
    for _, r in t.iterrows():
        m = r["metric"]
        f, unit = units.of(m)
        ci = "—" if math.isnan(r["half_width"]) else f"[{_fmt(r['low'] / f)}, {_fmt(r['high'] / f)}]"
        row = {c: units.value(c, r[c]) for c in by}
        row.update({"metric": m, "unit": unit or "", _variant_name(hue, vals[0]): _fmt(r["mean_a"] / f),
                    _variant_name(hue, vals[1]): _fmt(r["mean_b"] / f),
                    "difference": _fmt(r["diff"] / f), "95% CI (paired)": ci,
                    "± unpaired": _fmt(r["unpaired_half_width"] / f, 2), "p": _p(r["p_value"]),
                    "pairs": f"{int(r['n_pairs'])} of {int(r['replications'])}"})
        rows.append(row)
    return f"{hue}: {vals[1]} minus {vals[0]}", pd.DataFrame(rows)


def _variant_name(col: str, v: str) -> str:
    from sim.analysis.plots import pretty

    return v if col == "result" else f"{pretty(col)} = {v}"


def findings(rs: ResultSet, hue: str | None, metrics: list[str]) -> list[str]:
    """One sentence per metric stating the comparison of the two variants with its 95% CI (paired by
    seed), how many replications it rests on, and which of them did not complete."""
    from sim.analysis.plots import pretty
    from sim.analysis.stats import OUTCOME_METRICS, is_binary

    pf = paired_frame(rs, hue, metrics)
    if pf is None:
        return []
    col, vals, t = pf
    a, b = (_variant_name(col, v) for v in vals)
    by = t["_by"].iloc[0]
    units = _Units(rs.runs)
    binary = {m: is_binary(rs.runs[m]) for m in metrics if m in rs.runs.columns}
    out = []
    for m in metrics:
        tm = t[t["metric"] == m]
        if tm.empty:
            continue
        name = pretty(m) if m not in ("deadlocked", "stalled") else f"P({m})"

        def q(v, signed=False, m=m):
            if binary.get(m):  # a probability: a difference is in percentage points
                return f"{v * 100:+.0f} pp" if signed else f"{v:.0%}"
            text = units.value(m, v)
            return ("+" + text) if signed and v > 0 else text

        if not by:
            r = tm.iloc[0]
            if math.isnan(r["mean_a"]) and math.isnan(r["mean_b"]):
                continue  # no value in either variant: nothing to state
            s = f"{name}: {b} {q(r['mean_b'])} against {a} {q(r['mean_a'])}"
            pairs = f"{int(r['n_pairs'])} of {int(r['replications'])} paired seeds"
            if r["n_pairs"] < 2:
                s += f"; not compared: only {pairs} have a value in both"
            elif r["std_diff"] == 0 and r["diff"] == 0:
                s += f"; identical in all {pairs}"
            else:
                sig = r["low"] > 0 or r["high"] < 0
                s += (f"; difference {q(r['diff'], True)}, 95% CI [{q(r['low'], True)}, {q(r['high'], True)}], "
                      f"{'significant' if sig else 'not significant'} (p {_p(r['p_value'])}, {pairs})")
            if m not in OUTCOME_METRICS:
                caveat = [f"{v}: {inc} of {int(r['replications'])}" for v, inc in
                          ((a, r["incomplete_a"]), (b, r["incomplete_b"])) if inc]
                if caveat:
                    s += "; not every replication completed (" + "; ".join(caveat) + ")"
            out.append(s + ".")
            continue
        ok = tm[tm["n_pairs"] >= 2]
        counts = [(len(ok[ok["low"] > 0]), "significantly higher"), (len(ok[ok["high"] < 0]), "significantly lower"),
                  (len(ok[(ok["std_diff"] == 0) & (ok["diff"] == 0)]), "identical")]
        counts.append((len(ok) - sum(c for c, _ in counts), "not significantly different"))
        said = ", ".join(f"{word} at {c}" for c, word in counts if c)
        s = f"{name}: {b} against {a} over {len(tm)} points: {said or 'no point with two paired values'}"
        if len(tm) > len(ok):
            s += f"; {len(tm) - len(ok)} point(s) not compared (fewer than 2 paired seeds with a value)"
        if counts[0][0] or counts[1][0]:
            r = ok.loc[ok["diff"].abs().idxmax()]
            where = ", ".join(f"{pretty(c)} = {units.value(c, r[c])}" for c in by)
            s += (f"; the largest difference is {q(r['diff'], True)} (95% CI [{q(r['low'], True)}, {q(r['high'], True)}], "
                  f"{int(r['n_pairs'])} pairs) at {where}")
        out.append(s + ".")
    return out


def _yaml(obj) -> str:
    from ruamel.yaml import YAML

    y = YAML()
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(obj, buf)
    return buf.getvalue()


def sweep_grid(manifest: dict) -> pd.DataFrame:
    """The swept parameters and their values as the scenario wrote them (one row per parameter)."""
    sw = manifest.get("sweep") or (manifest.get("scenario") or {}).get("sweep") or {}
    rows = []
    for kind in ("grid", "zip"):
        for k, v in (sw.get(kind) or {}).items():
            vals = v if isinstance(v, list) else [v]
            rows.append({"parameter": k, "kind": kind, "values": ", ".join(_fmt(x) for x in vals),
                         "count": len(vals)})
    pts = sw.get("points")
    if isinstance(pts, list) and pts:
        rows.append({"parameter": ", ".join(sorted({k for p in pts if isinstance(p, dict) for k in p})),
                     "kind": "points", "values": f"{len(pts)} listed points", "count": len(pts)})
    return pd.DataFrame(rows)


def _table_html(df: pd.DataFrame, cls: str = "data") -> str:
    if df.empty:
        return "<p><em>no rows</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _table_md(df: pd.DataFrame) -> str:
    if df.empty:
        return "_no rows_\n"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in r) + " |")
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.45}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;
white-space:nowrap}td:first-child,th:first-child{text-align:left}th{background:#f2f2f2;position:sticky;top:0;z-index:1}
tbody tr:nth-child(even){background:#fafafa}
.scroll{overflow:auto;max-height:32em;max-width:100%;margin:1em 0;border:1px solid #ddd}
.scroll table{margin:0}table.meta td,table.meta th{text-align:left;white-space:normal}
table.meta th{position:static}.meta{margin:1em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px;max-height:30em}
figure{margin:1.5em 0}img{max-width:100%;height:auto}figcaption{font-size:13px;color:#555}
.findings li{margin:.35em 0}.note{color:#555;font-size:14px}details summary{cursor:pointer}"""


def _wall_time(rs: ResultSet) -> str:
    """Wall time of every loaded run or sweep, and their total when there are several."""
    times = [(k, mf.get("wall_time_s")) for k, mf in rs.manifests.items()]
    known = [(k, float(t)) for k, t in times if isinstance(t, int | float)]
    if not known:
        return ""

    def human(t: float) -> str:
        return f"{t:.3g} s" if t < 60 else f"{t / 60:.3g} min" if t < 3600 else f"{t / 3600:.3g} h"

    if len(times) == 1:
        return human(known[0][1])
    parts = ", ".join(f"{k}: {human(t)}" for k, t in known)
    missing = "" if len(known) == len(times) else f" ({len(times) - len(known)} without a recorded time)"
    return f"{human(sum(t for _, t in known))} in total ({parts}){missing}"


def build_report(rs: ResultSet, fig_dir: Path, fmt: str = "html", metrics: list[str] | None = None,
                 x: str | None = None, hue: str | None = None, link_base: Path | None = None,
                 **figure_options) -> str:
    """The report text; figures are written to `fig_dir` (and embedded in HTML)."""
    from sim.analysis.figures import _metric, choose_axes, interesting_metrics, write_figures

    chosen = [_metric(rs, m) for m in metrics] if metrics else interesting_metrics(rs)
    # a run whose replications all failed still gets a report (with its errors), without figures
    figs = (write_figures(rs, fig_dir, metrics=chosen, x=x, hue=hue, formats=("png",), **figure_options)
            if chosen else [])
    x_col, hue_col, _facets = choose_axes(rs, x, hue)
    table = summary_table(rs, chosen)
    if 0 < len(table) <= 4 and len(table.columns) > 8 and "metric" not in table.columns:
        table = transpose_summary(table)  # few configurations, many metrics: one row per metric
    paired = paired_table(rs, hue_col, chosen, x_col)
    sentences = findings(rs, hue_col, chosen)
    sc = rs.scenario
    m = rs.manifest
    name = " vs ".join(dict.fromkeys(str((mf.get("scenario") or {}).get("name", k)) for k, mf in rs.manifests.items()))
    per_point = rs.runs.groupby(["result", "point"])["replication"].nunique() if len(rs.runs) else pd.Series([0])
    reps = f"{int(per_point.min())}" if per_point.min() == per_point.max() else \
        f"{int(per_point.min())}–{int(per_point.max())}"
    commits = sorted({str(mf.get("git_commit", "")) for mf in rs.manifests.values()} - {""})
    meta = [
        ("results", ", ".join(str(p) for p in rs.paths.values())),
        ("scenario file", ", ".join(sorted({str(mf.get("scenario_file", "")) for mf in rs.manifests.values()} - {""}))),
        ("kind", rs.kind),
        ("system", sc.get("system", "")),
        ("replications per configuration", reps),
        ("configurations", int(rs.runs.groupby(["result", "point"]).ngroups)),
        ("simulated duration", _Units(pd.DataFrame({"duration_s": [sc.get("duration")]})).value(
            "duration_s", sc.get("duration")) if isinstance(sc.get("duration"), int | float) else ""),
        ("base seed", m.get("seed", sc.get("seed", ""))),
        ("package version", m.get("package_version", "")),
        ("git commit", ", ".join(commits) + (" (different commits!)" if len(commits) > 1 else "")),
        ("wall time", _wall_time(rs)),
    ]
    errors = [e for mf in rs.manifests.values() for e in (mf.get("errors") or [])]
    if "error" in rs.runs.columns:
        errs = rs.runs[rs.runs["error"].notna() & (rs.runs["error"].astype(str) != "")]
        errors += [{"seed": r.get("seed"), "error": r["error"]} for _, r in errs.head(20).iterrows()]
    violations = [v for mf in rs.manifests.values() for v in (mf.get("violations") or [])]
    events = rs.events
    if not events.empty and "time_s" in events.columns:
        ev_units = _Units(events)
        events = events.assign(time_s=[ev_units.value("time_s", v) for v in events["time_s"]]).rename(
            columns={"time_s": "time"})
    note = ("Cells: mean ± half-width of the 95% confidence interval over replications (Student t; 0/1 "
            "metrics such as deadlocked: the fraction with its Wilson interval). n is the number of replications "
            "per configuration; a cell with fewer (a NaN metric, e.g. no latency after an early deadlock) says "
            "so, and 'not complete' counts replications that deadlocked, stalled, timed out or stopped early. "
            "± 0 means every replication gave the same value.")
    grids = [(k, sweep_grid(mf)) for k, mf in rs.manifests.items()]
    grids = [(k, g) for k, g in grids if not g.empty]
    scen_yaml = "".join(f"# {k}\n{_yaml(mf.get('scenario') or {})}\n" for k, mf in rs.manifests.items())
    if fmt == "md":
        out = [f"# Report: {name}\n", (sc.get("description") or "").strip() + "\n"]
        out += ["| | |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in meta] + [""]
        if sentences:
            out += ["## Findings\n"] + [f"- {s}" for s in sentences] + [""]
        out += ["## Summary\n", note + "\n", _table_md(table)]
        if paired:
            out += [f"## Paired comparison ({paired[0]})\n",
                    "Differences over replications paired by seed (common random numbers); "
                    "`± unpaired` is the Welch interval for comparison.\n", _table_md(paired[1])]
        out += ["## Figures\n"]
        base = link_base or fig_dir.parent
        for f in figs:
            if f.png is not None:
                rel = Path(*f.png.relative_to(base).parts) if f.png.is_relative_to(base) else f.png
                out.append(f"![{f.title}]({rel.as_posix()})\n\n*{f.title}*\n")
        if errors or violations:
            out += ["## Errors and violations\n"] + [f"- `{_fmt(e.get('seed'))}`: {str(e.get('error', '')).splitlines()[0]}"
                                                     for e in errors[:20]]
            out += [f"- {v.get('invariant', '')}: {v.get('detail', '')}" for v in violations[:20]] + [""]
        if not events.empty:
            out += ["## Notable events (first 30)\n", _table_md(events.head(30).drop(columns=["result"], errors="ignore"))]
        out += ["## Scenario\n"]
        for k, g in grids:
            out += [f"Sweep grid of {k}:\n", _table_md(g)]
        out += ["```yaml\n" + scen_yaml + "```\n"]
        return "\n".join(out)
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>Report: {esc(name)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Report: {esc(name)}</h1>",
             f"<p>{esc((sc.get('description') or '').strip())}</p>",
             "<table class='meta'>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>"
                                              for k, v in meta) + "</table>"]
    if sentences:
        parts += ["<h2>Findings</h2>", "<p class='note'>Paired by seed (common random numbers): replication r of "
                  "each variant ran with the same seed; 95% confidence intervals of the per-seed differences.</p>",
                  "<ul class='findings'>" + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ul>"]
    parts += ["<h2>Summary</h2>", f"<p class='note'>{esc(note)}</p>", _table_html(table, "summary")]
    if len(table.columns) > 8:
        parts.append("<p class='note'>The table scrolls sideways and down; its header row stays in view.</p>")
    if paired:
        parts += [f"<h2>Paired comparison ({esc(paired[0])})</h2>",
                  "<p class='note'>Differences over replications paired by seed (common random numbers), in the "
                  "unit of each row; <code>± unpaired</code> is the Welch interval's half-width, for "
                  "comparison.</p>", _table_html(paired[1], "paired")]
    parts.append("<h2>Figures</h2>")
    for f in figs:
        if f.png is not None:
            b64 = base64.b64encode(f.png.read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{esc(f.title)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{esc(f.title)}</figcaption></figure>")
    if errors or violations:
        parts.append("<h2>Errors and violations</h2><ul>")
        parts += [f"<li>seed {esc(_fmt(e.get('seed')))}: {esc(str(e.get('error', '')).splitlines()[0])}</li>"
                  for e in errors[:20]]
        parts += [f"<li>{esc(str(v.get('invariant', '')))}: {esc(str(v.get('detail', '')))}</li>"
                  for v in violations[:20]]
        parts.append("</ul>")
    if not events.empty:
        parts += ["<h2>Notable events (first 30)</h2>",
                  _table_html(events.head(30).drop(columns=["result"], errors="ignore"), "events")]
    parts.append("<h2>Scenario</h2>")
    for k, g in grids:
        parts += [f"<h3>Sweep grid ({esc(k)})</h3>", _table_html(g, "grid")]
    parts += ["<details><summary>Resolved scenario (YAML, SI units)</summary>",
              f"<pre>{esc(scen_yaml)}</pre></details>", "</body></html>"]
    return "\n".join(parts)


def main(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from sim.analysis.results import load

    fmt = args.format or ("md" if args.out and Path(args.out).suffix.lower() in (".md", ".markdown") else "html")
    first = Path(args.result_dirs[0])
    try:
        rs = load(args.result_dirs)
        out = Path(args.out) if args.out else first / f"report.{fmt}"
        text = build_report(rs, first / "figures", fmt, metrics=args.metric, x=args.x, hue=args.hue,
                            link_base=out.parent, **scale_options(args))
    except ResultError as e:
        return error("report", str(e))
    except (KeyError, ValueError) as e:
        return error("report", str(e).strip("'\""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(out)
    return 0



def browser() -> str | None:
    """A headless-capable Chromium on PATH (Debian's `chromium` package), or None."""
    import shutil

    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def screenshot(report: str | Path, png: str | Path, width: int = 1280, height: int = 2000,
               timeout: float = 120.0) -> Path:
    """Render `report` in headless Chromium at `width` x `height` CSS pixels into `png` (to look at it
    as a reader's browser shows it). Raises RuntimeError without a browser or when it fails."""
    import subprocess
    import tempfile

    exe = browser()
    if exe is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    png = Path(png).resolve()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", f"--window-size={width},{height}", Path(report).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return png
