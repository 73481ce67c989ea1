"""What the conformance suite knows about each registered system: its scenarios, its doc, a small run.

Everything here is derived from the registry and the files on disk, so a new model is checked as
soon as it registers (built in, or a plugin named in `PLUGIN_SYSTEMS`). The only per-system knob is
`SMALL_DURATION`: the simulated time a "small" run lasts (default `DEFAULT_SMALL`), chosen so a run
takes a fraction of a second of CPU.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from sim.core import registry
from sim.faults.targets import expand_target
from sim.runner.replication import ReplicationResult, run_replication
from sim.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[2]

#: plugin systems outside the package that must pass the suite: name -> (plugin module, folder)
PLUGIN_SYSTEMS = {"primary_backup": ("examples.primary_backup.model", ROOT / "examples" / "primary_backup")}

#: simulated seconds of a small run, per system (its own time scale); DEFAULT_SMALL otherwise
SMALL_DURATION = {
    "nvlog_mirror": 0.01,
    "kv_recovery": 4.0,
    "pmem_image": 2.0,
    "cdp_streams": 1800.0,
    "rdma_sendqueue": 200.0,
    "object_store": 0.4,
    "stream_service": 0.5,
    "primary_backup": 0.5,
    "cluster_migration": 3600.0,
    "ransomware_recovery": 3600.0,
    "db_pitr": 1.0,
    "edge_mgmt_recovery": 120.0,
}
DEFAULT_SMALL = 1.0


@dataclass
class SystemInfo:
    name: str
    cls: type
    scenarios: list[Path]
    doc: Path
    doc_section: str | None = None  # a `### `name`` section of a shared doc (micro systems)
    plugins: list[str] = field(default_factory=list)

    @property
    def small(self) -> float:
        return SMALL_DURATION.get(self.name, DEFAULT_SMALL)

    @property
    def main_scenario(self) -> Path | None:
        """The scenario a campaign and the fault checks start from: `<name>_campaign.yaml`, else
        `<name>.yaml`, else the first of its scenarios (sorted)."""
        if not self.scenarios:
            return None
        by_stem = {p.stem: p for p in self.scenarios}
        for stem in (f"{self.name}_campaign", self.name, "scenario"):
            if stem in by_stem:
                return by_stem[stem]
        return sorted(self.scenarios)[0]

    def doc_text(self) -> str:
        text = self.doc.read_text()
        if self.doc_section is None:
            return text
        m = re.search(rf"^### `{re.escape(self.doc_section)}`.*?(?=^#{{2,3}} |\Z)", text, re.S | re.M)
        return m.group(0) if m else ""


def _system_of(path: Path) -> str | None:
    m = re.search(r"^system:\s*([\w.-]+)", path.read_text(), re.M)
    if m:
        return m.group(1)
    m = re.search(r"^extends:\s*(\S+)", path.read_text(), re.M)
    return _system_of(path.parent / m.group(1)) if m else None


@lru_cache(maxsize=1)
def systems() -> dict[str, SystemInfo]:
    """Every registered system (built-in, entry-point plugins, and `PLUGIN_SYSTEMS`), by name."""
    registry.load_builtins()
    registry.load_plugins([mod for mod, _dir in PLUGIN_SYSTEMS.values()])
    by_system: dict[str, list[Path]] = {}
    for p in sorted((ROOT / "scenarios").glob("*.yaml")):
        by_system.setdefault(_system_of(p) or "", []).append(p)
    out = {}
    for entry in registry.entries("systems"):
        cls = entry.obj
        module = cls.__module__
        if module.startswith("tests."):
            continue  # test plugins registered by other test modules in this process
        if entry.name in PLUGIN_SYSTEMS:
            mod, folder = PLUGIN_SYSTEMS[entry.name]
            info = SystemInfo(entry.name, cls, sorted(folder.glob("*.yaml")), folder / "README.md", plugins=[mod])
        elif module.startswith("sim.systems.micro"):
            info = SystemInfo(entry.name, cls, by_system.get(entry.name, []), ROOT / "docs" / "components.md",
                              doc_section=entry.name)
        else:
            info = SystemInfo(entry.name, cls, by_system.get(entry.name, []),
                              ROOT / "docs" / "models" / f"{entry.name}.md")
        out[entry.name] = info
    return out


def names() -> list[str]:
    return sorted(systems())


def scenario_cases() -> list[tuple[str, Path]]:
    return [(n, p) for n in names() for p in systems()[n].scenarios]


# --- small runs -------------------------------------------------------------------------------------
def shorten(resolved: dict[str, Any], small: float) -> dict[str, Any]:
    """The resolved scenario cut to `small` simulated seconds (or its own, if shorter): one replication,
    no sweep, warm-up under a quarter of the run, a heal phase scaled down, and only the faults that
    still fall inside the run."""
    data = copy.deepcopy(resolved)
    data.pop("sweep", None)
    data["replications"] = 1
    old = data["duration"]
    d = min(old, small)
    data["duration"] = d
    data["warmup"] = min(data.get("warmup") or 0.0, 0.25 * d)
    checks = dict(data.get("checks") or {})
    if checks.get("heal_phase"):
        checks["heal_phase"] = min(checks["heal_phase"], 0.25 * d)
    if checks.get("interval") and checks["interval"] > d / 10:
        checks["interval"] = None
    data["checks"] = checks
    window = d - (checks.get("heal_phase") or 0.0)
    kept = []
    for f in data.get("faults") or []:
        at = f.get("at")
        if f.get("mtbf") is not None:
            if (f.get("after") or 0.0) < window and (f.get("until") is None or f["until"] <= window):
                kept.append(f)
        elif isinstance(at, int | float) and at < window:
            kept.append(f)
    data["faults"] = kept
    return data


@cache
def small_scenario(path: Path, small: float):
    """(the file's Scenario, the shortened one validated again)."""
    full = load_scenario(path)
    return full, scenario_from_dict(shorten(full.resolved, small), name=f"<small {path.name}>")


@cache
def small_run(path: Path, small: float, attempt: int = 0) -> ReplicationResult:
    """One small replication of a scenario file (cached; `attempt` runs it again)."""
    _full, sc = small_scenario(path, small)
    return run_replication(sc.resolved, sc.resolved["seed"])


def same_metrics(a: dict[str, float], b: dict[str, float]) -> bool:
    if a.keys() != b.keys():
        return False
    return all((isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or x == y
               for x, y in ((a[k], b[k]) for k in a))


# --- faults through a scenario file -------------------------------------------------------------------
#: a duration-like key that ends each lasting kind
HEAL_KEY = {"crash": "restart_after", "power_loss": "restore_after", "link_down": "duration",
            "slow_link": "duration", "outage": "duration", "throttle": "duration", "clock_skew": "duration"}
#: the kind-specific keys a generic entry gives (the schema requires them)
GENERIC_KEYS = {"slow_link": {"latency_factor": 4},  # only a factor: the other keys stay unset (the bug)
                "throttle": {"factor": 0.3}, "clock_skew": {"offset": "5ms", "drift": 1e-4},
                "ransomware": {"rate": "10MB/s"}}


def _concrete(value: Any) -> Any:
    if isinstance(value, dict) and "dist" in value:
        for k in ("value", "mean", "median", "mode"):
            if k in value:
                return value[k]
        return (value["low"] + value["high"]) / 2
    return value


def fault_entry(system: Any, target: str, kind: str, small: float) -> dict[str, Any]:
    """A scenario `faults:` entry striking `target` with `kind` at 30% of the run, healed at 50%:
    the system's own campaign template for (target, kind) when it has one, else generic keys."""
    entry: dict[str, Any] = {"kind": kind, "target": target}
    own = system.campaign_faults() or []
    for t in own:
        if t.get("kind") == kind and _matches(t.get("target", ""), target):
            entry |= {k: _concrete(v) for k, v in t.items() if k not in ("kind", "target", "at")}
            break
    else:
        entry |= GENERIC_KEYS.get(kind, {})
    entry["at"] = 0.3 * small
    if kind in HEAL_KEY:
        entry[HEAL_KEY[kind]] = 0.2 * small
    return entry


def _matches(pattern: str, name: str) -> bool:
    return bool(expand_target(pattern, [name]))


def fault_scenario_text(info: SystemInfo, entry: dict[str, Any]) -> str:
    """A scenario file (YAML text): the main scenario cut small, with `entry` as its only fault."""
    full = load_scenario(info.main_scenario)
    data = shorten(full.resolved, info.small)
    data["faults"] = []
    data["checks"] = {k: v for k, v in data["checks"].items() if k != "heal_phase"}
    head = {k: v for k, v in data.items() if k != "faults"}
    return yaml.safe_dump(head, sort_keys=False) + "faults:\n  - " + yaml.safe_dump(
        entry, default_flow_style=True, sort_keys=False).strip() + "\n"
