"""`sim results`: an index of the result directories under a results root (runs, sweeps, campaigns).

A directory is a result when it holds `manifest.json` (a run or a sweep) or `campaign.json` (a
campaign); a sweep directory with a journal but no manifest is listed as `incomplete`. Each row
says scenario, system, kind, git commit, dirty flag, when it was written, n (replications, runs)
and a status. `sim.analysis.load_index` gives the same rows as a DataFrame and loads a selection.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("path", "kind", "scenario", "system", "commit", "dirty", "when", "n", "status")


def _when(meta: dict[str, Any], f: Path) -> str:
    if meta.get("created_utc"):
        return str(meta["created_utc"])
    t = _dt.datetime.fromtimestamp(f.stat().st_mtime, _dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(d: Path) -> dict[str, Any] | None:
    man, camp, journal = d / "manifest.json", d / "campaign.json", d / "journal.jsonl"
    if camp.is_file():
        f, kind = camp, "campaign"
    elif man.is_file():
        f, kind = man, None
    elif journal.is_file():
        n = journal.read_bytes().count(b"\n")
        return {"path": str(d), "kind": "sweep", "scenario": d.parent.name, "system": None, "commit": None,
                "dirty": None, "when": _when({}, journal), "n": n, "status": "incomplete"}
    else:
        return None
    try:
        meta = json.loads(f.read_text())
    except (OSError, ValueError):
        return {"path": str(d), "kind": kind or "?", "scenario": d.parent.name, "system": None, "commit": None,
                "dirty": None, "when": _when({}, f), "n": None, "status": "unreadable"}
    scen = meta.get("scenario")
    if kind == "campaign":
        n = int(meta.get("runs") or 0)
        fails = int(meta.get("failures") or 0)
        status = f"{fails} failed" if fails else "ok"
        name = scen if isinstance(scen, str) else (scen or {}).get("name")
        system = meta.get("system")
    else:
        kind = meta.get("kind") or ("sweep" if (d / "runs.parquet").is_file() else "run")
        scen = scen or {}
        name, system = scen.get("name"), scen.get("system")
        if kind == "sweep":
            n = int(meta.get("runs") or 0)
            failed = int(meta.get("runs_failed") or 0)
            status = "interrupted" if not meta.get("complete", True) else (f"{failed} failed" if failed else "ok")
        else:
            n = len(meta.get("replication_seeds") or [])
            failed = len(meta.get("errors") or [])
            status = f"{failed} failed" if failed else "ok"
        if status == "ok" and meta.get("violations"):
            status = "violations"
    return {"path": str(d), "kind": kind, "scenario": name, "system": system, "commit": meta.get("git_commit"),
            "dirty": meta.get("git_dirty"), "when": _when(meta, f), "n": n, "status": status}


def scan(root: str | Path = "results", *, system: str | None = None,
         since: str | _dt.date | _dt.datetime | None = None) -> list[dict[str, Any]]:
    """Rows (dicts with COLUMNS) of every result directory under `root`, oldest first."""
    base = Path(root)
    if not base.is_dir():
        return []
    dirs = {p.parent for pat in ("manifest.json", "campaign.json", "journal.jsonl") for p in base.rglob(pat)}
    rows = [r for d in sorted(dirs) if (r := _row(d)) is not None]
    if system is not None:
        rows = [r for r in rows if r["system"] == system]
    if since is not None:
        cut = parse_since(since)
        rows = [r for r in rows if r["when"] >= cut]
    return sorted(rows, key=lambda r: (r["when"], r["path"]))


def parse_since(since: str | _dt.date | _dt.datetime) -> str:
    """A date or date-time (ISO 8601, UTC) as the comparable `when` string; ValueError if not one."""
    if isinstance(since, _dt.datetime):
        t = since if since.tzinfo else since.replace(tzinfo=_dt.UTC)
    elif isinstance(since, _dt.date):
        t = _dt.datetime(since.year, since.month, since.day, tzinfo=_dt.UTC)
    else:
        text = str(since).strip().replace("Z", "+00:00")
        try:
            t = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"--since {since!r}: expected a date such as 2026-12-01 "
                             "or 2026-12-01T14:00") from None
        t = t if t.tzinfo else t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no results"
    head = f"{'when':<20} {'kind':<8} {'scenario':<24} {'system':<16} {'commit':<9} {'dirty':<5} {'n':>5}  {'status':<12} path"
    lines = [head]
    for r in rows:
        commit = (r["commit"] or "-")[:8]
        dirty = "-" if r["dirty"] is None else ("yes" if r["dirty"] else "no")
        n = "-" if r["n"] is None else str(r["n"])
        lines.append(f"{r['when']:<20} {r['kind']:<8} {str(r['scenario'] or '-'):<24} {str(r['system'] or '-'):<16} "
                     f"{commit:<9} {dirty:<5} {n:>5}  {r['status']:<12} {r['path']}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default="results", help="results root to scan (default results/)")
    p.add_argument("--system", help="only results of this system")
    p.add_argument("--since", metavar="DATE", help="only results written at or after DATE (ISO, UTC)")


def main(args: argparse.Namespace) -> int:
    try:
        rows = scan(args.root, system=args.system, since=args.since)
    except ValueError as e:
        print(f"sim results: error: {e}", file=sys.stderr)
        return 2
    print(format_rows(rows))
    return 0
