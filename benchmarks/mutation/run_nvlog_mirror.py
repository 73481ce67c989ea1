"""Sampled mutation score of `sim/systems/nvlog_mirror/` (the method and figures: benchmarks/mutation_nvlog_mirror.md).

    python benchmarks/mutation/run_nvlog_mirror.py [--sample 40] [--seed 1] [--timeout 300] [--jobs 1]

Mutates copies of the tree (benchmarks/mutation/mutate.py), never the tree itself. Killers, in
order: the model's tests (-x), then a 10-run swarm campaign of the correct mechanism (a mutant
that breaks an invariant or liveness under faults fails it). Not a test; takes minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutate  # noqa: E402

#: the modules whose code decides correctness (params/metrics/__init__ declare and report only)
MODULES = [f"sim/systems/nvlog_mirror/{m}.py" for m in (
    "variants", "write_transaction", "completion_handler", "partner", "primary", "recovery", "oracle",
    "client", "wait_for", "model")]
KILLERS = [
    "python -m pytest -x -q -n 0 -p no:cacheprovider tests/systems/test_nvlog_mirror_faultpoints.py "
    "tests/systems/test_nvlog_mirror.py tests/check/test_nvlog_campaign.py",
    "python -m sim campaign scenarios/nvlog_campaign.yaml --swarm --runs 10 --seed 500 --workers 1 --no-progress "
    "--out /tmp/mutation-nvlog-campaign",
]


def main() -> int:
    args = sys.argv[1:]
    defaults = {"--sample": "40", "--seed": "1", "--timeout": "300", "--jobs": "1"}
    for k, v in defaults.items():
        if k not in args:
            args += [k, v]
    argv = ["--root", str(ROOT)]
    for m in MODULES:
        argv += ["--module", m]
    for k in KILLERS:
        argv += ["--killer", k]
    return mutate.main(argv + args)


if __name__ == "__main__":
    raise SystemExit(main())
