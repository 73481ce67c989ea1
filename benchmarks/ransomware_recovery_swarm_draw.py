"""How often a swarm run of `ransomware_recovery_campaign.yaml` draws a fault able to reach a
broken step's window: the swarm's draw alone (`draw_swarm`, `draw_schedule`), no simulation.

The templates are the campaign's own (the system's `campaign_faults()` plus the framework's
point templates for the variant's declared fault points). Prints, per group of templates, the
share of runs drawing at least one of them. Quoted in docs/models/ransomware_recovery.md
("Swarm campaigns").

    PYTHONPATH=$PWD python benchmarks/ransomware_recovery_swarm_draw.py [--seeds 4000]
"""

from __future__ import annotations

import argparse

from sim.runner.campaign import (
    DEFAULT_MAX_FAULTS,
    campaign_templates,
    draw_schedule,
    draw_swarm,
    point_templates,
    prepare_base,
)
from sim.scenario import load_scenario
from sim.scenario.faults import probe_targets

P = "ransomware_recovery."
GROUPS = {
    "after_first_store (torn pair)": lambda f: f.get("point", "").endswith("after_first_store"),
    "ack_before_split_write's points": lambda f: (
        f.get("point", "").removeprefix(P)
        in (
            "write.primary_durable",
            "split_write.classified",
            "split_write.after_first_store",
            "split_write_attacked.classified",
            "split_write_attacked.after_first_store",
        )
    ),
    "restore.* (copy-back)": lambda f: f.get("point", "").startswith(P + "restore."),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4000)
    ap.add_argument("--max-faults", type=int, default=DEFAULT_MAX_FAULTS)
    args = ap.parse_args()
    scen = load_scenario("scenarios/ransomware_recovery_campaign.yaml", {"faults": []})
    base = prepare_base(scen)
    window = base["duration"] - base["checks"]["heal_phase"]
    cls = scen.system_cls
    probe = probe_targets(cls, cls.Params.model_validate(base["params"]), None, base["duration"])
    templates = campaign_templates(probe, window) + point_templates(probe, window)
    hits = dict.fromkeys(GROUPS, 0)
    for k in range(args.seeds):
        seed = 10_000 + k
        on, n = draw_swarm(templates, seed, args.max_faults)
        faults = draw_schedule([templates[i] for i in on], seed, window, n, {})
        for name, rel in GROUPS.items():
            hits[name] += any(rel(f) for f in faults)
    print(f"{len(templates)} templates, {args.seeds} seeds, --max-faults {args.max_faults}")
    for name, h in hits.items():
        print(f"  {name:34s} {h / args.seeds:.3f} of runs draw one")


if __name__ == "__main__":
    main()
