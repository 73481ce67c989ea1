"""Write notebooks/cluster_migration.ipynb (outputs stripped) from the cells below.

    python notebooks/build_cluster_migration.py

The notebook reproduces the headline comparison of `cluster_migration` from the scenario files:
dependency-aware sequencing against the two naive orders and capacity-only target selection
(scenarios/cluster_migration.yaml), and migration time against parallelism, cluster size and
dependency density (scenarios/cluster_migration_sweep.yaml, the bandwidth knee). SIZE "small" (CI)
shrinks the clusters and the replications; "full" runs the scenario files as they are (the figures
in docs/models/cluster_migration.md, with FIG_DIR set).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, setup_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Dependency-aware migration of a data cluster to a heterogeneous target (`cluster_migration`)

A data protection manager migrates a cluster's components (shared storage, databases, caches,
application services, web front ends) to a target cluster built differently. It checks every
candidate for compatibility (runtime versions, device classes) and capacity, places the components
with best-fit decreasing, builds the dependency map on the target and migrates in waves (topological
generations) within a parallelism limit, starting each component only once its dependencies run on
the target. Baselines: everything at once (`naive_parallel`), an arbitrary order (`naive_order`), a
practitioner's runbook by tier with a health-check barrier between tiers (`tier_runbook`), and
capacity-only target selection. See `docs/models/cluster_migration.md`.

Every run also checks the oracle: every chunk of every migrated component at the version the source
froze, no launch before a dependency runs (mechanism), placements within capacity and compatible
(`invariant_violations`)."""),
    ("params", parameters_source("cluster_migration_*.png")),
    ("code", setup_source()),
    ("md", """## Headline: the mechanism against its baselines

`scenarios/cluster_migration.yaml`: a generated 60-component estate (a new topology per replication,
the same at every point: common random numbers). `downtime_total_s` sums each component's downtime
(from its cut-over start until it and everything it depends on run); `failed_starts` counts launches
that did not come up; `dependency_violations` launches while a dependency did not run.
`outage_total_s` also charges a component still on the source while anything it depends on is out
(what users see): the mechanism's bottom-up order hides that outage from `downtime_total_s`."""),
    ("code", """head = sweep("cluster_migration", {"replications": 3, "params.topology.components": 30, "duration": "3h"})
head["config"] = head["params.variant"] + " / " + head["params.target_selection"]
if "params.cutover" in head:  # the wave-aligned cut-over point of the mechanism
    head["config"] += head["params.cutover"].fillna("per_component").map(
        lambda c: "" if c == "per_component" else f" / cutover {c}")
cols = ["migration_time_s", "downtime_total_s", "outage_total_s", "downtime_max_s", "outage_max_s", "failed_starts", "dependency_violations",
        "rollbacks", "target_fit_score", "candidates_rejected", "completed", "invariant_violations"]
table = head.groupby("config")[cols].mean()
table"""),
    ("code", """mech = table.loc["dependency_aware / compatibility"]
for base in ("naive_parallel / compatibility", "naive_order / compatibility"):
    assert mech["downtime_total_s"] < table.loc[base, "downtime_total_s"]
    assert mech["failed_starts"] < table.loc[base, "failed_starts"]
assert mech["dependency_violations"] == 0
assert mech["failed_starts"] <= table.loc["tier_runbook / compatibility", "failed_starts"]
assert mech["outage_total_s"] >= mech["downtime_total_s"]
assert table.loc["dependency_aware / capacity_only", "failed_starts"] > mech["failed_starts"]
fig = plots.metric_by_variant(head, ["downtime_total_s", "outage_total_s", "failed_starts", "migration_time_s"],
                              "config")
save(fig, "cluster_migration_headline")"""),
    ("md", """## Parallelism helps until the inter-cluster bandwidth binds

`scenarios/cluster_migration_sweep.yaml`: one copy stream runs at up to 250 MB/s and the link carries
1.25 GB/s, so about 5 streams fill it. The dotted line is the link's time for all the data."""),
    ("code", """small = {"replications": 2, "duration": "8h",
         "sweep": {"grid": {"params.topology.components": [30], "params.topology.density": [1.0],
                            "params.parallelism": [1, 2, 4, 8, 16]}}}
sw = sweep("cluster_migration_sweep", small)
knee = sw.groupby(["params.topology.components", "params.topology.density", "params.parallelism"])[
    ["migration_time_s", "downtime_total_s", "waves", "data_bytes"]].mean()
display(knee)
for (n, dens), grp in knee.groupby(level=[0, 1]):
    t = grp["migration_time_s"].to_numpy()
    assert t[0] > 1.5 * t[2], (n, dens)  # 1 -> 4 streams: much faster
    assert abs(t[-1] - t[-2]) < 0.15 * t[-2], (n, dens)  # past the knee: flat
fig = plots.metric_vs_param(sw, "migration_time_s", "params.parallelism", hue="params.topology.components",
                            col="params.topology.density")
for ax, (_dens, grp) in zip(fig.axes, sw.groupby("params.topology.density"), strict=False):
    yf = plots.axis_label("migration_time_s", sw["migration_time_s"])[1]
    for _n, g in grp.groupby("params.topology.components"):
        ax.axhline(g["data_bytes"].mean() / 1.25e9 / yf, color="grey", ls=":", lw=1)
save(fig, "cluster_migration_knee")"""),
]


def main() -> None:
    write_notebook(CELLS, HERE / "cluster_migration.ipynb")


if __name__ == "__main__":
    main()
