"""Command line: `python -m sim COMMAND` (also the `sim` console script).

Commands owned by other packages are declared in COMMANDS and imported lazily: each module
offers `add_arguments(parser)` and `main(args) -> int`. Scenario errors print one
`FILE:LINE: key.path: message` line each and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from sim.core import registry
from sim.core.system import FRAMEWORK_METRICS
from sim.scenario.errors import ScenarioError

# command -> (module offering add_arguments/main, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("sim.cli", "run a scenario's replications and write results"),
    "validate": ("sim.cli", "check scenario files without running them"),
    "list": ("sim.cli", "list registered systems, components, workloads, faults and metrics"),
    "show": ("sim.scenario.describe", "show a system's params (defaults, units), fault targets, metrics"),
    "sweep": ("sim.runner.sweep", "run a scenario's parameter sweep (serial, processes or dask)"),
    "results": ("sim.runner.index", "list the runs, sweeps and campaigns under results/ (--system, --since)"),
    "plot": ("sim.analysis.cli", "write standard figures beside a result directory"),
    "report": ("sim.analysis.report", "write an HTML/Markdown report of a result directory"),
    "campaign": ("sim.runner.campaign", "run replications with random fault schedules and check invariants"),
    "replay": ("sim.runner.replay", "re-run one replication of a result directory exactly"),
    "validate-models": ("sim.runner.theory", "compare component models with queueing theory"),
}


# --- run ------------------------------------------------------------------------------------------
def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", help="result directory (default results/<name>/<UTC time>-<hash>/)")
    p.add_argument("--seed", type=int, help="base seed (replication r uses seed + r)")
    p.add_argument("--replications", type=int, help="number of replications")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a scenario key")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument("--check-determinism", action="store_true",
                   help="run one replication twice and compare a hash of its event sequence")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 unless every replication is clean (no deadlock, stall, violation, error or watchdog)")
    p.add_argument("--workers", type=int, default=1,
                   help="run replications in parallel on this many worker processes (results identical to 1)")
    p.add_argument("--base-point", action="store_true",
                   help="for a file with a sweep: block, run only its base point (the scenario without the sweep)")


def run_main(args: argparse.Namespace) -> int:
    from sim.runner import run_scenario
    from sim.runner.health import health
    from sim.scenario import load_scenario, parse_set_arguments

    scenario = load_scenario(args.scenario, parse_set_arguments(args.set))
    if args.replications is not None and args.replications < 1:
        raise ScenarioError([_cli_error("--replications", "must be >= 1")])
    if args.workers < 1:
        raise ScenarioError([_cli_error("--workers", "must be >= 1")])
    spec = scenario.resolved.get("sweep")
    if spec and not args.base_point:
        raise ScenarioError([scenario.located.error(("sweep",), (
            f"this file sweeps {spec['n_points']} points; run them with `sim sweep {args.scenario}` "
            "(or `sim run --base-point` for the base point alone)"))])
    if args.check_determinism:
        from sim.runner.determinism import check_determinism

        ok, message = check_determinism(scenario, seed=args.seed)
        print(message)
        return 0 if ok else 1
    res = run_scenario(scenario, args.out, seed=args.seed, replications=args.replications,
                       progress=not args.no_progress and sys.stderr.isatty(), workers=args.workers)
    print_summary(res.metrics)
    for err in res.errors:
        print(f"replication failed: {err.splitlines()[0]}", file=sys.stderr)
    if res.violations:
        print(f"{len(res.violations)} invariant violation(s); first: {res.violations[0]['invariant']}: "
              f"{res.violations[0]['detail']}", file=sys.stderr)
    print(f"results: {res.out_dir}")
    rows = res.metrics.assign(error=[r.error for r in res.replications]) if res.replications else res.metrics
    h = health(rows)
    for line in h.lines(strict=args.strict):
        print(line, file=sys.stderr)
    return h.exit_code(strict=args.strict)


def print_summary(metrics) -> None:
    """A short table: mean (and min..max over replications) of each metric."""
    import math

    if metrics.empty:
        print("no metrics")
        return
    cols = [c for c in metrics.columns if c not in ("replication", "seed")]
    n = len(metrics)
    print(f"{'metric':<34} {'mean':>14} {'min':>12} {'max':>12}   (n={n})")
    def fmt(v: float) -> str:
        return "nan" if math.isnan(v) else f"{v:.6g}"

    for c in cols:
        s = metrics[c].astype(float)
        k = int(s.count())  # the n behind this row's figures (NaN rows, e.g. no deadlock, are left out)
        note = f"   (n={k})" if k != n else ""
        print(f"{c:<34} {fmt(s.mean()):>14} {fmt(s.min()):>12} {fmt(s.max()):>12}{note}")


def _cli_error(path: str, msg: str):
    from sim.scenario.errors import ErrorItem

    return ErrorItem("<command line>", 0, path, msg)


# --- validate ---------------------------------------------------------------------------------------
def add_validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="+", help="scenario YAML files")
    p.add_argument("--print", action="store_true", dest="print_resolved",
                   help="print each resolved scenario (SI units) and its points x replications")


def validate_main(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    bad = 0
    for path in args.scenarios:
        try:
            scenario = load_scenario(path)
            print(f"{path}: ok")
            if args.print_resolved:
                print(resolved_text(scenario))
        except ScenarioError as e:
            bad += 1
            for item in e.items:
                print(str(item), file=sys.stderr)
    return 2 if bad else 0


def resolved_text(scenario) -> str:
    """The resolved scenario as YAML, then `N points x R replications = M runs`."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(scenario.resolved, buf)
    spec = scenario.resolved.get("sweep")
    points = spec["n_points"] if spec else 1
    reps = scenario.resolved["replications"]
    if isinstance(reps, dict):
        runs = f"{points * reps['min']}..{points * reps['max']} runs (adaptive)"
        reps = f"{reps['min']}..{reps['max']}"
    else:
        runs = f"{points * reps} runs"
    return f"{buf.getvalue().rstrip()}\n# {points} point(s) x {reps} replication(s) = {runs}"


# --- list -------------------------------------------------------------------------------------------
def add_list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", nargs="?", choices=["systems", "components", "workloads", "faults", "metrics",
                                               "faultpoints"])
    p.add_argument("system", nargs="?", help="with `metrics` or `faultpoints`: only this system's")


def list_main(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else [*registry.KINDS, "metrics", "faultpoints"]
    for kind in kinds:
        print(f"{kind}:")
        if kind in ("metrics", "faultpoints"):
            rows = _metric_rows(args.system) if kind == "metrics" else _point_rows(args.system)
            if rows is None:
                print(f"error: unknown system {args.system!r} (known: {', '.join(registry.names('systems'))})",
                      file=sys.stderr)
                return 2
        else:
            rows = [(e.name, e.description) for e in registry.entries(kind)]
        if not rows:
            print("  (none)")
        for name, doc in rows:
            print(f"  {name:<32} {doc}")
    return 0


def _point_rows(system: str | None) -> list[tuple[str, str]] | None:
    """(name, "[system] description (targets)") for one system's fault points, or every system's."""
    names = registry.names("systems")
    if system is not None and system not in names:
        return None
    rows = []
    for name in [system] if system else names:
        for fp in getattr(registry.get("systems", name).obj, "fault_points", ()):
            on = f" (strikes: {', '.join(fp.targets)})" if fp.targets else ""
            rows.append((fp.name, f"[{name}] {fp.description}{on}"))
    return rows


def _metric_rows(system: str | None) -> list[tuple[str, str]] | None:
    """(name, "[system] unit: description") for one system's declared metrics, or every system's."""
    names = registry.names("systems")
    if system is not None and system not in names:
        return None
    rows = []
    for name in [system] if system else names:
        for m in registry.get("systems", name).obj.metrics_spec:
            unit = f" ({m.unit})" if m.unit else ""
            rows.append((m.name, f"[{name}]{unit} {m.description}"))
    rows += [(m.name, f"[every run] {m.description}") for m in FRAMEWORK_METRICS]
    return rows


_LOCAL = {
    "run": (add_run_arguments, run_main),
    "validate": (add_validate_arguments, validate_main),
    "list": (add_list_arguments, list_main),
}


def _command(name: str):
    module, _help = COMMANDS[name]
    if name in _LOCAL:
        return _LOCAL[name]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return mod.add_arguments, mod.main


class _Version(argparse.Action):
    """`sim --version`: package version, git commit and dirty flag (git looked up only when asked)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from sim.core.version import __version__
        from sim.runner.provenance import git_state

        g = git_state()
        extra = ""
        if g["git_commit"]:
            extra = f" (git {g['git_commit'][:12]}{', with uncommitted changes' if g['git_dirty'] else ''})"
        print(f"sim {__version__}{extra}")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim", description="Simulate data-protection and recovery mechanisms.")
    parser.add_argument("--version", action=_Version, help="print the version (and git commit) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if only is None or only == name:
            cmd = _command(name)
            if cmd is not None:
                cmd[0](p)
                p.set_defaults(_main=cmd[1])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only if only in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    fn = getattr(args, "_main", None)
    if fn is None:
        print(f"sim {args.command}: not available in this installation", file=sys.stderr)
        return 2
    try:
        return int(fn(args) or 0)
    except ScenarioError as e:
        for item in e.items:
            print(str(item), file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"{e.filename or Path(str(e))}:0: file not found", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
