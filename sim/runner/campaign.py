"""Fault campaigns: many runs, each with a random fault schedule drawn from its seed, each checked.

In the spirit of deterministic simulation testing (FoundationDB's simulation, TigerBeetle's
VOPR): run `k` uses seed `seed + k`; its fault schedule is drawn from that seed alone (stream
"campaign"), so `sim campaign SCENARIO --seed S --runs 1` replays any run, and the failing run's
complete scenario is also written out for `sim run FILE --seed S --replications 1`.

Each run: the scenario with its `faults:` replaced by 1..`max_faults` faults drawn from the
system's fault templates (`System.campaign_faults()`, or one per target and supported kind),
striking at uniform times in the fault window; then a heal phase (`checks.heal_phase`) with
faults off, after which the system must have converged (liveness: `System.converged()`, no
deadlock, no watchdog timeout). Safety is the system's own invariants (`violations()`). A run
with a violation, a liveness failure or a model error is a failure; the exit code is 1 when a
system claimed correct fails (or, with `--expect-violations`, when a known-broken one is NOT caught).
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.random import derive_seed
from sim.core.units import to_seconds
from sim.faults.spec import KINDS, _dist, draw
from sim.faults.targets import supported_kinds
from sim.runner.replication import run_replication
from sim.runner.store import atomic_write_bytes, atomic_write_json
from sim.scenario import load_scenario, parse_set_arguments
from sim.scenario.errors import ErrorItem, ScenarioError
from sim.scenario.faults import probe_targets
from sim.scenario.schema import scenario_from_dict

DEFAULT_MAX_FAULTS = 3
DEFAULT_HEAL_FRACTION = 0.25


# --- templates -----------------------------------------------------------------------------------
def _u(low: float, high: float) -> dict[str, Any]:
    return {"dist": "uniform", "low": low, "high": high}


def default_templates(kind: str, target: str, window: float) -> list[dict[str, Any]]:
    """Generic fault templates for a kind (times scaled to the fault window); [] when the kind
    needs model-specific parameters (ransomware: a rate only the model can size)."""
    short = _u(0.01 * window, 0.2 * window)
    base = {"kind": kind, "target": target}
    table: dict[str, dict[str, Any]] = {
        "crash": {"restart_after": short},
        "power_loss": {"restore_after": short},
        "link_down": {"duration": short},
        "slow_link": {"duration": short, "latency_factor": _u(2.0, 20.0)},
        "lose_data": {},
        "corrupt_data": {},
        "outage": {"duration": short},
        "throttle": {"duration": short, "factor": _u(0.05, 0.5)},
        "clock_skew": {"duration": short, "offset": _u(0.0, 0.05 * window), "drift": _u(1e-6, 1e-3)},
    }
    if kind not in table:
        return []
    return [base | table[kind]]


def campaign_templates(system: Any, window: float, kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """The templates a campaign draws from: the system's own, else defaults per (target, kind)."""
    own = getattr(system, "campaign_faults", None)
    templates = own() if own is not None else None
    if templates is None:
        templates = []
        for target in sorted(system.fault_targets()):
            for kind in supported_kinds(system, target):
                templates += default_templates(kind, target, window)
    if kinds:
        templates = [t for t in templates if t["kind"] in kinds]
    return templates


def _concrete(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, dict) and "dist" in value:
        return round(float(draw(_dist(value), rng)), 9)
    return copy.deepcopy(value)


def draw_schedule(templates: list[dict[str, Any]], run_seed: int, window: float,
                  max_faults: int = DEFAULT_MAX_FAULTS) -> list[dict[str, Any]]:
    """1..max_faults scenario `faults:` entries with concrete values, a function of `run_seed` only."""
    if not templates:
        return []
    rng = np.random.default_rng(derive_seed(run_seed, "campaign"))
    n = int(rng.integers(1, max_faults + 1))
    out = []
    for _ in range(n):
        tpl = templates[int(rng.integers(len(templates)))]
        entry = {k: _concrete(v, rng) for k, v in tpl.items()}
        entry["at"] = round(float(rng.uniform(0.0, window)), 9)
        out.append(entry)
    out.sort(key=lambda e: e["at"])
    return out


# --- one run -------------------------------------------------------------------------------------
@dataclass
class CampaignRun:
    run: int
    seed: int
    faults: list[dict[str, Any]]
    violations: list[dict[str, Any]] = field(default_factory=list)
    invariant_violations: int = 0
    error: str | None = None
    deadlocked: bool = False
    watchdog_timeout: bool = False
    wall_time_s: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.invariant_violations or self.error)

    def finding(self) -> str:
        if self.error:
            return "error: " + self.error.splitlines()[0]
        if self.violations:
            v = self.violations[0]
            more = f" (+{self.invariant_violations - 1} more)" if self.invariant_violations > 1 else ""
            return f"{v['invariant']}: {v['detail']}{more}"
        return ""


def describe_faults(faults: list[dict[str, Any]]) -> str:
    parts = []
    for f in faults:
        heal = KINDS[f["kind"]].heal_key
        d = f.get(heal) if heal else None
        parts.append(f"{f['kind']} {f['target']}@{f['at']:.4g}s" + (f"+{d:.3g}s" if isinstance(d, float) else ""))
    return ", ".join(parts)


def _execute(args: tuple[int, int, dict[str, Any], list[dict[str, Any]]]) -> CampaignRun:
    """Validate and run one campaign run (top-level for process pools)."""
    k, seed, resolved, faults = args
    data = copy.deepcopy(resolved)
    data["faults"] = faults
    data["seed"] = seed
    t0 = time.monotonic()
    try:
        scen = scenario_from_dict(data, name=f"<campaign run {k}>")
    except ScenarioError as e:
        return CampaignRun(k, seed, faults, error=f"ScenarioError: {e}")
    res = run_replication(scen.resolved, seed, 0)
    m = res.metrics
    return CampaignRun(k, seed, faults, violations=res.violations, error=res.error,
                       invariant_violations=int(m.get("invariant_violations", 0)),
                       deadlocked=bool(m.get("deadlocked", 0)), watchdog_timeout=bool(m.get("watchdog_timeout", 0)),
                       wall_time_s=time.monotonic() - t0)


# --- a campaign ----------------------------------------------------------------------------------
@dataclass
class CampaignResult:
    name: str
    runs: list[CampaignRun]
    base: dict[str, Any]  # the resolved scenario every run starts from
    options: dict[str, Any]
    wall_time_s: float = 0.0
    out_dir: Path | None = None

    @property
    def failures(self) -> list[CampaignRun]:
        return [r for r in self.runs if r.failed]

    def failure_scenario(self, run: CampaignRun) -> dict[str, Any]:
        """The complete scenario of a failing run (explicit faults), to save and re-run."""
        data = copy.deepcopy(self.base)
        data["faults"] = run.faults
        data["seed"] = run.seed
        data["replications"] = 1
        data["description"] = (f"Failing run {run.run} of a fault campaign on {self.name}: "
                               f"{run.finding()[:200]}")
        return {k: v for k, v in data.items() if v is not None}


def prepare_base(scenario, duration: float | None = None, heal: float | None = None) -> dict[str, Any]:
    """The resolved scenario of every campaign run: one replication, a heal phase, no sweep."""
    base = copy.deepcopy(scenario.resolved)
    base.pop("sweep", None)
    base["replications"] = 1
    if duration is not None:
        base["duration"] = float(duration)
        base["warmup"] = min(base.get("warmup", 0.0), 0.5 * base["duration"])
    checks = dict(base.get("checks") or {})
    if heal is None:
        heal = checks.get("heal_phase") or DEFAULT_HEAL_FRACTION * base["duration"]
    if not 0 < heal < base["duration"]:

        raise ScenarioError([ErrorItem("<command line>", 0, "--heal", "the heal phase must be > 0 and shorter "
                                                                      "than the duration")])
    checks["heal_phase"] = float(heal)
    if checks.get("interval") and checks["interval"] > base["duration"] / 10:
        checks["interval"] = None
    base["checks"] = checks
    base["faults"] = []
    return base


def run_campaign(scenario, runs: int, *, seed: int | None = None, duration: float | None = None,
                 heal: float | None = None, max_faults: int = DEFAULT_MAX_FAULTS, kinds: list[str] | None = None,
                 workers: int = 1, progress: bool = False) -> CampaignResult:
    """Run `runs` replications of `scenario` with random fault schedules; see the module docstring."""
    base = prepare_base(scenario, duration, heal)
    window = base["duration"] - base["checks"]["heal_phase"]
    cls = scenario.system_cls
    params = cls.Params.model_validate(base["params"])
    workload = cls.Workload.model_validate(base["workload"] or {}) if cls.Workload is not None else None
    templates = campaign_templates(probe_targets(cls, params, workload, base["duration"]), window, kinds)
    if not templates:
        raise ScenarioError([ErrorItem(scenario.path, 0, "system", f"system {cls.name!r} offers no fault "
                                       "templates for a campaign (give its targets fault_kinds, or define "
                                       "campaign_faults(); check --kinds)")])
    first = int(base["seed"] if seed is None else seed)
    jobs = [(k, first + k, base, draw_schedule(templates, first + k, window, max_faults)) for k in range(runs)]
    t0 = time.monotonic()
    results: list[CampaignRun] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=runs, unit="run", leave=False)
    if workers > 1 and runs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            for r in pool.map(_execute, jobs, chunksize=max(1, runs // (4 * workers))):
                results.append(r)
                if bar is not None:
                    bar.update()
    else:
        for job in jobs:
            results.append(_execute(job))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    options = {"runs": runs, "seed": first, "duration": base["duration"], "heal": base["checks"]["heal_phase"],
               "max_faults": max_faults, "kinds": kinds, "templates": templates}
    return CampaignResult(scenario.name, results, base, options, time.monotonic() - t0)


def write_campaign(result: CampaignResult, out_dir: str | Path) -> Path:
    """campaign.json (options, every run's seed, faults and finding) and failures/seed-S.yaml."""
    from ruamel.yaml import YAML


    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    for r in result.failures:
        import io

        buf = io.StringIO()
        yaml.dump(result.failure_scenario(r), buf)
        atomic_write_bytes(out / "failures" / f"seed-{r.seed}.yaml", buf.getvalue().encode())
    atomic_write_json(out / "campaign.json", {
        "scenario": result.name,
        "options": result.options,
        "wall_time_s": result.wall_time_s,
        "runs": len(result.runs),
        "failures": len(result.failures),
        "results": [{"run": r.run, "seed": r.seed, "faults": r.faults, "failed": r.failed,
                     "finding": r.finding(), "violations": r.violations[:5], "error": r.error,
                     "deadlocked": r.deadlocked, "watchdog_timeout": r.watchdog_timeout,
                     "wall_time_s": r.wall_time_s} for r in result.runs],
    })
    result.out_dir = out
    return out


def format_report(result: CampaignResult, scenario_path: str, cli_options: str = "") -> str:
    fails = result.failures
    n = len(result.runs)
    seeds = f"seeds {result.runs[0].seed}..{result.runs[-1].seed}" if n else "no runs"
    lines = [f"campaign {result.name}: {n} runs ({seeds}), {len(fails)} failed, "
             f"{sum(len(r.faults) for r in result.runs)} faults injected, {result.wall_time_s:.1f} s"]
    if fails:
        lines.append(f"{'seed':>10}  {'faults':<60}  finding")
        for r in fails[:50]:
            lines.append(f"{r.seed:>10}  {describe_faults(r.faults)[:60]:<60}  {r.finding()[:160]}")
        if len(fails) > 50:
            lines.append(f"... and {len(fails) - 50} more (see campaign.json)")
        r = fails[0]
        lines.append("replay a failure, e.g. the first:")
        lines.append(f"  python -m sim campaign {scenario_path} --seed {r.seed} --runs 1{cli_options}")
        if result.out_dir is not None:
            lines.append(f"  python -m sim run {result.out_dir / 'failures' / f'seed-{r.seed}.yaml'} "
                         f"--seed {r.seed} --replications 1")
    return "\n".join(lines)


# --- CLI -----------------------------------------------------------------------------------------
def _seconds(text: str) -> float:
    """A duration on the command line: '200ms', '2s' or a number of seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return to_seconds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file (its faults: are replaced by random schedules)")
    p.add_argument("--runs", type=int, default=100, help="number of runs (default 100)")
    p.add_argument("--seed", type=int, help="seed of the first run (run k uses seed + k; default: the scenario's)")
    p.add_argument("--duration", type=_seconds, help="override the run duration (e.g. 200ms)")
    p.add_argument("--heal", type=_seconds, help="heal phase with faults off at the end "
                                                   f"(default: checks.heal_phase, else {DEFAULT_HEAL_FRACTION * 100:.0f}%% "
                                                   "of the duration)")
    p.add_argument("--max-faults", type=int, default=DEFAULT_MAX_FAULTS, help="at most this many faults per run")
    p.add_argument("--kinds", help="comma-separated fault kinds to draw from (default: all the system takes)")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a scenario key")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count; 1 = serial)")
    p.add_argument("--out", help="directory for campaign.json and failing scenarios "
                                 "(default results/<name>/campaign-<UTC time>/)")
    p.add_argument("--expect-violations", action="store_true",
                   help="the variant is known broken: succeed only if the campaign catches it")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def main(args: argparse.Namespace) -> int:

    if args.runs < 1:
        raise ScenarioError([ErrorItem("<command line>", 0, "--runs", "must be >= 1")])
    if args.max_faults < 1:
        raise ScenarioError([ErrorItem("<command line>", 0, "--max-faults", "must be >= 1")])
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    for k in kinds or []:
        if k not in KINDS:
            raise ScenarioError([ErrorItem("<command line>", 0, "--kinds", f"unknown fault kind {k!r} "
                                                                           f"(known: {', '.join(KINDS)})")])
    # the scenario's own faults are replaced by the campaign's (and must not block e.g. a shorter duration)
    scenario = load_scenario(args.scenario, {**parse_set_arguments(args.set), "faults": []})
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    result = run_campaign(scenario, args.runs, seed=args.seed, duration=args.duration, heal=args.heal,
                          max_faults=args.max_faults, kinds=kinds, workers=max(1, workers),
                          progress=not args.no_progress and sys.stderr.isatty())
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) if args.out else Path("results") / scenario.name / f"campaign-{stamp}"
    write_campaign(result, out)
    opts = "".join(f" --set {s}" for s in args.set)
    if args.duration is not None:
        opts += f" --duration {args.duration!r}"
    if args.heal is not None:
        opts += f" --heal {args.heal!r}"
    if args.max_faults != DEFAULT_MAX_FAULTS:
        opts += f" --max-faults {args.max_faults}"
    if args.kinds:
        opts += f" --kinds {args.kinds}"
    print(format_report(result, args.scenario, opts))
    print(f"results: {out}")
    failed = bool(result.failures)
    if args.expect_violations:
        if not failed:
            print("expected the campaign to catch a violation in this known-broken variant; it caught none",
                  file=sys.stderr)
        return 0 if failed else 1
    return 1 if failed else 0
