"""`sim plot RESULT_DIR... [--metric M] [--x PARAM] [--hue PARAM] [--logy] [--logx]`: standard figures
beside the results.

Figures go to `RESULT_DIR/figures/` (the first directory's, when several are compared) as PNG and
SVG. A missing or unreadable result directory, or an unknown metric/parameter, is a one-line
error and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result_dirs", nargs="+", metavar="RESULT_DIR",
                   help="result directory of a `sim run` or `sim sweep` (several to compare them)")
    p.add_argument("--metric", action="append", default=None, metavar="M",
                   help="metric to plot (repeatable; several give a stacked panel too); default: all that vary")
    p.add_argument("--x", metavar="PARAM", help="swept parameter on the x axis (key path or its last part)")
    p.add_argument("--hue", metavar="PARAM", help="parameter giving one line per value (the variant)")
    p.add_argument("--logy", action=argparse.BooleanOptionalAction, default=None,
                   help="log y axis (--no-logy: linear); default: log where a panel's values span > 2 decades")
    p.add_argument("--logx", action=argparse.BooleanOptionalAction, default=None,
                   help="log x axis, CDFs included (--no-logx: linear); default: log for geometric sweeps "
                        "and CDFs spanning > 2 decades")
    p.add_argument("--incomplete", choices=["mark", "drop"], default="mark",
                   help="replications that deadlocked, stalled, timed out or stopped early: 'mark' them "
                        "(annotated n, hollow markers; default) or 'drop' them from all but the outcome metrics")


def scale_options(args: argparse.Namespace) -> dict:
    """write_figures keyword arguments from --logx/--logy/--incomplete (None: 'auto')."""
    def auto(v):
        return "auto" if v is None else bool(v)
    return {"logx": auto(getattr(args, "logx", None)), "logy": auto(getattr(args, "logy", None)),
            "incomplete": getattr(args, "incomplete", "mark")}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)
    p.add_argument("--out", metavar="DIR", help="directory for the figures (default RESULT_DIR/figures)")
    p.add_argument("--format", default="png,svg", help="comma-separated formats (default png,svg)")


def error(command: str, message: str) -> int:
    print(f"sim {command}: error: {message}", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from sim.analysis.figures import write_figures
    from sim.analysis.results import ResultError, load

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad or not formats:
        return error("plot", f"unsupported format(s) {', '.join(bad) or '(none)'}; use png, svg or pdf")
    try:
        rs = load(args.result_dirs)
        out = Path(args.out) if args.out else Path(args.result_dirs[0]) / "figures"
        files = write_figures(rs, out, metrics=args.metric, x=args.x, hue=args.hue, formats=formats,
                              **scale_options(args))
    except ResultError as e:
        return error("plot", str(e))
    except (KeyError, ValueError) as e:
        return error("plot", str(e).strip("'\""))
    for f in files:
        for p in f.paths:
            print(p)
    print(f"{sum(len(f.paths) for f in files)} figure file(s) in {out}", file=sys.stderr)
    return 0
