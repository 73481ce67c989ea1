"""The metrics of `cluster_migration`: their declaration and their assembly at the end of a run."""

from __future__ import annotations

import math

from sim.core.system import Metric

METRICS: tuple[Metric, ...] = (
    Metric("migration_time_s", "from the migration event until every component runs on the target or was "
           "rolled back (NaN: not finished by the end of the run)"),
    Metric("downtime_total_s", "service downtime summed over the components (cut-over start until it and "
           "everything it depends on run)"),
    Metric("downtime_max_s", "longest downtime of one component"),
    Metric("downtime_mean_s", "mean downtime per component"),
    Metric("outage_total_s", "user-visible outage summed over the components: down while it or anything it "
           "depends on does not serve, also before its own cut-over (a dependency's cut-over counts)"),
    Metric("outage_max_s", "longest user-visible outage of one component"),
    Metric("failed_starts", "launches on the target that did not come up (dependency down, mismatch, transient)"),
    Metric("retries", "re-sent chunks, waits for the link and failed starts retried"),
    Metric("bytes_moved", "bytes carried over the inter-cluster link for the migration (re-sends included)"),
    Metric("data_bytes", "bytes of data in the source cluster"),
    Metric("dependency_violations", "launches of a component while one of its dependencies did not run "
           "(0 for the mechanism)"),
    Metric("target_fit_score", "fraction of components placed on a node they can run on (1: all can start)"),
    Metric("target_peak_utilisation", "peak CPU or memory utilisation of a target node after placement"),
    Metric("candidates_rejected", "candidate target clusters rejected (reasons in the manifest's events)"),
    Metric("replans", "re-placements after a target node failed"),
    Metric("rollbacks", "components rolled back to the source"),
    Metric("migrated_fraction", "fraction of the components running on the target at the end (a rolled-back "
           "component serves from the source and costs no downtime: compare downtime only at equal fractions)"),
    Metric("components", "components in the source cluster"),
    Metric("dependencies", "dependency edges in the source topology"),
    Metric("waves", "waves of the migration sequence (topological generations; 1 for the naive orders, the tiers for tier_runbook)"),
    Metric("completed", "1 if every component runs on the target or was rolled back by the end, else 0"),
)


def assemble(s) -> dict[str, float]:
    total, worst = s.availability.totals()
    out_total, out_worst = s.availability.twin.totals()
    n = len(s.comps)
    t_done = s.finished_at - s.params.trigger_at if s.finished_at is not None else math.nan
    return {
        "migration_time_s": t_done,
        "downtime_total_s": total,
        "downtime_max_s": worst,
        "downtime_mean_s": total / n if n else math.nan,
        "outage_total_s": out_total,
        "outage_max_s": out_worst,
        "failed_starts": float(s.c_failed.value),
        "retries": float(s.c_retries.value),
        "bytes_moved": float(s.c_bytes.value),
        "data_bytes": float(sum(c.data for c in s.comps)),
        "dependency_violations": float(s.oracle.dependency_violations),
        "target_fit_score": s.fit_score,
        "target_peak_utilisation": s.peak_utilisation,
        "candidates_rejected": float(len(s.selection.rejected)),
        "replans": float(s.c_replans.value),
        "rollbacks": float(s.c_rollbacks.value),
        "migrated_fraction": (sum(1 for c in s.running_on if not s.rolled_back[c] and s.is_running(c)) / n
                              if n else math.nan),
        "components": float(n),
        "dependencies": float(s.graph.number_of_edges()),
        "waves": float(s.n_waves),
        "completed": 1.0 if s.done_count == n else 0.0,
    }
