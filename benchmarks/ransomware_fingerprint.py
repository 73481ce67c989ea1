"""Metrics of six fixed-seed small ransomware_recovery runs, as JSON: a change meant not to change
results (memory, speed) must give an identical file before and after it.

    python benchmarks/ransomware_fingerprint.py OUT.json
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

from sim.runner.replication import run_replication
from sim.scenario import load_scenario
from tests.systems.test_ransomware_recovery_steps import BASE

CASES = [{"variant": v} for v in ("split_backup", "periodic_backup", "snapshot_rollback")] + [
    {"broken": "skip_tag_substitution"},
    {"attacker_reaches": "backup_and_context"},
    {"critical_fraction": 0.5, "probe_readers": 16},
]


def main(out: str) -> None:
    result = {}
    for case in CASES:
        data = {**BASE, "params": {**BASE["params"], **case}}
        path = Path(tempfile.mkdtemp()) / "x.yaml"
        path.write_text(yaml.safe_dump(data))
        scen = load_scenario(path)
        res = run_replication(scen.resolved, scen.resolved["seed"], 0)
        metrics = {k: (None if v != v else v) for k, v in res.metrics.items()}  # NaN -> null
        result[json.dumps(case)] = metrics | {"violations": len(res.violations)}
    Path(out).write_text(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
