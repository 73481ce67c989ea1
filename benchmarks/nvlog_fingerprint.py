"""A fingerprint of fixed-seed nvlog_mirror runs, as JSON: a change meant not to change results
(speed work) must give an identical file before and after it.

    python benchmarks/nvlog_fingerprint.py OUT.json [--quick]

Covers the reservation and the baseline (deadlocks), takeover and forced takeover, the campaign
scenario with each deliberately broken variant, selective signalling, a slow partner (receive
credits), exponential write sizes, and swarm-campaign runs (random crashes, link and apply faults,
fault points). Each case records every metric (as `repr`, so floats compare bit for bit), the
violations and the notable events.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from _harness import ROOT

import sim.runner.campaign as campaign
from sim.runner.replication import run_replication
from sim.scenario import load_scenario

S = ROOT / "scenarios"
CASES: list[tuple[str, dict, int]] = [
    ("nvlog_reservation.yaml", {"duration": 0.02}, 3),
    ("nvlog_no_reservation.yaml", {"duration": 0.05}, 3),
    ("nvlog_takeover.yaml", {}, 8),
    ("nvlog_force_takeover.yaml", {}, 3),
    ("nvlog_campaign.yaml", {}, 2),
    ("nvlog_campaign.yaml", {"params.ack_on_transport_ack": True}, 1),
    ("nvlog_campaign.yaml", {"params.in_sync_on_reconnect": True}, 1),
    ("nvlog_campaign.yaml", {"params.post_without_reservation": True}, 1),
    ("nvlog_campaign.yaml", {"params.ack_before_mirror": True}, 1),
    ("nvlog_campaign.yaml", {"params.leak_slot_every": 200}, 1),
    ("nvlog_reservation.yaml", {"duration": 0.02, "params.signal_interval": 4}, 2),
    ("nvlog_reservation.yaml", {"duration": 0.02, "params.partner_apply_cost": "3us"}, 2),
    ("nvlog_no_reservation.yaml", {"duration": 0.02, "params.partner_apply_cost": "3us"}, 2),
    ("nvlog_reservation.yaml", {"duration": 0.02, "workload.size": {"dist": "exponential", "mean": "4KiB"}}, 2),
]


def _row(res) -> dict:
    return {"metrics": {k: repr(v) for k, v in sorted(res.metrics.items())},
            "violations": repr(res.violations), "events": repr(res.events), "error": res.error}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--quick", action="store_true", help="fewer swarm runs")
    args = ap.parse_args()
    out: dict[str, object] = {}
    for name, overrides, reps in CASES:
        sc = load_scenario(S / name, overrides)
        for r in range(reps):
            seed = sc.resolved["seed"] + r
            out[f"{name} {json.dumps(overrides, sort_keys=True)} rep {r}"] = _row(run_replication(sc.resolved, seed, r))
    recorded: list = []
    real = campaign.run_replication

    def recording(resolved, seed, rep, **kw):
        res = real(resolved, seed, rep, **kw)
        recorded.append(_row(res))
        return res

    campaign.run_replication = recording
    try:
        for reservation, runs in ((True, 40), (False, 15)):
            sc = load_scenario(S / "nvlog_campaign.yaml", {"params.reservation": reservation})
            campaign.run_campaign(sc, runs // 4 if args.quick else runs, swarm=True)
    finally:
        campaign.run_replication = real
    out["swarm"] = recorded
    text = json.dumps(out, indent=0, sort_keys=True)
    Path(args.out).write_text(text)
    print(f"{len(out) - 1} cases + {len(recorded)} swarm runs: sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
