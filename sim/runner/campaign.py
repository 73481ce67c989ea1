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
import math
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
from sim.runner.executors import check_main_guard
from sim.runner.provenance import provenance
from sim.runner.replication import run_replication
from sim.runner.store import atomic_write_bytes, atomic_write_json, default_out_dir, environment_info
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


def campaign_kinds(system: Any, target: str) -> tuple[str, ...]:
    """The kinds a campaign draws for `target`: those it takes, less `power_loss` where it does exactly
    what a `crash` does (`FaultTarget.power_loss_is_crash`: no PMEM), which would only double that template."""
    ft = system.fault_targets()[target]
    kinds = supported_kinds(system, target)
    if "crash" in kinds and ft.power_loss_is_crash():
        kinds = tuple(k for k in kinds if k != "power_loss")
    return kinds


def campaign_templates(system: Any, window: float, kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """The templates a campaign draws from: the system's own, else defaults per (target, kind)."""
    own = getattr(system, "campaign_faults", None)
    templates = own() if own is not None else None
    if templates is None:
        templates = []
        for target in sorted(system.fault_targets()):
            for kind in campaign_kinds(system, target):
                templates += default_templates(kind, target, window)
    if kinds:
        templates = [t for t in templates if t["kind"] in kinds]
    return templates


DOWN_KINDS = ("crash", "power_loss")


def point_templates(system: Any, window: float) -> list[dict[str, Any]]:
    """One template per (fault point, target, down-family kind the target takes): a crash or power
    loss (only where it differs from a crash: `campaign_kinds`) struck at a hit of the point, healed
    after a short delay."""
    out = []
    targets = system.fault_targets()
    for fp in getattr(system, "fault_points", ()):
        for target in fp.targets:
            if target not in targets:
                continue
            for kind in campaign_kinds(system, target):
                if kind in DOWN_KINDS:
                    out += [t | {"point": fp.name} for t in default_templates(kind, target, window)]
    return out


def _concrete(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, dict) and "dist" in value:
        return round(float(draw(_dist(value), rng)), 9)
    return copy.deepcopy(value)


def draw_schedule(templates: list[dict[str, Any]], run_seed: int, window: float,
                  max_faults: int = DEFAULT_MAX_FAULTS, point_hits: dict[str, int] | None = None
                  ) -> list[dict[str, Any]]:
    """1..max_faults scenario `faults:` entries with concrete values, a function of `run_seed` only.

    A template with a `point` strikes at a hit drawn uniformly among the hits that point had in the
    fault window of a fault-free run (`point_hits`; log-uniform in 1..1000 when unknown)."""
    if not templates:
        return []
    rng = np.random.default_rng(derive_seed(run_seed, "campaign"))
    n = int(rng.integers(1, max_faults + 1))
    out = []
    for _ in range(n):
        tpl = templates[int(rng.integers(len(templates)))]
        entry = {k: _concrete(v, rng) for k, v in tpl.items()}
        if "point" in entry:
            known = (point_hits or {}).get(entry["point"])
            entry["hit"] = (int(rng.integers(1, known + 1)) if known else
                            int(math.exp(rng.uniform(0.0, math.log(1000.0)))))
        else:
            entry["at"] = round(float(rng.uniform(0.0, window)), 9)
        out.append(entry)
    out.sort(key=lambda e: (e.get("at", -1.0), e.get("point", ""), e.get("hit", 0)))
    return out


def draw_swarm(templates: list[dict[str, Any]], run_seed: int, max_faults: int) -> tuple[list[int], int]:
    """Swarm testing: the run's seed picks which templates (fault kinds, targets, points) are on
    (each with probability 1/2, at least one) and how many faults it draws (1..max_faults)."""
    rng = np.random.default_rng(derive_seed(run_seed, "campaign.swarm"))
    on = [i for i in range(len(templates)) if rng.random() < 0.5]
    if not on:
        on = [int(rng.integers(len(templates)))]
    return on, int(rng.integers(1, max_faults + 1))


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
    swarm: dict[str, Any] | None = None  # what the swarm draw switched on (None: not a swarm run)
    fault_point_hits: dict[str, int] = field(default_factory=dict)
    violations_by_invariant: dict[str, int] = field(default_factory=dict)  # every violation, by check

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
        when = f"@{f['point']}#{f['hit']}" if f.get("point") else f"@{f['at']:.4g}s"
        parts.append(f"{f['kind']} {f['target']}{when}" + (f"+{d:.3g}s" if isinstance(d, float) else ""))
    return ", ".join(parts)


def describe_template(t: dict[str, Any]) -> str:
    return f"{t['kind']} {t['target']}" + (f" at {t['point']}" if t.get("point") else "")


def calibrate_points(base: dict[str, Any], window: float) -> dict[str, int]:
    """Hits of each fault point in the fault window of one fault-free run (scaled from the whole run)."""
    scen = scenario_from_dict(copy.deepcopy(base), name="<campaign calibration>")
    res = run_replication(scen.resolved, int(base["seed"]), 0)
    scale = window / base["duration"]
    return {name: max(1, int(n * scale)) for name, n in res.fault_point_hits.items()}


def coverage(result: CampaignResult) -> list[tuple[str, int, int, int]]:
    """Per declared fault point: (name, runs that hit it, total hits, faults drawn there).

    A fault drawn at a point strikes only if the run reaches its hit index (a crash earlier in the
    run can end the run's path there); the strikes themselves are in each run's events."""
    names = list(result.options.get("fault_points") or [])
    for r in result.runs:
        names += [n for n in r.fault_point_hits if n not in names]
    rows = []
    for name in names:
        runs = sum(1 for r in result.runs if r.fault_point_hits.get(name))
        hits = sum(r.fault_point_hits.get(name, 0) for r in result.runs)
        drawn = sum(1 for r in result.runs for f in r.faults if f.get("point") == name)
        rows.append((name, runs, hits, drawn))
    return rows


def not_in_variant(result: CampaignResult) -> set[str]:
    """The declared points the campaign's variant does not pass, none of them hit.

    A system whose class declares every variant's points may narrow `self.fault_points` to the
    points its instance's code passes (cdp_streams does); the campaign records that list."""
    reachable = result.options.get("variant_fault_points")
    if reachable is None:  # a system that does not narrow its points: every declared point counts
        return set()
    hit = {n for r in result.runs for n, k in r.fault_point_hits.items() if k}
    return set(result.options.get("fault_points") or []) - set(reachable) - hit


def failures_by_invariant(result: CampaignResult) -> list[tuple[str, int, int]]:
    """Per invariant that fired: (name, runs it fired in, violations in all), most runs first.

    Counted from every violation of every run, not only the details kept, so that a check firing
    late in a run (behind earlier findings) is still seen."""
    runs: dict[str, int] = {}
    total: dict[str, int] = {}
    for r in result.runs:
        for name, n in r.violations_by_invariant.items():
            runs[name] = runs.get(name, 0) + 1
            total[name] = total.get(name, 0) + n
    return sorted(((n, runs[n], total[n]) for n in runs), key=lambda row: (-row[1], row[0]))


def _execute(args: tuple) -> CampaignRun:
    """Validate and run one campaign run (top-level for process pools)."""
    k, seed, resolved, faults, swarm = args
    data = copy.deepcopy(resolved)
    data["faults"] = faults
    data["seed"] = seed
    t0 = time.monotonic()
    try:
        scen = scenario_from_dict(data, name=f"<campaign run {k}>")
    except ScenarioError as e:
        return CampaignRun(k, seed, faults, error=f"ScenarioError: {e}", swarm=swarm)
    res = run_replication(scen.resolved, seed, 0)
    m = res.metrics
    return CampaignRun(k, seed, faults, violations=res.violations, error=res.error,
                       invariant_violations=int(m.get("invariant_violations", 0)),
                       deadlocked=bool(m.get("deadlocked", 0)), watchdog_timeout=bool(m.get("watchdog_timeout", 0)),
                       wall_time_s=time.monotonic() - t0, swarm=swarm, fault_point_hits=res.fault_point_hits,
                       violations_by_invariant=res.violations_by_invariant)


# --- a campaign ----------------------------------------------------------------------------------
@dataclass
class CampaignResult:
    name: str
    runs: list[CampaignRun]
    base: dict[str, Any]  # the resolved scenario every run starts from
    options: dict[str, Any]
    wall_time_s: float = 0.0
    out_dir: Path | None = None
    provenance: dict[str, Any] | None = None  # git state and code hashes when the campaign started

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
        if run.swarm is not None:
            data["description"] += f" (swarm draw: {run.swarm['on']})"
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
    if not checks.get("stall_window"):
        checks["stall_window"] = float(heal)  # no completion for a whole heal phase's length: stalled
    if checks.get("interval") and checks["interval"] > base["duration"] / 10:
        checks["interval"] = None
    base["checks"] = checks
    base["faults"] = []
    return base


def run_campaign(scenario, runs: int, *, seed: int | None = None, duration: float | None = None,
                 heal: float | None = None, max_faults: int = DEFAULT_MAX_FAULTS, kinds: list[str] | None = None,
                 workers: int = 1, progress: bool = False, swarm: bool = False) -> CampaignResult:
    """Run `runs` replications of `scenario` with random fault schedules; see the module docstring.

    `swarm`: each run's seed also draws which templates are on — fault kinds and targets, and the
    model's fault points (struck at a hit drawn from a fault-free run's count) — and how many faults."""
    base = prepare_base(scenario, duration, heal)
    started = provenance(base.get("plugins"))  # the code the runs use, not the checkout at the end
    window = base["duration"] - base["checks"]["heal_phase"]
    cls = scenario.system_cls
    params = cls.Params.model_validate(base["params"])
    workload = cls.Workload.model_validate(base["workload"] or {}) if cls.Workload is not None else None
    probe = probe_targets(cls, params, workload, base["duration"])
    templates = campaign_templates(probe, window, kinds)
    point_hits: dict[str, int] = {}
    if swarm:
        points = point_templates(probe, window)
        if kinds:
            points = [t for t in points if t["kind"] in kinds]
        templates += points
        if getattr(cls, "fault_points", ()):
            base["checks"]["fault_point_coverage"] = True
            point_hits = calibrate_points(base, window)
    if not templates:
        raise ScenarioError([ErrorItem(scenario.path, 0, "system", f"system {cls.name!r} offers no fault "
                                       "templates for a campaign (give its targets fault_kinds, or define "
                                       "campaign_faults(); check --kinds)")])
    first = int(base["seed"] if seed is None else seed)
    jobs = []
    for k in range(runs):
        pool, n, drawn = templates, max_faults, None
        if swarm:
            on, n = draw_swarm(templates, first + k, max_faults)
            pool = [templates[i] for i in on]
            drawn = {"on": [describe_template(templates[i]) for i in on], "max_faults": n}
        jobs.append((k, first + k, base, draw_schedule(pool, first + k, window, n, point_hits), drawn))
    t0 = time.monotonic()
    results: list[CampaignRun] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=runs, unit="run", leave=False)
    if workers > 1 and runs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        check_main_guard()

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
               "max_faults": max_faults, "kinds": kinds, "templates": templates, "swarm": swarm,
               "fault_points": [fp.name for fp in getattr(cls, "fault_points", ())],
               "variant_fault_points": [fp.name for fp in getattr(probe, "fault_points", ())],
               "fault_point_hits_counted": bool(base["checks"].get("fault_point_coverage")),
               "calibration_hits": point_hits}
    return CampaignResult(scenario.name, results, base, options, time.monotonic() - t0, provenance=started)


def write_campaign(result: CampaignResult, out_dir: str | Path) -> Path:
    """campaign.json (kind, system, git commit and versions as every manifest, the base scenario,
    options, every run's seed, faults and finding) and failures/seed-S.yaml.

    The git commit, dirty flag and code hashes are those of the campaign's start (`result.provenance`)."""
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
    foreign = not_in_variant(result)
    atomic_write_json(out / "campaign.json", {
        "kind": "campaign",
        "scenario": result.name,
        "system": result.base.get("system"),
        **environment_info(result.base.get("plugins"), result.provenance),
        "base": result.base,  # the resolved scenario every run starts from: `sim replay DIR --replication K`
        "options": result.options,
        "wall_time_s": result.wall_time_s,
        "runs": len(result.runs),
        "failures": len(result.failures),
        "coverage": [{"point": n, "runs_hit": a, "hits": h, "faults_drawn": f, "in_variant": n not in foreign}
                     for n, a, h, f in coverage(result)],
        "failures_by_invariant": [{"invariant": n, "runs": k, "violations": v}
                                  for n, k, v in failures_by_invariant(result)],
        "results": [{"run": r.run, "seed": r.seed, "faults": r.faults, "failed": r.failed, "swarm": r.swarm,
                     "finding": r.finding(), "violations": r.violations[:5],
                     "violations_by_invariant": r.violations_by_invariant, "error": r.error,
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
    cov = coverage(result)
    if cov and not result.options.get("fault_point_hits_counted", True):
        lines.append(f"fault points: {len(cov)} declared, hits not counted (--swarm or "
                     "checks.fault_point_coverage counts them)")
    elif cov:
        foreign = not_in_variant(result)
        own = [c for c in cov if c[0] not in foreign]
        lines.append(f"fault points: {sum(1 for c in own if c[1])}/{len(own)} hit"
                     + (f" (+{len(foreign)} declared for other variants, not passed by this one)" if foreign else ""))
        lines.append(f"  {'point':<44} {'runs hit':>8} {'hits':>10} {'drawn':>7}")
        for name, runs_hit, hits, drawn in own + [c for c in cov if c[0] in foreign]:
            mark = "   not in this variant" if name in foreign else "   NEVER HIT" if not hits else ""
            lines.append(f"  {name:<44} {runs_hit:>8} {hits:>10} {drawn:>7}{mark}")
    by_check = failures_by_invariant(result)
    if by_check:
        lines.append(f"  {'invariant':<44} {'runs':>8} {'violations':>10}")
        for name, k, v in by_check:
            lines.append(f"  {name:<44} {k:>8} {v:>10}")
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
    p.add_argument("--swarm", action="store_true",
                   help="swarm testing: each seed draws which fault kinds, targets and fault points are on")


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
                          progress=not args.no_progress and sys.stderr.isatty(), swarm=args.swarm)
    out = Path(args.out) if args.out else default_out_dir(scenario.name, "", "results", prefix="campaign-")
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
    if args.swarm:
        opts += " --swarm"
    print(format_report(result, args.scenario, opts))
    print(f"results: {out}")
    failed = bool(result.failures)
    if args.expect_violations:
        if not failed:
            print("expected the campaign to catch a violation in this known-broken variant; it caught none",
                  file=sys.stderr)
        return 0 if failed else 1
    return 1 if failed else 0
