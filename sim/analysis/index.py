"""The results index as DataFrames: `load_index` lists result directories (as `sim results`), and
`load_selection` loads a selection of them into one tidy DataFrame.

    from sim.analysis import load_index, load_selection
    idx = load_index("results", system="nvlog_mirror", since="2026-12-01")
    runs = load_selection(idx[idx.status == "ok"])     # one row per replication, `result` column
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.results import ResultError, load
from sim.runner.index import COLUMNS, scan


def load_index(root: str | Path = "results", *, system: str | None = None,
               since: str | _dt.date | _dt.datetime | None = None) -> pd.DataFrame:
    """One row per result directory under `root`: path, kind, scenario, system, commit, dirty, when
    (UTC, pandas Timestamp), n, status."""
    df = pd.DataFrame(scan(root, system=system, since=since), columns=list(COLUMNS))
    df["when"] = pd.to_datetime(df["when"], utc=True)
    return df


def campaign_frame(path: str | Path) -> pd.DataFrame:
    """One row per run of a campaign directory (campaign.json): run, seed, failed, deadlocked, ..."""
    d = Path(path)
    meta = json.loads((d / "campaign.json").read_text())
    rows = [{"result": str(d), "scenario": meta.get("scenario"), "system": meta.get("system"),
             "run": r["run"], "seed": r["seed"], "failed": bool(r["failed"]), "deadlocked": bool(r["deadlocked"]),
             "watchdog_timeout": bool(r["watchdog_timeout"]), "faults": len(r.get("faults") or []),
             "finding": r.get("finding") or "", "wall_time_s": r.get("wall_time_s")}
            for r in meta.get("results", [])]
    return pd.DataFrame(rows)


def load_selection(selection: Any) -> pd.DataFrame:
    """The runs of the selected result directories as one tidy DataFrame (rows of `load_index`, or
    paths). Runs and sweeps give one row per replication with their parameters (`sim.analysis.load`);
    campaigns one row per campaign run (`campaign_frame`); incomplete directories are left out."""
    if isinstance(selection, pd.DataFrame):
        rows = selection.to_dict("records")
    else:
        items = [selection] if isinstance(selection, str | Path) else list(selection)
        rows = [{"path": str(p), "kind": "campaign" if (Path(p) / "campaign.json").is_file() else "run",
                 "status": ""} for p in items]
    frames = []
    plain = [r["path"] for r in rows if r["kind"] != "campaign" and r.get("status") not in ("incomplete", "unreadable")]
    if plain:
        frames.append(load(plain).runs)
    frames += [campaign_frame(r["path"]) for r in rows if r["kind"] == "campaign"]
    if not frames:
        raise ResultError("no complete result directory in the selection")
    return pd.concat(frames, ignore_index=True, sort=False)
