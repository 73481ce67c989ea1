"""Write notebooks/ransomware_recovery.ipynb (outputs stripped) from the cells below.

    python notebooks/build_ransomware_recovery.py

The notebook reproduces the headline comparison of `ransomware_recovery` from the scenario files:
split_backup vs periodic_backup vs snapshot_rollback under the same attack
(scenarios/ransomware_recovery.yaml), the attacker reaching the backup side
(scenarios/ransomware_recovery_reachable.yaml) and the critical fraction's cost
(scenarios/ransomware_sweep.yaml). SIZE "small" (CI) shrinks the data to 10,000 records and the
runs to 4 simulated hours; "full" runs the scenario files as they are (the figures in
docs/models/ransomware_recovery.md, with FIG_DIR set).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, setup_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Fast ransomware recovery with critical and context storage (`ransomware_recovery`)

US 11,520,666 B2: a classifier per file type finds the critical fields of every record; in real
time the critical fields go to an isolated critical store and the rest of each record, with tags
in place of the critical fields, to a context store. After ransomware encrypts the primary, the
applications are redirected to the context store (tags resolved against the critical store) while
the primary is restored record by record. Baselines: nightly forever-incremental backups with a
full copy-back, hourly immutable snapshots with rollback. See `docs/models/ransomware_recovery.md`.

Every run checks the oracle (the applications' own record of what they committed): restored and
served values, losses counted, no critical field in the context store (`invariant_violations`)."""),
    ("params", parameters_source("ransomware_*.png")),
    ("code", setup_source(helpers="small_base=SMALL_SIZE", extra="""\
# small: 10,000 records, 4 h; the attack in the 2nd or 3rd hour, backups hourly, snapshots every 15 min
SMALL_SIZE = {"duration": "4h", "replications": 3, "params.files": 50, "params.records_per_file": 200,
              "params.extent_size": "64KiB", "params.write_rate": "50/s", "params.write_batch": "10s",
              "params.restore_batch": 1024, "params.backup_interval": "1h", "params.snapshot_interval": "15min",
              "params.detection_delay": "10min", "params.reimage_time": "5min", "params.probe_readers": 4,
              "faults[0].at": {"dist": "uniform", "low": "1h", "high": "2h"}}""")),
    ("md", """## Headline: the mechanism against its baselines, same attack

`scenarios/ransomware_recovery.yaml`: the encryption starts at a uniform time within a day (the
same per replication at every variant) at Splunk's median speed and is detected after a lognormal
delay. `time_to_resume_s` counts from the detection until the applications are served again."""),
    ("code", """head = sweep("ransomware_recovery")
cols = ["time_to_resume_s", "time_to_full_restore_s", "records_lost", "records_wrong", "restore_point_age_s",
        "degraded_read_latency_p99_s", "degraded_throughput_ops_s", "storage_overhead_ratio",
        "critical_bytes_in_context", "invariant_violations"]
table = head.groupby("params.variant")[cols].mean()
table"""),
    ("code", """t = table.reindex(["split_backup", "periodic_backup", "snapshot_rollback"])
# the qualitative outcome this model must show
assert t.loc["split_backup", "time_to_resume_s"] < 0.5 * t.loc["periodic_backup", "time_to_full_restore_s"]
assert t.loc["split_backup", "records_lost"] == 0 < t.loc["snapshot_rollback", "records_lost"]
assert t.loc["snapshot_rollback", "records_lost"] <= t.loc["periodic_backup", "records_lost"]
assert (t["records_wrong"] == 0).all() and t.loc["split_backup", "critical_bytes_in_context"] == 0
fig = plots.metric_by_variant(head, ["time_to_resume_s", "time_to_full_restore_s", "records_lost"], "params.variant")
save(fig, "ransomware_headline")"""),
    ("md", """## The attacker reaching the backup side

`scenarios/ransomware_recovery_reachable.yaml`: the ransomware also encrypts the backup target
(`backup_target`), or the backup target and the context store (`backup_and_context`), from the
start of the attack. The critical store is isolated; snapshots are immutable."""),
    ("code", """reach = sweep("ransomware_recovery_reachable")
rt = reach.groupby(["params.attacker_reaches", "params.variant"])[["records_lost", "records_wrong",
                                                                   "time_to_resume_s"]].mean()
assert (reach["records_wrong"] == 0).all()
lost = rt["records_lost"].unstack()
assert (lost["periodic_backup"] >= t.loc["periodic_backup", "records_lost"]).all()
assert lost.loc["backup_target", "split_backup"] == 0
fig = plots.metric_by_variant(reach[reach["params.attacker_reaches"] == "backup_target"], ["records_lost"],
                              "params.variant", title="attacker reaches the backup target")
display(rt)
save(fig, "ransomware_reachable")"""),
    ("md", """## What the critical fraction costs the split backup

`scenarios/ransomware_sweep.yaml` restricted to the mechanism and one detection delay: the
degraded read path (one critical-store lookup per tag) and the storage overhead (a tag in the
context store and an index entry in the critical store per critical field)."""),
    ("code", """cf = {"sweep": {"grid": {"params.critical_fraction": [0.0625, 0.125, 0.25, 0.5]}},
      "params.variant": "split_backup", "params.detection_delay": "2572s"}
crit = sweep("ransomware_sweep", always=cf if SMALL else {**cf, "params.files": 100})
ct = crit.groupby("params.critical_fraction")[["storage_overhead_ratio", "degraded_read_latency_p99_s",
                                               "degraded_throughput_ops_s", "records_lost"]].mean()
assert ct["storage_overhead_ratio"].is_monotonic_increasing
assert (ct["records_lost"] == 0).all()
fig = plots.metric_vs_param(crit, ["storage_overhead_ratio", "degraded_read_latency_p99_s",
                                   "degraded_throughput_ops_s"], "params.critical_fraction", logx=False)
display(ct)
save(fig, "ransomware_critical_fraction")"""),
]


def main() -> None:
    write_notebook(CELLS, HERE / "ransomware_recovery.ipynb")


if __name__ == "__main__":
    main()
