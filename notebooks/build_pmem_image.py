"""Write notebooks/pmem_image.ipynb (outputs stripped) from the cells below.

    python notebooks/build_pmem_image.py

The notebook reproduces the headline comparison of `pmem_image` from the scenario files: full
index vs difference-only index vs copy checkpoints (scenarios/pmem_image_capture.yaml), the
capture interval x index scheme x write locality sweep (scenarios/pmem_image_sweep.yaml) and
power loss by placement (scenarios/pmem_image_power_loss.yaml). SIZE "small" (CI) shrinks memory
and write rate together (same writes per page per second) and shortens the runs; "full" runs the
scenario files as written (the figures in docs/models/pmem_image.md, with FIG_DIR set).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, setup_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    (
        "md",
        """# Persistent-memory image capture with linked indexes (`pmem_image`)

An application keeps its memory as pages in DRAM and/or persistent memory. Capturing an *image*
copies no data: the application pauses while an index of its page versions is recorded, and from
then on a write to a kept page goes to a fresh copy (copy-on-write). Two index schemes: a **full
index** (every image maps every page) and a **difference-only index** (an image maps the pages
changed since the previous one; resolving walks back along the chain). The baseline is a
conventional checkpoint copying memory to an SSD: stop-the-world (whole, or dirty pages), or in the
background as practitioners run it (Redis BGSAVE's fork + copy-on-write, CRIU's iterative pre-dump).
See `docs/models/pmem_image.md`.

Every run checks the oracle: each restore and clone equals memory at the image instant, page by
page; each recovery (latest image + log replay) equals memory at the failure
(`invariant_violations` must be 0).""",
    ),
    ("params", parameters_source("pmem_image_*.png")),
    (
        "code",
        setup_source(stdlib="import re", width=180, extra="""\
SCHEMES = ["full_index", "diff_index", "copy_whole", "copy_dirty", "fork_snapshot", "criu_predump"]"""),
    ),
    (
        "md",
        """## Headline: image capture vs copy checkpoint, full vs difference-only index

`scenarios/pmem_image_capture.yaml`: 4 GiB, 100k page writes/s offered (Zipf 0.99), an image or
checkpoint every second, 8 kept; a damaged index at 12.5 s and a process crash drawn over 25-35 s
in each replication (5 replications: means and 95 % CIs). The small size uses 256 MiB and 6.25k
writes/s (the same writes per page per second) and one replication.""",
    ),
    (
        "code",
        """head = sweep("pmem_image_capture", {"params.memory_size": "256MiB", "workload.write_rate": "6250/s",
                                    "replications": 1})
cols = ["capture_pause_mean_s", "capture_pause_p50_s", "capture_time_mean_s", "capture_overruns",
        "metadata_bytes_per_image", "metadata_bytes_total", "kept_version_bytes", "restore_time_s",
        "restore_chain_length", "clone_time_s", "recovery_time_s", "rpo_s", "rpo_with_log_s", "cow_faults",
        "app_pause_fraction", "write_throughput_ops_s", "writes_refused", "write_latency_p50_s",
        "write_latency_p99_s", "write_latency_max_s", "corruption_detected", "invariant_violations"]
table = head.groupby("params.scheme")[cols].mean().reindex(SCHEMES)
table.T""",
    ),
    (
        "code",
        """# the qualitative outcome this model must show
assert table.loc["copy_whole", "capture_pause_mean_s"] > 100 * table.loc["diff_index", "capture_pause_mean_s"]
assert table.loc["copy_whole", "capture_pause_mean_s"] > 10 * table.loc["full_index", "capture_pause_mean_s"]
assert table.loc["diff_index", "metadata_bytes_per_image"] < 0.3 * table.loc["full_index", "metadata_bytes_per_image"]
assert table.loc["diff_index", "restore_time_s"] > table.loc["full_index", "restore_time_s"]
assert table.loc["diff_index", "corruption_detected"] >= 1  # the damaged index is on the restore chain
assert table.loc["fork_snapshot", "capture_pause_mean_s"] < table.loc["copy_whole", "capture_pause_mean_s"]
assert table.loc["fork_snapshot", "cow_faults"] > 0  # the parent pays copy-on-write during the background copy
assert table.loc["diff_index", "write_latency_p99_s"] < table.loc["copy_whole", "write_latency_p99_s"]
# log axes where a panel spans more than two decades (the copy checkpoint's pause against an image's)
fig = plots.metric_by_variant(head, ["capture_pause_mean_s", "write_latency_p99_s", "write_throughput_ops_s",
                                     "metadata_bytes_per_image", "restore_time_s", "recovery_time_s", "rpo_s",
                                     "kept_version_bytes"], "params.scheme")
save(fig, "pmem_image_headline")""",
    ),
    (
        "md",
        """## Sweep: capture interval x index scheme x write locality

`scenarios/pmem_image_sweep.yaml`: 1 GiB, 25k writes/s, 4 images kept, intervals 0.5–8 s, 3 replications
(the baselines fork_snapshot and criu_predump on the same grid for pauses and write latency). A
difference entry is 16 B against 8 B for a full-index entry, so the difference-only image is the
smaller one only while fewer than half the pages changed in an interval: the crossover.""",
    ),
    (
        "code",
        r"""sw = sweep("pmem_image_sweep", {"params.memory_size": "128MiB", "workload.write_rate": "3125/s",
                                "params.write_tick": "20ms", "replications": 1})


def dist_of(keys):  # the key distribution's name, whether the column holds dicts or their text
    return keys["dist"] if isinstance(keys, dict) else re.search(r"dist\W+(\w+)", str(keys)).group(1)


sw["locality"] = sw["workload.keys"].map(dist_of)
sw_table = sw.groupby(["locality", "params.scheme", "params.capture_interval"])[
    ["metadata_bytes_per_image", "metadata_bytes_total", "capture_pause_mean_s", "restore_time_s",
     "restore_chain_length", "kept_version_bytes"]].mean()
sw_table""",
    ),
    (
        "code",
        """localities = ["uniform", "zipf", "hotset"]
crossover = {}
for loc in localities:
    full = sw_table.loc[(loc, "full_index")]
    diff = sw_table.loc[(loc, "diff_index")]
    ratio = diff["metadata_bytes_per_image"] / full["metadata_bytes_per_image"]
    above = ratio[ratio >= 1.0]
    crossover[loc] = float(above.index.min()) if len(above) else float("inf")
print("first interval at which the difference-only image is no smaller than the full one:", crossover)
assert crossover["uniform"] < crossover["zipf"], crossover
for loc in localities:  # the difference-only restore always resolves more entries than the full one
    assert (sw_table.loc[(loc, "diff_index")]["restore_time_s"] >= sw_table.loc[(loc, "full_index")]["restore_time_s"]).all()
indexes = sw[sw["params.scheme"].isin(["full_index", "diff_index"])]
fig = plots.metric_vs_param(indexes, ["metadata_bytes_per_image", "restore_time_s"], "params.capture_interval",
                            "params.scheme", col="locality")
save(fig, "pmem_image_sweep")""",
    ),
    (
        "code",
        """# the application's side against the background-copy baselines: pause and write latency per interval
fig = plots.metric_vs_param(sw, ["capture_pause_mean_s", "write_latency_p99_s"], "params.capture_interval",
                            "params.scheme", col="locality")
save(fig, "pmem_image_sweep_latency")""",
    ),
    (
        "md",
        """## Power loss: images in DRAM are lost, images in PMEM survive

`scenarios/pmem_image_power_loss.yaml`: the node loses power at 20.3 s for 2 s.""",
    ),
    (
        "code",
        """pl = sweep("pmem_image_power_loss", {"params.memory_size": "256MiB", "workload.write_rate": "12500/s",
                                     "replications": 1})
pl_table = pl.groupby(["params.placement", "params.scheme"])[
    ["images_lost", "recoveries", "recoveries_failed", "recovery_time_s", "rpo_s", "rpo_with_log_s",
     "capture_pause_mean_s"]].mean()
assert (pl_table.loc["dram"].loc[["full_index", "diff_index"], "images_lost"] > 0).all()
assert (pl_table.loc["pmem"]["images_lost"] == 0).all() and (pl_table.loc["pmem"]["recoveries"] == 1).all()
assert (pl_table.loc["mixed"]["recoveries"] == 1).all()
display(pl_table)
# one point per placement and scheme: images lost, and the RPO without the log (NaN: nothing to restore)
pl["placement / scheme"] = pl["params.placement"] + " / " + pl["params.scheme"]
fig = plots.metric_by_variant(pl, ["images_lost", "rpo_s", "recoveries_failed"], "placement / scheme")
save(fig, "pmem_image_power_loss")""",
    ),
]


def main() -> None:
    write_notebook(CELLS, HERE / "pmem_image.ipynb")


if __name__ == "__main__":
    main()
