"""Write notebooks/cdp_streams.ipynb (outputs stripped) from the cells below.

    python notebooks/build_cdp_streams.py

The notebook reproduces the headline comparison of `cdp_streams` from the scenario files: the three
do-stream mechanisms against the always-on appliance after the loss of the production site
(scenarios/cdp_streams_compare.yaml), cost against RTO as the apply interval grows
(scenarios/cdp_apply_interval_sweep.yaml) and data loss once the apply interval passes the stream's
retention (scenarios/cdp_retention_risk.yaml). SIZE "small" (CI) shrinks volume, rate and time;
"full" runs the scenario files as written (with FIG_DIR set it writes docs/models/figures/cdp_*.png).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, setup_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Continuous data protection in the cloud with do and undo streams (`cdp_streams`)

A splitter on the production site sends every write, batched into records, to a cloud stream (the
*do stream*) instead of to an always-running replication appliance. `periodic_apply` powers an
instance on from time to time to apply the do records to a replica volume and snapshot it;
`do_undo` also writes the data each record overwrites to an *undo stream*, so any point in time can
be rebuilt; `chunks` keeps the replica as chunk objects in object storage with an undo archive.
The baseline is an always-on appliance with a journal. See `docs/models/cdp_streams.md`.

Every run recovers to the latest point and to random past points T and compares each recovered
volume block by block with the oracle (`invariant_violations`)."""),
    ("params", parameters_source("cdp_*.png")),
    ("code", setup_source(width=180, helpers='small_base=SMALL_BASE, violated="a recovered volume differs from '
                                             'the oracle"', extra="""\
pd.set_option("display.float_format", lambda x: f"{x:.4g}")
# a 1 GiB volume at 5 writes/s for minutes instead of 32 GiB at 10 writes/s for hours
SMALL_BASE = {"params.volume.capacity": "1GiB", "params.journal.capacity": "4GiB", "params.chunk_size": "1MiB",
              "workload.arrivals.rate": "5/s", "replications": 2}  # 2: a CI""")),
    ("md", """## Headline: the mechanisms against the appliance, production site lost

`scenarios/cdp_streams_compare.yaml`: the production site is lost (a `crash` of `production` with no
restart) at a random instant within one apply cycle; recovery starts at the loss. Each variant
recovers to the latest durable point (`rto_latest_s`) and then, one after another (each alone on the
streams' read limits), to three random past points T (`rto_past_s`; `recovery_point_gap_s` is T minus
the point actually recovered). Monthly cost is extrapolated from the simulated span with the
component library's prices; the bars are 95% CIs over the replications (the loss instants)."""),
    ("code", """head = sweep("cdp_streams_compare", {"duration": "60min", "params.apply_interval": "10min",
                                    "faults[0].at": {"dist": "uniform", "low": "30min", "high": "40min"},
                                    "warmup": "2min", "replications": 4})
cost_items = [c for c in head.columns if c.startswith("monthly_cost_") and c != "monthly_cost_usd"]
cols = ["monthly_cost_usd", "rto_latest_s", "rto_past_s", "recovery_point_gap_s", "past_points_exact",
        "any_point_recoverable", "rpo_mean_s", "rpo_at_disaster_s", "storage_bytes", "recoveries_verified",
        "invariant_violations"]
order = ["appliance", "periodic_apply", "do_undo", "chunks"]
table = head.groupby("params.variant")[cols].mean().reindex(order)
table"""),
    ("code", """costs = head.groupby("params.variant")[cost_items].mean().reindex(order)
costs.columns = [c.removeprefix("monthly_cost_").removesuffix("_usd") for c in costs.columns]
display(costs.rename_axis("monthly cost by item (USD)"))
fig = plots.tradeoff(head, "monthly_cost_usd", "rto_latest_s", hue="params.variant",
                     title="monthly cost against RTO to the latest point (site lost at a random phase)")
save(fig, "cdp_cost_rto")"""),
    ("code", """fig = plots.metric_by_variant(head, ["rto_latest_s", "rto_past_s", "recovery_point_gap_s",
                                     "recovery_phase_s"], "params.variant")
save(fig, "cdp_rto_by_variant")"""),
    ("code", """app = table.loc["appliance"]
for v in ("periodic_apply", "do_undo", "chunks"):
    assert table.loc[v, "monthly_cost_usd"] < 0.5 * app["monthly_cost_usd"], v   # a fraction of the appliance
    assert table.loc[v, "rto_latest_s"] > app["rto_latest_s"], v                  # ... at the price of a longer RTO
assert table.loc["do_undo", "recovery_point_gap_s"] == 0 and table.loc["do_undo", "any_point_recoverable"] == 1
assert table.loc["periodic_apply", "recovery_point_gap_s"] > 0                     # only snapshot points
(table["monthly_cost_usd"] / app["monthly_cost_usd"]).rename("cost relative to the appliance")"""),
    ("md", """## Cost against RTO as the apply interval grows

`scenarios/cdp_apply_interval_sweep.yaml`: a longer apply interval means fewer instance power-ons
(less compute) but more do records left to roll forward at recovery, and for `periodic_apply`
recovery points further apart."""),
    ("code", """small_grid = {"params.variant": ["periodic_apply", "do_undo"], "params.apply_interval": ["5min", "10min", "20min"]}
iv = sweep("cdp_apply_interval_sweep", {"duration": "80min", "replications": 3, "sweep": {"grid": small_grid}})
iv_table = iv.groupby(["params.variant", "params.apply_interval"])[
    ["monthly_cost_usd", "monthly_cost_compute_usd", "rto_latest_s", "rto_past_s", "recovery_point_gap_s",
     "apply_duration_mean_s"]].mean()
iv_table"""),
    ("code", """short, long = sorted(iv["params.apply_interval"].unique())[0], sorted(iv["params.apply_interval"].unique())[-1]
per = iv[iv["params.variant"] == "periodic_apply"].groupby("params.apply_interval").mean(numeric_only=True)
assert per.loc[long, "recovery_point_gap_s"] > per.loc[short, "recovery_point_gap_s"]
fig = plots.metric_vs_param(iv, ["monthly_cost_usd", "rto_latest_s", "recovery_point_gap_s"], "params.apply_interval",
                            "params.variant")
save(fig, "cdp_apply_interval")"""),
    ("md", """## The do stream near its write limit

`scenarios/cdp_streams_load_sweep.yaml`: the offered write load from 0.35x to 1.3x of one shard's
1 MiB/s. The paced producer's throughput follows the offered load and stays at the limit beyond
it; the capacity alarm fires above 0.8 of the limit."""),
    ("code", """ld = sweep("cdp_streams_load_sweep", {"duration": "12min", "params.volume.capacity": "1GiB",
                                     "replications": 1,
                                     "sweep": {"grid": {"workload.arrivals.rate": ["20/s", "50/s", "70/s"]}}})
ld_table = ld.groupby("workload.arrivals.rate")[["do_offered_bytes_s", "do_throughput_bytes_s",
                                                 "do_stream_utilisation", "rpo_mean_s", "do_load_warnings"]].mean()
ld_table"""),
    ("code", """assert ld_table["do_stream_utilisation"].max() > 0.97   # the shard is kept at its limit when overloaded
fig = plots.metric_vs_param(ld, ["do_stream_utilisation", "rpo_mean_s"], "workload.arrivals.rate")
save(fig, "cdp_load_sweep")"""),
    ("md", """## Apply interval approaching the stream's retention

`scenarios/cdp_retention_risk.yaml`: once the apply interval (plus the apply's own duration) passes
the do stream's retention, the oldest records of each interval expire before they are read. The
model finds the gap in the write sequence, reports the loss and refuses recoveries to points after
it instead of returning a wrong volume."""),
    ("code", """# the retention stays the Kinesis minimum, 24 h (shorter is refused); SMALL: fewer writes and 40 h
ret = sweep("cdp_retention_risk", {"duration": "40h", "params.protection_window": "40h",
                                   "workload.arrivals.rate": "0.05/s",
                                   "sweep": {"grid": {"params.apply_interval": ["5h", "12h", "26h", "30h"]}}})
ret_table = ret.groupby("params.apply_interval")[["records_expired", "writes_lost", "data_lost_bytes",
                                                  "latest_recovered", "past_points_recovered",
                                                  "past_points_not_recoverable", "invariant_violations"]].mean()
ret_table"""),
    ("code", """retention = 24 * 3600
assert (ret_table.loc[ret_table.index < 0.5 * retention, "data_lost_bytes"] == 0).all()
assert (ret_table.loc[ret_table.index > retention, "data_lost_bytes"] > 0).all()
x = "params.apply_interval"
fig = plots.metric_vs_param(ret, ["data_lost_bytes", "records_expired"], x, logy=False)
xf = plots.axis_label(x, ret[x])[1]
for ax in fig.axes:  # the do stream's retention
    ax.axvline(retention / xf, color="grey", ls=":", label="stream retention")
fig.axes[0].legend(fontsize="small")
save(fig, "cdp_retention_risk")"""),
]


def main() -> None:
    write_notebook(CELLS, HERE / "cdp_streams.ipynb")


if __name__ == "__main__":
    main()
