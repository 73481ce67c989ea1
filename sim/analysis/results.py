"""Loading result directories (a `sim run` or a `sim sweep`) into tidy DataFrames.

A run directory holds `manifest.json`, `metrics.parquet` (one row per replication) and optionally
`timeseries.parquet`; a sweep directory holds `manifest.json`, `runs.parquet` (one row per point x
replication, swept parameters first) and `summary.parquet`. Both load into a `ResultSet` whose
`runs` frame has one row per replication with the scenario's parameters joined in as columns named
by key path (`params.send_queue_slots`, `workload.rate`, `faults[0].at`), so runs and sweeps, and
several directories at once, can be plotted and compared the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

# Columns that identify a replication rather than measure it.
ID_COLUMNS = ("result", "scenario", "system", "point", "replication", "seed")
# Columns a sweep may add about a run that are not metrics.
_NON_METRIC = {"error", "config_hash", "run_key", "key", "wall_time_s", "status", "hash"}


class ResultError(Exception):
    """A result directory that is missing, incomplete or unreadable (one-line message)."""


@dataclass
class ResultSet:
    """One or more result directories as tidy DataFrames.

    `runs`: one row per replication (and sweep point): id columns, parameter columns, metrics.
    `timeseries`: probes sampled over time (`time_s`, probes..., `replication`, `result`) or None.
    `events`: notable events (`time_s`, `event`, `replication`, `result`, ...) from the manifests.
    """

    runs: pd.DataFrame
    params: list[str]
    metrics: list[str]
    swept: list[str] = field(default_factory=list)
    timeseries: pd.DataFrame | None = None
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """'sweep' if any loaded directory is a sweep, else 'run'."""
        return "sweep" if "sweep" in self.kinds.values() else "run"

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest of the first loaded directory."""
        return next(iter(self.manifests.values()))

    @property
    def scenario(self) -> dict[str, Any]:
        """The resolved scenario of the first loaded directory."""
        return self.manifest.get("scenario") or {}

    @property
    def results(self) -> list[str]:
        return list(self.manifests)

    def varying(self) -> list[str]:
        """Parameter columns (and `scenario`) that take more than one value across the rows."""
        cols = [c for c in ("scenario", *self.params) if c in self.runs.columns]
        return [c for c in cols if self.runs[c].astype(str).nunique(dropna=False) > 1]

    def column(self, name: str) -> str:
        """Resolve a user-given column name: exact, or a unique key-path suffix (`send_queue_slots`)."""
        return resolve_column(self.runs.columns, name)

    def summary(self, by: list[str] | None = None, metrics: list[str] | None = None,
                confidence: float = 0.95) -> pd.DataFrame:
        """Mean, std, n and t-based CI per group (default: per varying parameter combination)."""
        from sim.analysis.stats import summarize

        by = self.varying() if by is None else by
        return summarize(self.runs, by, metrics or self.metrics, confidence=confidence)


def resolve_column(columns, name: str) -> str:
    """`name` if it is a column, else the one column ending in `.name` / `]name`; ResultError otherwise."""
    cols = [str(c) for c in columns]
    if name in cols:
        return name
    hits = [c for c in cols if c.endswith("." + name) or c.endswith("]" + name)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ResultError(f"column {name!r} is ambiguous: {', '.join(hits)}")
    shown = ", ".join(cols[:40]) + (f", ... ({len(cols) - 40} more)" if len(cols) > 40 else "")
    raise ResultError(f"no column {name!r}; available: {shown}")


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Scalar leaves of nested dicts/lists keyed by path: {'params': {'a': 1}} -> {'params.a': 1}."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        if all(not isinstance(v, dict | list) for v in obj):
            out[prefix] = json.dumps(obj) if obj else "[]"
        else:
            for i, v in enumerate(obj):
                out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = obj
    return out


def scenario_parameters(resolved: dict[str, Any]) -> dict[str, Any]:
    """The parameter columns of a resolved scenario: params.*, workload.*, faults[i].*, duration."""
    out: dict[str, Any] = {}
    for key in ("params", "workload", "faults"):
        val = resolved.get(key)
        if val:
            out.update(flatten(val, key))
    for key in ("duration", "warmup"):
        if key in resolved:
            out[key] = resolved[key]
    return out


def _read_manifest(d: Path) -> dict[str, Any]:
    mf = d / "manifest.json"
    if not mf.is_file() and (d / "campaign.json").is_file():
        raise ResultError(f"{d} is a fault campaign (campaign.json), which has no metric tables to plot or "
                          f"report: `sim results` lists it, sim.analysis.load_selection loads its runs, and "
                          f"`sim replay {d} --replication K` re-runs its run K")
    if not mf.is_file():
        raise ResultError(f"{d}: not a complete result directory (no manifest.json)")
    try:
        return json.loads(mf.read_text())
    except (OSError, ValueError) as e:
        raise ResultError(f"{mf}: cannot read manifest: {e}") from None


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a bad result dir
        raise ResultError(f"{p}: cannot read: {type(e).__name__}: {e}".splitlines()[0]) from None


def _swept_columns(manifest: dict[str, Any], runs: pd.DataFrame) -> list[str]:
    """Swept parameter columns: named in the manifest if it says so, else the columns before `point`."""
    sweep = manifest.get("sweep")
    names: list[str] = []
    if isinstance(sweep, dict):
        for key in ("parameters", "params", "swept", "columns"):
            v = sweep.get(key)
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                names = v
                break
            if isinstance(v, dict):
                names = list(v)
                break
    for key in ("swept", "parameters", "sweep_parameters"):
        v = manifest.get(key)
        if not names and isinstance(v, list) and all(isinstance(x, str) for x in v):
            names = v
    names = [n for n in names if n in runs.columns]
    if not names and "point" in runs.columns:
        names = list(runs.columns[: list(runs.columns).index("point")])
    return names


def _result_label(d: Path, manifest: dict[str, Any], taken: set[str]) -> str:
    base = (manifest.get("scenario") or {}).get("name") or d.name
    label, i = base, 2
    while label in taken:
        label = f"{base}#{i}"
        i += 1
    return label


def result_labels(dirs: list[Path]) -> list[str]:
    """A unique label per directory: the scenario name, or the directory name where several
    directories hold the same scenario (e.g. one scenario run with and without an override)."""
    names = []
    for d in dirs:
        m = _read_manifest(d) if (d / "manifest.json").is_file() else {}
        names.append((m.get("scenario") or {}).get("name") or d.name)
    dup = {n for n in names if names.count(n) > 1}
    dir_names = [d.name for d in dirs]
    labels: list[str] = []
    taken: set[str] = set()
    for d, n in zip(dirs, names, strict=True):
        base = d.name if n in dup and dir_names.count(d.name) == 1 and d.name not in names else n
        label, i = base, 2
        while label in taken:
            label = f"{base}#{i}"
            i += 1
        taken.add(label)
        labels.append(label)
    return labels


def _is_metric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _build(raw: pd.DataFrame, manifest: dict[str, Any], kind: str, label: str, path: Path,
           timeseries: pd.DataFrame | None = None) -> ResultSet:
    """Join the scenario's parameters onto the per-replication rows and classify the columns."""
    resolved = manifest.get("scenario") or {}
    base_params = scenario_parameters(resolved)
    swept = _swept_columns(manifest, raw) if kind == "sweep" else []
    # Swept columns may be full key paths or short names; drop the base value they override.
    for sw in swept:
        for k in list(base_params):
            if k == sw or k.endswith("." + sw) or k.endswith("]" + sw):
                base_params.pop(k)
    ids = {"result": label, "scenario": resolved.get("name", label), "system": resolved.get("system", "")}
    if "point" not in raw.columns:
        ids["point"] = 0
    const = pd.DataFrame({**ids, **base_params}, index=raw.index)
    const = const[[c for c in const.columns if c not in raw.columns]]
    runs = pd.concat([const, raw], axis=1)
    id_like = set(ID_COLUMNS) | set(swept) | set(base_params) | _NON_METRIC
    metrics = [c for c in raw.columns if c not in id_like and _is_metric(raw[c])]
    params = list(swept) + [k for k in base_params if k in runs.columns]
    order = [c for c in ID_COLUMNS if c in runs.columns] + params
    runs = runs[order + [c for c in runs.columns if c not in order]].reset_index(drop=True)
    ts = timeseries.assign(result=label) if timeseries is not None else None
    events = pd.DataFrame(manifest.get("events") or [])
    if not events.empty:
        events = events.assign(result=label)
    return ResultSet(runs=runs, params=params, metrics=metrics, swept=list(swept), timeseries=ts, events=events,
                     manifests={label: manifest}, paths={label: path}, kinds={label: kind})


def load_one(path: str | Path, label: str | None = None) -> ResultSet:
    """Load a single run or sweep directory."""
    d = Path(path)
    if not d.exists():
        raise ResultError(f"{d}: no such result directory")
    if not d.is_dir():
        raise ResultError(f"{d}: not a directory (expected a result directory)")
    manifest = _read_manifest(d)
    label = label or _result_label(d, manifest, set())
    if (d / "runs.parquet").is_file():
        kind, raw = "sweep", _read_parquet(d / "runs.parquet")
    elif (d / "metrics.parquet").is_file():
        kind, raw = "run", _read_parquet(d / "metrics.parquet")
    else:
        raise ResultError(f"{d}: no metrics.parquet or runs.parquet")
    if "replication" not in raw.columns:
        raise ResultError(f"{d}: results have no 'replication' column")
    ts = None
    if (d / "timeseries.parquet").is_file():
        ts = _read_parquet(d / "timeseries.parquet")
        if "time_s" not in ts.columns:
            raise ResultError(f"{d / 'timeseries.parquet'}: no 'time_s' column")
    return _build(raw, manifest, kind, label, d, ts)


def load(paths: str | Path | list[str | Path] | Any) -> ResultSet:
    """Load one or many result directories (or what `sim.run` / `sim.sweep` returned) into one ResultSet.

    Several directories are stacked; the `result` column (scenario name, made unique) tells them
    apart and parameters missing in one of them are NaN there.
    """
    if isinstance(paths, pd.DataFrame):  # what `sim.sweep(...)` returns
        out_dir = paths.attrs.get("out_dir")
        return load(out_dir) if out_dir else from_sweep_frame(paths)
    if hasattr(paths, "runs") and hasattr(paths, "manifest"):  # a SweepResult
        return load(paths.out_dir) if paths.out_dir else from_sweep_frame(paths.runs, paths.manifest)
    if hasattr(paths, "metrics") and hasattr(paths, "manifest") and not isinstance(paths, str | Path | list):
        return from_result(paths)
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ResultError("no result directory given")
    dirs = [Path(p) for p in paths]
    return combine([load_one(d, label) for d, label in zip(dirs, result_labels(dirs), strict=True)])


def combine(sets: list[ResultSet]) -> ResultSet:
    """Stack ResultSets (each keeps its `result` label)."""
    if len(sets) == 1:
        return sets[0]

    def uniq(lists):
        out: list[str] = []
        for lst in lists:
            out += [x for x in lst if x not in out]
        return out

    runs = pd.concat([s.runs for s in sets], ignore_index=True)
    ts_parts = [s.timeseries for s in sets if s.timeseries is not None]
    ev_parts = [s.events for s in sets if not s.events.empty]
    rs = ResultSet(
        runs=runs,
        params=uniq(s.params for s in sets),
        metrics=uniq(s.metrics for s in sets),
        swept=uniq(s.swept for s in sets),
        timeseries=pd.concat(ts_parts, ignore_index=True) if ts_parts else None,
        events=pd.concat(ev_parts, ignore_index=True) if ev_parts else pd.DataFrame(),
    )
    for s in sets:
        rs.manifests.update(s.manifests)
        rs.paths.update(s.paths)
        rs.kinds.update(s.kinds)
    return rs


def from_result(result: Any, label: str | None = None) -> ResultSet:
    """A ResultSet from an in-memory `sim.run(...)` Result (nothing read from disk)."""
    manifest = result.manifest
    label = label or (manifest.get("scenario") or {}).get("name", "run")
    out_dir = Path(result.out_dir) if getattr(result, "out_dir", None) else Path(".")
    return _build(result.metrics, manifest, "run", label, out_dir, result.timeseries)


def from_sweep_frame(runs: pd.DataFrame, manifest: dict[str, Any] | None = None,
                     label: str | None = None) -> ResultSet:
    """A ResultSet from the tidy DataFrame `sim.sweep(...)` returns (swept columns before `point`)."""
    manifest = manifest or {}
    label = label or (manifest.get("scenario") or {}).get("name", "sweep")
    return _build(runs, manifest, "sweep", label, Path("."))
