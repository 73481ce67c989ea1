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

import pandas as pd

from sim.analysis.cli import add_common_arguments, error
from sim.analysis.results import ResultError, ResultSet


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)
    p.add_argument("--format", choices=["html", "md"], help="report format (default from --out, else html)")
    p.add_argument("--out", metavar="FILE", help="report file (default RESULT_DIR/report.html or report.md)")


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if 10 ** digits <= abs(v) < 1e9:
            return f"{v:.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def summary_table(rs: ResultSet, metrics: list[str], by: list[str] | None = None) -> pd.DataFrame:
    """Wide table: one row per configuration (`by`), one `mean ± half-width` column per metric (in a
    readable unit named in the header, e.g. `latency_p99_s [µs]`), and n."""
    from sim.analysis.plots import unit_scale

    by = rs.varying() if by is None else by
    s = rs.summary(by=by, metrics=metrics)
    if s.empty:
        return pd.DataFrame()
    scale = {m: unit_scale(m, pd.to_numeric(rs.runs[m], errors="coerce"), typical="median") for m in metrics}
    header = {m: f"{m} [{u}]" if u else m for m, (_f, u) in scale.items()}

    def cell(r) -> str:
        if r["n"] == 0:
            return "—"
        f = scale[r["metric"]][0]
        hw = r["half_width"]
        out = _fmt(r["mean"] / f)
        if hw is None or (isinstance(hw, float) and math.isnan(hw)):
            return out
        if hw <= 1e-9 * abs(r["mean"]):
            hw = 0.0  # floating-point noise of identical replications
        return f"{out} ± {_fmt(hw / f, 2)}"

    s = s.assign(cell=s.apply(cell, axis=1))
    if not by:
        s = s.assign(std=[r["std"] / scale[r["metric"]][0] for _, r in s.iterrows()],
                     metric=s["metric"].map(header))
        return s[["metric", "cell", "std", "n"]].rename(columns={"cell": "mean ± 95% CI"})
    wide = s.pivot_table(index=by, columns="metric", values="cell", aggfunc="first", sort=False)
    n = s.groupby(by, sort=False, dropna=False)["n"].max()
    wide = wide.reindex(columns=[m for m in metrics if m in wide.columns])
    wide.insert(0, "n", n.reindex(wide.index).astype(int))
    wide = wide.reset_index()
    wide.columns = [header.get(str(c), str(c)) for c in wide.columns]
    return wide


def paired_table(rs: ResultSet, hue: str | None, metrics: list[str], x: str | None) -> tuple[str, pd.DataFrame] | None:
    """Paired (common random numbers) differences between the two values of `hue`, if it has two."""
    from sim.analysis.figures import _mirrors
    from sim.analysis.stats import compare_variants

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
    try:
        t = compare_variants(rs.runs, hue, vals[0], vals[1], metrics, by=by)
    except ValueError:
        return None
    t = t[t["n_pairs"] > 0]
    if t.empty:
        return None
    keep = [*by, "metric", "mean_a", "mean_b", "diff", "half_width", "unpaired_half_width", "p_value", "n_pairs"]
    return f"{hue}: {vals[1]} minus {vals[0]}", t[keep]


def _yaml(obj) -> str:
    from ruamel.yaml import YAML

    y = YAML()
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(obj, buf)
    return buf.getvalue()


def _table_html(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p><em>no rows</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _table_md(df: pd.DataFrame) -> str:
    if df.empty:
        return "_no rows_\n"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in r) + " |")
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
figure{margin:1.5em 0}img{max-width:100%}figcaption{font-size:13px;color:#555}"""


def build_report(rs: ResultSet, fig_dir: Path, fmt: str = "html", metrics: list[str] | None = None,
                 x: str | None = None, hue: str | None = None, link_base: Path | None = None) -> str:
    """The report text; figures are written to `fig_dir` (and embedded in HTML)."""
    from sim.analysis.figures import _metric, choose_axes, interesting_metrics, write_figures

    chosen = [_metric(rs, m) for m in metrics] if metrics else interesting_metrics(rs)
    # a run whose replications all failed still gets a report (with its errors), without figures
    figs = write_figures(rs, fig_dir, metrics=chosen, x=x, hue=hue, formats=("png",)) if chosen else []
    x_col, hue_col, _facets = choose_axes(rs, x, hue)
    table = summary_table(rs, chosen)
    paired = paired_table(rs, hue_col, chosen, x_col)
    sc = rs.scenario
    m = rs.manifest
    name = " vs ".join(dict.fromkeys(str((mf.get("scenario") or {}).get("name", k)) for k, mf in rs.manifests.items()))
    reps = int(rs.runs.groupby(["result", "point"])["replication"].nunique().max()) if len(rs.runs) else 0
    meta = [
        ("results", ", ".join(str(p) for p in rs.paths.values())),
        ("kind", rs.kind),
        ("system", sc.get("system", "")),
        ("replications per configuration", reps),
        ("configurations", int(rs.runs.groupby(["result", "point"]).ngroups)),
        ("base seed", m.get("seed", sc.get("seed", ""))),
        ("package version", m.get("package_version", "")),
        ("git commit", m.get("git_commit", "")),
        ("wall time", f"{_fmt(float(m['wall_time_s']), 3)} s" if isinstance(m.get("wall_time_s"), int | float) else ""),
    ]
    errors = [e for mf in rs.manifests.values() for e in (mf.get("errors") or [])]
    if "error" in rs.runs.columns:
        errs = rs.runs[rs.runs["error"].notna() & (rs.runs["error"].astype(str) != "")]
        errors += [{"seed": r.get("seed"), "error": r["error"]} for _, r in errs.head(20).iterrows()]
    violations = [v for mf in rs.manifests.values() for v in (mf.get("violations") or [])]
    events = rs.events
    note = ("Cells: mean ± half-width of the 95% confidence interval over replications (Student t; "
            "rows with NaN for a metric, e.g. no deadlock, are left out of that metric's n).")
    scen_yaml = "".join(f"# {k}\n{_yaml(mf.get('scenario') or {})}\n" for k, mf in rs.manifests.items())
    if fmt == "md":
        out = [f"# Report: {name}\n", (sc.get("description") or "").strip() + "\n"]
        out += ["| | |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in meta] + [""]
        out += ["## Summary\n", note + "\n", _table_md(table)]
        if paired:
            out += [f"## Paired comparison ({paired[0]})\n",
                    "Differences over replications paired by seed (common random numbers); "
                    "`unpaired_half_width` is the Welch interval for comparison.\n", _table_md(paired[1])]
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
        out += ["## Scenario\n", "```yaml\n" + scen_yaml + "```\n"]
        return "\n".join(out)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report: {html.escape(name)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Report: {html.escape(name)}</h1>",
             f"<p>{html.escape((sc.get('description') or '').strip())}</p>",
             "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td style='text-align:left'>{html.escape(_fmt(v))}</td></tr>"
                                 for k, v in meta) + "</table>",
             "<h2>Summary</h2>", f"<p>{html.escape(note)}</p>", _table_html(table)]
    if paired:
        parts += [f"<h2>Paired comparison ({html.escape(paired[0])})</h2>",
                  "<p>Differences over replications paired by seed (common random numbers); "
                  "<code>unpaired_half_width</code> is the Welch interval, for comparison.</p>", _table_html(paired[1])]
    parts.append("<h2>Figures</h2>")
    for f in figs:
        if f.png is not None:
            b64 = base64.b64encode(f.png.read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(f.title)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{html.escape(f.title)}</figcaption></figure>")
    if errors or violations:
        parts.append("<h2>Errors and violations</h2><ul>")
        parts += [f"<li>seed {html.escape(_fmt(e.get('seed')))}: {html.escape(str(e.get('error', '')).splitlines()[0])}</li>"
                  for e in errors[:20]]
        parts += [f"<li>{html.escape(str(v.get('invariant', '')))}: {html.escape(str(v.get('detail', '')))}</li>"
                  for v in violations[:20]]
        parts.append("</ul>")
    if not events.empty:
        parts += ["<h2>Notable events (first 30)</h2>", _table_html(events.head(30).drop(columns=["result"], errors="ignore"))]
    parts += ["<h2>Scenario</h2>", f"<pre>{html.escape(scen_yaml)}</pre>", "</body></html>"]
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
                            link_base=out.parent)
    except ResultError as e:
        return error("report", str(e))
    except (KeyError, ValueError) as e:
        return error("report", str(e).strip("'\""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(out)
    return 0

