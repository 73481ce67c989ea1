"""`sim sweep`: run a scenario's sweep points x replications on an executor, resumably.

Every run is `execute_run(config, seed, replication)`: a pure function of the point's resolved
configuration and an explicit seed (replication r uses `seed + r` at every point: common random
numbers), submitted to any `concurrent.futures.Executor` (serial, a spawn process pool, or Dask's
`Client.get_executor()`), with a bounded number in flight so a sweep of tens of thousands of runs
keeps only their metric rows in memory. Each finished run is appended to the directory's journal
(`sim.runner.cache`) keyed by a hash of (config, seed, package version, code: the sim sources and the
scenario's plugins), so re-running into the same directory, or `--resume`, skips runs that finished
without error with the same code (runs computed by other code are run again, with a one-line notice;
failed runs are tried again), and a kill loses only the runs in flight. A run
that raises is a row with its `error` and `seed`; the sweep goes on.

Adaptive replications (`replications: {min, max, target_relative_ci | target_half_width, metric}`):
a point runs `min` replications; whenever all its submitted runs are back, the t interval of
`metric` is checked and more replications are added (at most doubling) until the target or `max`
is reached. The decision uses only that point's own values, so it is the same on every executor.

Output, each file written atomically: `runs.parquet` (swept parameters, `point`, `replication`,
`seed`, metrics, `error`), `summary.parquet` (per point and metric: n, mean, std and the 95%
Student-t half-width), `manifest.json`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.runner.cache import Journal, run_config, run_key
from sim.runner.executors import EXECUTORS, ExecutorUnavailable, open_executor
from sim.runner.health import health
from sim.runner.provenance import code_hash, provenance
from sim.runner.replication import run_replication
from sim.runner.store import atomic_write_json, atomic_write_parquet, default_out_dir, environment_info
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_set_arguments
from sim.scenario.errors import ErrorItem
from sim.scenario.sweep import expand, resolve_point, swept_values

ID_COLUMNS = ("point", "replication", "seed")
MAX_ERRORS_KEPT = 100
MAX_VIOLATIONS_KEPT = 20


# --- the distributed function ---------------------------------------------------------------------
def execute_run(config: dict[str, Any], seed: int, replication: int) -> dict[str, Any]:
    """Run one replication of one point (in a worker); returns a small picklable record."""
    res = run_replication(config, seed, replication)
    return {
        "seed": seed,
        "metrics": res.metrics,
        "error": res.error,
        "violations": res.violations[:3],
        "wall_time_s": res.wall_time_s,
    }


# --- statistics -----------------------------------------------------------------------------------
def t_half_width(std: np.ndarray | float, n: np.ndarray | float, confidence: float = 0.95):
    """Half-width of the Student-t confidence interval of a mean (NaN when n < 2)."""
    from scipy.stats import t

    n_arr = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = t.ppf(0.5 + confidence / 2, np.where(n_arr >= 2, n_arr - 1, np.nan))
        hw = q * np.asarray(std, dtype=float) / np.sqrt(n_arr)
    return np.where(n_arr >= 2, hw, np.nan)


def metric_columns(runs: pd.DataFrame, swept: list[str]) -> list[str]:
    skip = set(swept) | set(ID_COLUMNS) | {"error"}
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def summarize(runs: pd.DataFrame, swept: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per point and metric: n (finite values), mean, std and the Student-t CI (half-width, low, high).

    Failed runs and non-finite values (e.g. `time_to_deadlock_s` of a run without a deadlock) are
    left out of n; every (point, metric) pair gets a row, with n = 0 when nothing was left.
    """
    metrics = metric_columns(runs, swept)
    cols = ["point", *swept, "metric", "n", "mean", "std", "ci95_half_width", "ci95_low", "ci95_high"]
    if runs.empty or not metrics:
        return pd.DataFrame(columns=cols)
    ok = runs[runs["error"].isna()] if "error" in runs.columns else runs
    values = ok[metrics].astype("float64").replace([np.inf, -np.inf], np.nan)
    g = values.groupby(ok["point"].to_numpy())
    points = runs[["point", *swept]].drop_duplicates("point").sort_values("point")
    idx = points["point"].to_numpy()
    n = g.count().reindex(idx).fillna(0).to_numpy(dtype=np.int64)
    mean = g.mean().reindex(idx).to_numpy()
    std = g.std().reindex(idx).to_numpy()
    k, m = len(idx), len(metrics)
    out = {"point": np.repeat(idx, m)}
    for c in swept:
        out[c] = np.repeat(points[c].to_numpy(), m)
    hw = t_half_width(std.ravel(), n.ravel(), confidence)
    out |= {"metric": np.tile(np.array(metrics, dtype=object), k), "n": n.ravel(), "mean": mean.ravel(),
            "std": std.ravel(), "ci95_half_width": hw, "ci95_low": mean.ravel() - hw, "ci95_high": mean.ravel() + hw}
    return pd.DataFrame(out, columns=cols)


# --- adaptive replications ------------------------------------------------------------------------
@dataclass
class ReplicationPlan:
    initial: int
    adaptive: dict[str, Any] | None = None  # {min, max, metric, target_relative_ci, target_half_width, confidence}

    @classmethod
    def of(cls, replications: int | dict[str, Any]) -> ReplicationPlan:
        if isinstance(replications, dict):
            return cls(int(replications["min"]), dict(replications))
        return cls(int(replications))

    def more(self, values: list[float], n_runs: int) -> tuple[int, bool]:
        """(replications to add, target met) after `n_runs` runs with `values` of the target metric."""
        a = self.adaptive
        if a is None:
            return 0, True
        v = np.asarray([x for x in values if math.isfinite(x)], dtype=float)
        if v.size < 2:
            return 0, False  # nothing to estimate from (all failed, or the metric is undefined here)
        mean, std = float(v.mean()), float(v.std(ddof=1))
        hw = float(t_half_width(std, v.size, a.get("confidence", 0.95)))
        targets = []
        if a.get("target_relative_ci") is not None:
            targets.append(a["target_relative_ci"] * abs(mean))
        if a.get("target_half_width") is not None:
            targets.append(a["target_half_width"])
        target = max(targets)  # met when any target is met
        if hw <= target:
            return 0, True
        room = int(a["max"]) - n_runs
        if room <= 0:
            return 0, False
        needed = v.size * (hw / target) ** 2 if target > 0 else math.inf
        add = min(room, v.size, max(1, math.ceil(needed - v.size)))  # at most doubling per step
        return add, False


@dataclass
class _Point:
    index: int
    assignment: dict[str, Any]
    config: dict[str, Any]
    swept: dict[str, Any]
    submitted: int = 0
    outstanding: int = 0
    values: list[float] = field(default_factory=list)
    n_runs: int = 0


@dataclass
class SweepResult:
    """What a sweep produced: tidy runs, per-point summary, manifest and its directory."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any]
    out_dir: Path | None

    @property
    def failed(self) -> int:
        return int(self.manifest["runs_failed"])


# --- the sweep ------------------------------------------------------------------------------------
def _load(path_or_scenario: Any, overrides: dict[str, Any] | None) -> Scenario:

    if isinstance(path_or_scenario, Scenario):
        if not overrides:
            return path_or_scenario
        return load_scenario(path_or_scenario.path, overrides)
    return load_scenario(path_or_scenario, overrides)


def _find_resumable(root: Path, name: str, config_hash: str) -> Path | None:
    d = root / name
    if not d.is_dir():
        return None
    found = sorted(p for p in d.glob(f"*-{config_hash}") if (p / "journal.jsonl").exists())
    return found[-1] if found else None


def run_sweep(
    path_or_scenario: Any,
    *,
    executor: Any = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    write: bool | None = None,
    progress: bool = True,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    results_root: str | Path = "results",
    hard_interrupt: bool = False,
) -> SweepResult:
    """Run the sweep; see the module docstring. `executor` is a name in EXECUTORS, a
    `concurrent.futures.Executor`, or a `dask.distributed.Client`. `hard_interrupt` (the command
    line's): a second Ctrl-C saves what finished and ends the process at once."""
    scenario = _load(path_or_scenario, overrides)
    import scipy.stats  # noqa: F401 - loaded before the runs: the summary written after a Ctrl-C is then quick
    resolved = scenario.resolved
    spec = resolved.get("sweep")
    names = list(spec["parameters"]) if spec else []
    base_seed = int(resolved["seed"] if seed is None else seed)
    plan = ReplicationPlan.of(resolved["replications"])
    config_hash = scenario.config_hash(base_seed)
    write = (out is not None or resume) if write is None else write

    out_dir: Path | None = None
    if write:
        if out is not None:
            out_dir = Path(out)
        elif resume:
            out_dir = _find_resumable(Path(results_root), resolved["name"], config_hash)
        if out_dir is None:
            out_dir = default_out_dir(resolved["name"], config_hash, results_root)
        # created by the first write (journal or outputs): an executor that cannot start leaves nothing
    journal = Journal(out_dir) if out_dir is not None else None
    done_before = journal.load() if journal is not None else {}
    # failed runs are tried again: a fix of the model (same package version) or of a worker should count
    cached = {k: r for k, r in done_before.items() if not r.get("error")}
    current_code = code_hash(resolved.get("plugins"))
    stale = sum(1 for r in done_before.values() if r.get("code_hash") != current_code)
    if stale:
        print(f"note: {stale} finished run(s) in {out_dir} were computed by other code (sim sources or "
              "plugins changed); they are not reused and run again", file=sys.stderr)

    rows: list[tuple[int, int, dict[str, float], str | None]] = []  # (point, replication, metrics, error)
    swept_at: dict[int, dict[str, Any]] = {}  # point -> its swept values (the tidy tables' first columns)
    errors: list[dict[str, Any]] = []
    violations: list[dict[str, Any]] = []
    stats = {"executed": 0, "reused": 0, "failed": 0, "points_target_met": 0, "points_target_missed": 0}
    metric_checked = plan.adaptive is None
    started = provenance(resolved.get("plugins"))  # the git state of the start, not of the end (a long sweep)
    wall0 = time.monotonic()

    bar = _progress_bar((spec["n_points"] if spec else 1) * plan.initial, resolved["name"]) if progress else None

    queue: deque[tuple[_Point, int]] = deque()
    points_iter = enumerate(expand(spec))
    inflight: dict[cf.Future, str] = {}
    waiters: dict[str, list[tuple[_Point, int]]] = {}
    exhausted = False
    interrupted = False
    broken: str | None = None

    def open_point(index: int, assignment: dict[str, Any]) -> None:
        point_resolved = resolve_point(scenario.located, assignment, index)
        p = _Point(index, assignment, run_config(point_resolved), swept_values(point_resolved, names, assignment))
        swept_at[index] = p.swept
        p.submitted = p.outstanding = plan.initial
        for r in range(plan.initial):
            queue.append((p, r))

    def complete(p: _Point, r: int, rec: dict[str, Any], reused: bool) -> None:
        nonlocal metric_checked
        err = rec.get("error")
        # the metrics dict is shared with the run cache, not copied: memory is one metric row per run
        rows.append((p.index, r, rec.get("metrics") or {}, err.splitlines()[0] if err else None))
        stats["reused" if reused else "executed"] += 1
        if err:
            stats["failed"] += 1
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append({"point": p.index, "replication": r, "seed": base_seed + r, "error": err})
        for v in rec.get("violations") or []:
            if len(violations) < MAX_VIOLATIONS_KEPT:
                violations.append(v | {"point": p.index, "replication": r, "seed": base_seed + r})
        p.outstanding -= 1
        p.n_runs += 1
        if plan.adaptive is not None and not err:
            m = plan.adaptive["metric"]
            if m not in rec["metrics"] and not metric_checked:
                have = ", ".join(sorted(rec["metrics"]))
                raise ScenarioError([scenario.located.error(
                    ("replications", "metric"), f"the run produced no metric {m!r} (it has: {have})")])
            metric_checked = True
            p.values.append(float(rec["metrics"].get(m, math.nan)))
        if bar is not None:
            bar.update(1)
            if stats["failed"]:
                bar.set_postfix(failed=stats["failed"], refresh=False)
        if p.outstanding == 0:
            add, met = plan.more(p.values, p.n_runs)
            if add:
                for r2 in range(p.submitted + add - 1, p.submitted - 1, -1):
                    queue.appendleft((p, r2))
                p.submitted += add
                p.outstanding = add
                if bar is not None:
                    bar.total += add
                    bar.refresh()
            elif plan.adaptive is not None:
                stats["points_target_met" if met else "points_target_missed"] += 1

    def finish(key: str, rec: dict[str, Any], reused: bool) -> None:
        for p, r in waiters.pop(key, []):
            complete(p, r, rec, reused)

    def fill(ex: cf.Executor, max_in_flight: int) -> None:
        nonlocal exhausted
        while len(inflight) < max_in_flight:
            if not queue:
                nxt = next(points_iter, None) if not exhausted else None
                if nxt is None:
                    exhausted = True
                    return
                open_point(*nxt)
                continue
            p, r = queue.popleft()
            s = base_seed + r
            key = run_key(p.config, s)
            if key in waiters:  # the same run already in flight (a repeated point)
                waiters[key].append((p, r))
                continue
            if key in cached:
                waiters[key] = [(p, r)]
                finish(key, cached[key], reused=True)
                continue
            waiters[key] = [(p, r)]
            inflight[ex.submit(execute_run, p.config, s, r)] = key

    def stopped() -> bool:
        return interrupted or (guard is not None and guard.interrupted)

    def write_outputs() -> SweepResult:
        """Tables and manifest from the finished runs (the journal's records), written atomically."""
        errors.sort(key=lambda e: (e["point"], e["replication"]))
        violations.sort(key=lambda v: (v["point"], v["replication"]))
        runs = _runs_frame(rows, swept_at, names, base_seed)
        summary = summarize(runs, names)
        manifest = {
            "kind": "sweep",
            "scenario": {k: v for k, v in resolved.items() if k != "sweep"},
            "scenario_file": scenario.path,
            "sweep": spec or {"parameters": [], "n_points": 1},
            "config_hash": config_hash,
            "seed": base_seed,
            "replications": resolved["replications"],
            "executor": description,
            "complete": not stopped() and broken is None,
            "interrupted": stopped(),
            "runs": len(runs),
            "runs_executed": stats["executed"],
            "runs_reused": stats["reused"],
            "runs_failed": stats["failed"],
            "wall_time_s": time.monotonic() - wall0,
            **environment_info(resolved.get("plugins"), started),
            "errors": errors,
            "violations": violations,
        }
        if plan.adaptive is not None:
            manifest["adaptive"] = {"points_target_met": stats["points_target_met"],
                                    "points_target_missed": stats["points_target_missed"]}
        if out_dir is not None:
            atomic_write_parquet(out_dir / "runs.parquet", runs)
            atomic_write_parquet(out_dir / "summary.parquet", summary)
            atomic_write_json(out_dir / "manifest.json", manifest)
        result = SweepResult(runs=runs, summary=summary, manifest=manifest, out_dir=out_dir)
        return result



    description = ""
    guard = _InterruptGuard() if hard_interrupt else None
    try:
        if guard is not None:
            guard.install(lambda: write_outputs())
        with _executor(executor, workers, scheduler) as (ex, description, max_in_flight):
            if bar is not None:
                bar.set_description(f"{resolved['name']} [{description.split(' (')[0]}]")
            while True:
                fill(ex, max_in_flight)
                if not inflight:
                    if exhausted and not queue:
                        break
                    continue
                done, _ = cf.wait(list(inflight), return_when=cf.FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: inflight[f]):
                    key = inflight.pop(fut)
                    try:
                        rec = fut.result()
                        rec.setdefault("metrics", {})
                    except cf.BrokenExecutor:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a worker/executor failure: record, go on
                        rec = {"metrics": {}, "error": f"executor: {type(exc).__name__}: {exc}", "infra": True}
                    rec["key"] = key
                    rec["code_hash"] = current_code
                    if journal is not None:
                        journal.append(rec)
                    cached[key] = rec  # also a failure: a repeated point in this sweep does not retry it
                    finish(key, rec, reused=False)
    except KeyboardInterrupt:
        interrupted = True
        if guard is not None:
            guard.interrupted = True
    except cf.BrokenExecutor as exc:
        broken = (f"the executor broke ({type(exc).__name__}: {exc}); a worker died or could not start "
                  "(out of memory? killed? a script read from stdin cannot start spawned workers)")
    finally:
        if journal is not None:
            journal.close()
        if bar is not None:
            bar.close()


    if guard is not None:
        guard.writing()
    try:
        result = write_outputs()
    finally:
        if guard is not None:
            guard.restore()
    if interrupted:
        raise SweepInterrupted(result)
    if broken is not None:
        raise SweepAborted(broken, result)
    return result


class _InterruptGuard:
    """Ctrl-C handling of the `sim sweep` command: the first Ctrl-C raises KeyboardInterrupt (the
    sweep stops its workers and saves what finished); a second one writes the tables and manifest
    from the finished runs at once and ends the process with exit code 130, whatever the workers or
    the executor's threads are doing. Installed only from the command line (in a notebook a second
    interrupt must not kill the kernel), and only in the main thread."""

    def __init__(self) -> None:
        self.count = 0
        self.interrupted = False
        self._writing = False
        self._written = False
        self._previous = None
        self._write = None

    def install(self, write) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        self._write = write
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        self.count += 1
        if self.count == 1 and not self.interrupted and not self._writing:
            raise KeyboardInterrupt
        if self._writing:
            return  # the outputs are being written: let that finish (the command then exits)
        self.interrupted = True
        self._writing = True
        try:
            res = self._write()
            where = f" in {res.out_dir}" if res.out_dir is not None else ""
            print(f"interrupted again: {res.manifest['runs']} finished runs saved{where} "
                  f"(continue with --resume{'' if res.out_dir is None else f' --out {res.out_dir}'})",
                  file=sys.stderr, flush=True)
        finally:
            sys.stdout.flush()
            os._exit(130)

    def writing(self) -> None:
        self._writing = True

    def restore(self) -> None:
        import signal

        if self._previous is None:
            return
        if self.interrupted:
            # the command is ending with everything saved and its workers stopped: a further
            # Ctrl-C must not interrupt the interpreter's exit (threading._shutdown) half-way
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, self._previous)


class SweepAborted(RuntimeError):
    """Raised after a sweep whose executor broke has written what it finished (`.result`)."""

    def __init__(self, message: str, result: SweepResult) -> None:
        super().__init__(message)
        self.result = result


class SweepInterrupted(KeyboardInterrupt):
    """Raised after an interrupted sweep has written what it finished (`.result`)."""

    def __init__(self, result: SweepResult) -> None:
        super().__init__("sweep interrupted")
        self.result = result


def _progress_bar(total: int, name: str):
    """A tqdm bar (a widget in notebooks) of runs done / total with ETA.

    It gets a thread lock of its own: tqdm's default lock is a multiprocessing lock, whose creation
    fixes the process-wide default start method as a side effect (a later `set_start_method` by the
    user would then fail).
    """
    import threading

    from tqdm.auto import tqdm

    class SweepBar(tqdm):
        pass

    SweepBar._lock = threading.RLock()
    return SweepBar(total=total, unit="run", desc=name, dynamic_ncols=True)


def _executor(executor: Any, workers: int | None, scheduler: str | None):
    import contextlib

    if isinstance(executor, cf.Executor):
        return contextlib.nullcontext((executor, type(executor).__name__, 2 * (workers or _pool_size(executor))))
    if hasattr(executor, "get_executor") and hasattr(executor, "nthreads"):  # a dask Client
        threads = sum(executor.nthreads().values()) or 1
        return contextlib.nullcontext((executor.get_executor(), f"dask ({executor.scheduler.address})",
                                       2 * threads))
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    return open_executor(executor, workers, scheduler)


def _pool_size(ex: cf.Executor) -> int:
    return int(getattr(ex, "_max_workers", 1) or 1)


def _runs_frame(rows: list[tuple[int, int, dict[str, float], str | None]], swept_at: dict[int, dict[str, Any]],
                names: list[str], base_seed: int) -> pd.DataFrame:
    """The tidy runs table: swept parameters, point, replication, seed, metrics, error; sorted."""
    if not rows:
        return pd.DataFrame(columns=[*names, *ID_COLUMNS, "error"])
    rows.sort(key=lambda r: (r[0], r[1]))
    point = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    rep = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    parts = []
    if names:
        parts.append(pd.DataFrame.from_records([swept_at[int(pt)] for pt in point], columns=names))
    parts.append(pd.DataFrame({"point": point, "replication": rep, "seed": rep + base_seed}))
    metrics = pd.DataFrame.from_records([r[2] for r in rows])
    if not metrics.empty:
        parts.append(metrics.astype("float64"))
    parts.append(pd.DataFrame({"error": pd.Series([r[3] for r in rows], dtype=object)}))
    return pd.concat(parts, axis=1)


def sweep(path_or_scenario: Any, **kwargs: Any) -> pd.DataFrame:
    """Run a scenario's sweep and return the tidy runs DataFrame (one row per point x replication).

    Keywords as `run_sweep`: executor ('processes' | 'serial' | 'dask' | an Executor | a dask Client),
    workers, scheduler, out, resume, write, progress, seed, overrides. Results are written to disk
    when `out` is given (or `write=True`); `run_sweep` also returns the summary and manifest.
    """
    res = run_sweep(path_or_scenario, **kwargs)
    res.runs.attrs["out_dir"] = str(res.out_dir) if res.out_dir is not None else None
    res.runs.attrs["runs_failed"] = res.failed
    return res.runs


# --- CLI ------------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file with a sweep: block (or none: one point)")
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="where runs execute (default: processes; dask when --scheduler is given)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", help="sweep directory (default results/<name>/<UTC time>-<hash>/); "
                                 "re-running into it skips finished runs")
    p.add_argument("--resume", action="store_true",
                   help="continue the latest sweep of this same scenario under results/ (or --out), skipping finished runs")
    p.add_argument("--seed", type=int, help="base seed (replication r uses seed + r at every point)")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a scenario key")
    p.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 unless every run is clean (no deadlock, stall, violation, error or watchdog)")
    p.add_argument("--dry-run", action="store_true",
                   help="print points x replications and a wall-time estimate from one short probe run; run nothing else")
    p.add_argument("--results-root", default="results", help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:

    if args.workers is not None and args.workers < 1:
        raise ScenarioError([ErrorItem("<command line>", 0, "--workers", "must be >= 1")])
    executor = args.executor or ("dask" if args.scheduler else "processes")
    if args.scheduler and executor != "dask":
        raise ScenarioError([ErrorItem("<command line>", 0, "--scheduler", "needs --executor dask")])
    if args.dry_run:
        scenario = load_scenario(args.scenario, parse_set_arguments(args.set) or None)
        print(dry_run(scenario, executor, args.workers))
        return 0
    try:
        res = run_sweep(args.scenario, executor=executor, workers=args.workers, scheduler=args.scheduler,
                        out=args.out, resume=args.resume, write=True, seed=args.seed,
                        progress=not args.no_progress and sys.stderr.isatty(),
                        overrides=parse_set_arguments(args.set) or None, results_root=args.results_root,
                        hard_interrupt=True)
    except SweepInterrupted as e:
        m = e.result.manifest
        print(f"interrupted: {m['runs']} runs finished and saved in {e.result.out_dir}; "
              f"continue with --resume{'' if e.result.out_dir is None else f' --out {e.result.out_dir}'}",
              file=sys.stderr)
        return 130
    except ExecutorUnavailable as e:
        print(f"sim sweep: error: {e}", file=sys.stderr)
        return 2
    except SweepAborted as e:
        print(f"sweep aborted: {e}; {e.result.manifest['runs']} finished runs saved in {e.result.out_dir}",
              file=sys.stderr)
        return 1
    print_report(res)
    h = health(res.runs)
    for line in h.lines(strict=args.strict):
        print(line, file=sys.stderr)
    return h.exit_code(strict=args.strict)


PROBE_FRACTION = 0.1  # of the run's duration simulated by `--dry-run`'s probe


def dry_run(scenario: Scenario, executor: str = "processes", workers: int | None = None) -> str:
    """Points x replications, and a wall-time estimate from one probe run of the first point at
    PROBE_FRACTION of its duration (scaled up; worker start-up not counted)."""
    from sim.runner.executors import available_cores

    resolved = scenario.resolved
    spec = resolved.get("sweep")
    points = spec["n_points"] if spec else 1
    plan = ReplicationPlan.of(resolved["replications"])
    reps = plan.initial if plan.adaptive is None else f"{plan.initial}..{plan.adaptive['max']}"
    runs = points * plan.initial
    first = next(expand(spec), {}) if spec else {}
    cfg = run_config(resolve_point(scenario.located, first, 0) if spec else resolved)
    cfg["duration"] *= PROBE_FRACTION
    cfg["warmup"] = (cfg.get("warmup") or 0.0) * PROBE_FRACTION
    checks = dict(cfg.get("checks") or {})
    for key in ("heal_phase", "stall_window", "interval"):
        if checks.get(key):
            checks[key] *= PROBE_FRACTION
    cfg["checks"] = checks
    t0 = time.monotonic()
    probe = run_replication(cfg, int(resolved["seed"]), 0)
    per_run = (time.monotonic() - t0) / PROBE_FRACTION
    n = 1 if executor == "serial" else min(runs, workers or available_cores())
    total = per_run * math.ceil(runs / n)
    more = " (adaptive: more if the CI target needs them)" if plan.adaptive is not None else ""
    failed = f"; the probe run failed: {probe.error.splitlines()[0]}" if probe.error else ""
    return (f"{scenario.name}: {points} point(s) x {reps} replication(s) = {runs} runs{more}\n"
            f"probe: one run of point 0 at {PROBE_FRACTION:.0%} of its duration -> about {per_run:.2g} s per run; "
            f"estimated wall time {_duration(total)} on {n} worker(s) ({executor}){failed}")


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def print_report(res: SweepResult, max_points: int = 40) -> None:
    m = res.manifest
    print(f"{m['runs']} runs over {m['sweep']['n_points']} points ({m['runs_executed']} executed, "
          f"{m['runs_reused']} reused, {m['runs_failed']} failed) on {m['executor']} "
          f"in {m['wall_time_s']:.1f} s")
    if "adaptive" in m:
        a = m["adaptive"]
        print(f"CI target met at {a['points_target_met']} points, missed at {a['points_target_missed']}")
    for e in m["errors"][:5]:
        print(f"run failed: point {e['point']} replication {e['replication']} seed {e['seed']}: "
              f"{e['error'].splitlines()[0]}", file=sys.stderr)
    s = res.summary
    if not s.empty:
        names = list(m["sweep"]["parameters"])
        metrics = list(dict.fromkeys(s["metric"]))
        prefer = [x for x in ("deadlocked", "throughput_ops_s") if x in metrics]
        if isinstance(m["replications"], dict) and m["replications"]["metric"] in metrics:
            prefer.insert(0, m["replications"]["metric"])
        show = list(dict.fromkeys(prefer + [x for x in metrics if x not in prefer]))[:4]
        sub = s[s["metric"].isin(show) & (s["point"] < max_points)]
        cell = sub.assign(v=[_fmt(mu, hw) for mu, hw in zip(sub["mean"], sub["ci95_half_width"], strict=True)])
        table = cell.pivot(index=["point", *names], columns="metric", values="v")[show]
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(table.to_string())
        if m["sweep"]["n_points"] > max_points:
            print(f"... ({m['sweep']['n_points'] - max_points} more points in summary.parquet)")
    print(f"results: {res.out_dir}")


def _fmt(mean: float, hw: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "nan"
    return f"{mean:.4g}" + (f" ±{hw:.2g}" if isinstance(hw, float) and math.isfinite(hw) else "")
