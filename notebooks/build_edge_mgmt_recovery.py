"""Write notebooks/edge_mgmt_recovery.ipynb (outputs stripped) from the cells below.

    python notebooks/build_edge_mgmt_recovery.py

The notebook reproduces the headline comparison of `edge_mgmt_recovery` from the scenario file:
log aggregation vs crawl vs backup restore under the same node failure
(scenarios/edge_mgmt_recovery.yaml), wall-clock vs HLC ordering under clock error, and the growth
of the crawl/log ratio with the number of files. SIZE "small" (CI) shortens the runs; "full"
runs the scenario as it is (the figures in docs/models/edge_mgmt_recovery.md, with FIG_DIR set).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, setup_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Rebuilding a lost management information file from per-node operation logs (`edge_mgmt_recovery`)

An edge file storage cluster keeps, per set of user files, a management information file (state:
local, dirty, migrated, stub, deleted; version, size, location of the migrated copy, name) on one
node. When a node fails its management files are lost; the mechanism extracts from every node's
operation log the entries for the covered files since the checkpoint, orders them into one
history (hybrid logical clock), and applies it onto the checkpoint. Baselines: a crawl of every
covered file's metadata, and a restore of the last backup. See `docs/models/edge_mgmt_recovery.md`.

Every run compares every rebuilt file with the oracle entry by entry (`entries_wrong`,
`entries_stale`, `entries_missing`, `recoverable`)."""),
    ("params", parameters_source("edge_mgmt_*.png")),
    ("code", setup_source(import_sim=True, names=("repo_path",), helpers="small_base=SMALL_SET", extra="""\
# small (CI, ~15 s of CPU): 40,000 files in management files of 2,000, 4 min, 2 replications,
# checkpoints every 90 s, the failure between 150 and 220 s
SMALL_SET = {"duration": "4min", "replications": 2, "params.files": 40000, "params.files_per_mgmt": 2000,
             "params.checkpoint_interval": "90s", "faults[0].at": {"dist": "uniform", "low": "150s", "high": "220s"}}""")),
    ("md", """## Headline: the mechanism against its baselines, same failure

`scenarios/edge_mgmt_recovery.yaml`: node[1] fails at a random time (the same in replication r of
every variant) and loses its management files. `recovery_time_s` runs from the loss until every
lost file is installed again; `files_unavailable_s` sums, over the affected user files, the time
they could not be operated on."""),
    ("code", """head = sweep("edge_mgmt_recovery")
cols = ["recovery_time_s", "files_unavailable_s", "log_bytes_read", "metadata_reads", "entries_wrong",
        "entries_stale", "entries_missing", "recoverable", "invariant_violations"]
table = head.groupby("params.variant")[cols].mean().reindex(["log_aggregation", "crawl", "backup_restore"])
table"""),
    ("code", """t = table
# the qualitative outcome this model must show
assert t.loc["log_aggregation", "recovery_time_s"] < t.loc["crawl", "recovery_time_s"]
assert t.loc["log_aggregation", "entries_stale"] == 0 and t.loc["backup_restore", "entries_stale"] > 0
assert t.loc["log_aggregation", "recoverable"] == 1
print(f"crawl / log aggregation recovery time: {t.loc['crawl', 'recovery_time_s'] / t.loc['log_aggregation', 'recovery_time_s']:.1f}x")
fig = plots.metric_by_variant(head, ["recovery_time_s", "files_unavailable_s", "entries_stale", "recoverable"],
                              "params.variant")
save(fig, "edge_mgmt_headline")"""),
    ("md", """## Ordering across nodes: wall clock vs hybrid logical clock

The same scenario with a per-node clock offset of standard deviation 100 ms. Wall-clock ordering
puts an operation accepted by a node whose clock is behind before an earlier one on the same
file; the HLC (Kulkarni et al. 2014) carries causality through the lock grants and never does.
A wrong history is an invariant violation (`history_order`): counted here, not hidden."""),
    ("code", """skew = {"params.clock_offset_sd": "100ms"}
# log aggregation only, both orderings in one sweep (common random numbers); sim.sweep, not
# sweep(): the wall-clock runs violate `history_order` on purpose
one_grid = {"params.variant": "log_aggregation",
            "sweep": {"grid": {"params.ordering": ["hybrid_logical_clock", "wall_clock"]}}}
order_runs = sim.sweep(str(repo_path("scenarios", "edge_mgmt_recovery.yaml")), executor="serial",
                       progress=False, overrides=helpers.overrides(always=skew | one_grid))
order_runs = order_runs.assign(ordering=order_runs["params.ordering"])
ot = order_runs.groupby("ordering")[["entries_wrong", "history_out_of_order", "recoverable"]].mean()
assert ot.loc["hybrid_logical_clock", "entries_wrong"] == 0 and ot.loc["hybrid_logical_clock", "history_out_of_order"] == 0
assert ot.loc["wall_clock", "history_out_of_order"] > 0
display(ot)
save(plots.metric_by_variant(order_runs, ["entries_wrong", "history_out_of_order", "recoverable"], "ordering"),
     "edge_mgmt_ordering")"""),
    ("md", """## The crawl/log ratio grows with the files

Log aggregation reads the checkpoints and the log since them (the same operation rate at every
size); the crawl reads every covered file's metadata. More files per node: more covered files."""),
    ("code", """sizes = [20000, 80000, 320000] if SMALL else [50000, 200000, 800000]
# one sweep over files x {log_aggregation, crawl}; small: 1 replication per point (the trend only)
grid = {"params.files": sizes, "params.variant": ["log_aggregation", "crawl"]}
grow = sweep("edge_mgmt_recovery", always={"replications": 1 if SMALL else 2, "sweep": {"grid": grid}}, write=False)
grow = grow.assign(files=grow["params.files"])
g = grow.groupby(["files", "params.variant"])["recovery_time_s"].mean().unstack()
g["crawl / log_aggregation"] = g["crawl"] / g["log_aggregation"]
display(g)
assert g["crawl"].is_monotonic_increasing
fig = plots.metric_vs_param(grow, ["recovery_time_s", "files_unavailable_s"], "files", hue="params.variant")
save(fig, "edge_mgmt_growth")"""),
]


def main() -> None:
    write_notebook(CELLS, HERE / "edge_mgmt_recovery.ipynb")


if __name__ == "__main__":
    main()
