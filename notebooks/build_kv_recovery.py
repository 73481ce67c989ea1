"""Write notebooks/kv_recovery.ipynb (outputs stripped) from the cells below.

    python notebooks/build_kv_recovery.py

The notebook reproduces the headline comparison of `kv_recovery` from the scenario files:
fast_restart vs no_checkpoint vs no_replicas under the same crash (scenarios/kv_recovery.yaml),
the checkpoint-interval trade-off (scenarios/kv_checkpoint_sweep.yaml) and replica staleness vs
refresh interval (scenarios/kv_replicas.yaml). SIZE "small" (CI) shortens the runs; "full" runs
the scenario files as they are (the figures in docs/models/kv_recovery.md, with FIG_DIR set).
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.notebook import parameters_source, write_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Fast restart recovery and read-only replicas of a key-value store (`kv_recovery`)

A key-value store keeps pages in an append-only file stream found through a page mapping table.
The mapping is checkpointed, a metadata log says where the latest checkpoint is, and after a crash
restart recovery loads the checkpoint, replays the system log (mapping changes) and then the user
log from min(oldest uncommitted transaction at the user checkpoint, user replay point).
Read-only replicas open the file stream read-only and serve reads at the latest flush boundary,
during recovery and in normal operation. See `docs/models/kv_recovery.md`.

This notebook runs the three scenario files and reproduces the headline comparison. Every run also
checks the oracle: every acknowledged write visible after recovery, every replica read equal to the
value its key had at the replica's snapshot, snapshots never going back (`invariant_violations`)."""),
    ("params", parameters_source("kv_*.png")),
    ("code", """import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

import sim
from sim.analysis.notebook import repo_path, save_figure, sweep_checked

SMALL = SIZE == "small"
pd.set_option("display.width", 160)


def sweep(name, small_overrides):
    overrides = small_overrides if SMALL else {}
    return sweep_checked(name, overrides, out_dir=OUT_DIR)


def save(fig, name):
    save_figure(fig, FIG_DIR, name)"""),
    ("md", """## Headline: the mechanism against its baselines, same crash

`scenarios/kv_recovery.yaml`: the node crashes at a random time (the same in each replication at
every variant: common random numbers) and restarts 200 ms later. `recovery_time_s` counts from the
crash until the primary is writable, `first_read_s` until the first read is served."""),
    ("code", """CRASH_SMALL = {"dist": "uniform", "low": "12s", "high": "20s"}
head = sweep("kv_recovery", {"duration": "24s", "replications": 2, "params.keys": 20000,
                             "params.checkpoint_interval": "10s", "faults[0].at": CRASH_SMALL})
cols = ["recovery_time_s", "restart_recovery_s", "first_read_s", "read_availability_during_recovery",
        "replayed_log_bytes", "replica_staleness_mean_s", "write_amplification", "invariant_violations"]
table = head.groupby("params.variant")[cols].mean()
table"""),
    ("code", """order = ["fast_restart", "no_checkpoint", "no_replicas"]
t = table.reindex(order)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
x = range(len(order))
ax[0].bar([i - 0.2 for i in x], t["recovery_time_s"], width=0.4, label="writable again (recovery_time_s)")
ax[0].bar([i + 0.2 for i in x], t["first_read_s"], width=0.4, label="first read served (first_read_s)")
restart = sim.load_scenario(repo_path("scenarios", "kv_recovery.yaml")).resolved["faults"][0]["restart_after"]
ax[0].axhline(restart, color="grey", ls="--", lw=1, label="node restarted")
ax[0].set_xticks(list(x), order)
ax[0].set_ylabel("seconds after the crash")
ax[0].legend(fontsize=8)
ax[0].set_title("Crash to writable / to first read")
ax[1].bar(list(x), t["read_availability_during_recovery"], color="tab:green")
ax[1].set_xticks(list(x), order)
ax[1].set_ylim(0, 1)
ax[1].set_title("Read availability during recovery")
fig.tight_layout()
save(fig, "kv_headline")
# the qualitative outcome this model must show
assert t.loc["fast_restart", "recovery_time_s"] < t.loc["no_checkpoint", "recovery_time_s"]
assert t.loc["fast_restart", "first_read_s"] < t.loc["no_replicas", "first_read_s"]
assert t.loc["no_replicas", "read_availability_during_recovery"] == 0"""),
    ("md", """## Checkpoint interval: recovery time against checkpoint overhead

`scenarios/kv_checkpoint_sweep.yaml`: checkpoints every 5, 10, 20, 40 s, and the no_checkpoint
baseline (replays everything since the store was loaded)."""),
    ("code", """# small: one replication crashing at 79 s, i.e. 4, 9, 19 and 39 s after the last checkpoint
ck = sweep("kv_checkpoint_sweep", {"duration": "82s", "replications": 1, "params.keys": 20000,
                                   "workload.rate": "1500/s", "faults[0].at": "79s"})
ck_table = ck.groupby(["params.variant", "params.checkpoint_interval"])[
    ["recovery_time_s", "replayed_log_bytes", "checkpoint_bytes_written", "write_amplification"]].mean()
ck_table"""),
    ("code", """mech = ck_table.loc["fast_restart"]
base = ck_table.loc["no_checkpoint"].iloc[0]
fig, ax1 = plt.subplots(figsize=(6.4, 3.8))
ax1.plot(mech.index, mech["recovery_time_s"], "o-", color="tab:blue", label="recovery time")
ax1.axhline(base["recovery_time_s"], color="tab:blue", ls=":", label="recovery time, no checkpoint")
ax1.set_xlabel("checkpoint interval (s)")
ax1.set_ylabel("recovery time (s)", color="tab:blue")
ax2 = ax1.twinx()
ax2.plot(mech.index, mech["write_amplification"], "s--", color="tab:red", label="write amplification")
ax2.axhline(base["write_amplification"], color="tab:red", ls=":")
ax2.set_ylabel("bytes written per value byte", color="tab:red")
ax2.plot([], [], ":", color="tab:red", label="write amplification, no checkpoint")
h1, l1 = ax1.get_legend_handles_labels()
h2, l2 = ax2.get_legend_handles_labels()
ax1.legend(h1 + h2, l1 + l2, loc="center right", fontsize=7)
ax1.set_title("Checkpoint interval: recovery time vs overhead")
fig.tight_layout()
save(fig, "kv_checkpoint_tradeoff")
assert mech["recovery_time_s"].is_monotonic_increasing
assert mech["checkpoint_bytes_written"].is_monotonic_decreasing"""),
    ("md", """## Replica staleness follows the refresh interval

`scenarios/kv_replicas.yaml` (no faults): staleness of a replica read = now minus the time its
snapshot was the primary's state."""),
    ("code", """rep = sweep("kv_replicas", {"duration": "8s", "warmup": "1s", "replications": 1, "params.keys": 20000})
st = rep.groupby("params.replica_refresh_interval")[["replica_staleness_mean_s", "replica_staleness_p99_s"]].mean()
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(st.index, st["replica_staleness_mean_s"], "o-", label="mean")
ax.plot(st.index, st["replica_staleness_p99_s"], "s--", label="p99")
ax.plot(st.index, st.index, ":", color="grey", label="y = refresh interval")
ax.set_xlabel("replica refresh interval (s)")
ax.set_ylabel("staleness (s)")
ax.legend(fontsize=8)
ax.set_title("Replica staleness vs refresh interval")
fig.tight_layout()
save(fig, "kv_staleness")
assert st["replica_staleness_mean_s"].is_monotonic_increasing
st"""),
]


def main() -> None:
    write_notebook(CELLS, HERE / "kv_recovery.ipynb")


if __name__ == "__main__":
    main()
