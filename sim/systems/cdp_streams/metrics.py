"""The metrics of `cdp_streams`: the declared spec, storage, the extrapolated monthly cost and the
assembly of one run's row.

Monthly cost uses the components' prices: time-billed items (shard-hours, volumes) over the
simulated span, usage items (instance, puts, requests, new snapshot and archive bytes) over the
span the completed apply cycles protect (`Costs.record_cycle`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.components.base import SECONDS_PER_MONTH
from sim.core.system import Metric

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams

COST_ITEMS = ("compute", "stream_shards", "stream_puts", "stream_retention", "volumes", "snapshots",
              "object_storage", "object_requests")
STORAGE_ITEMS = ("volume", "snapshot", "stream", "object", "journal")

METRICS_SPEC: tuple[Metric, ...] = (
    Metric("rpo_mean_s", "mean time from a production write to its durability at the protection target"),
    Metric("rpo_p50_s", "median time from a production write to its durability at the protection target"),
    Metric("rpo_p99_s", "99th percentile of the time from a production write to its durability"),
    Metric("rpo_max_s", "longest time from a production write to its durability"),
    Metric("writes", "production writes issued"),
    Metric("rto_latest_s", "recovery time to the latest durable point (instance start to verified volume)"),
    Metric("rto_past_s", "mean recovery time to random past points T"),
    Metric("recovery_start_s", "when the recovery began (the site loss, or the drill)"),
    Metric("recovery_phase_s", "time from the power-on of the last apply cycle to the recovery's start "
           "(stream variants; the recovery's phase in the apply cycle)"),
    Metric("rto_past_max_s", "longest recovery time to a random past point T"),
    Metric("recovery_point_gap_s", "mean T minus the point actually recovered (0: any point in time)"),
    Metric("past_points_recovered", "past points T recovered"),
    Metric("past_points_exact", "past points recovered exactly at T"),
    Metric("past_points_not_recoverable", "past points the mechanism refused (data needed is gone)"),
    Metric("latest_recovered", "recoveries to the latest durable point that succeeded"),
    Metric("recoveries_verified", "recovered volumes that equal the oracle block by block"),
    Metric("recoveries_unfinished", "recoveries still running at the end of the run"),
    Metric("any_point_recoverable", "1 if the mechanism offers any point, nothing was lost and every past point "
           "drawn was recovered exactly and matched the oracle (NaN: no past point was tried)"),
    Metric("recoverable_points", "distinct points in time recoverable at the end within the protection window "
           "(writes for the any-point variants, snapshots taken in the window plus the latest for periodic_apply)"),
    Metric("records_expired", "do records that expired from the stream before they were applied"),
    Metric("writes_lost", "production writes lost because their do records expired"),
    Metric("data_lost_bytes", "bytes of production writes lost because their do records expired"),
    Metric("disaster", "1 if the production site was lost (crash without restart)"),
    Metric("rpo_at_disaster_s", "age of the oldest write not yet durable when the site was lost"),
    Metric("data_lost_at_disaster_bytes", "bytes of writes issued but not yet durable when the site was lost"),
    Metric("apply_runs", "apply cycles completed"),
    Metric("apply_crashed", "apply cycles interrupted (instance crash)"),
    Metric("apply_duration_mean_s", "mean duration of a completed apply (instance ready to done)"),
    Metric("apply_lag_max_s", "largest age of the oldest unapplied write when an apply began"),
    Metric("instance_failed_starts", "instance starts that failed (insufficient capacity)"),
    Metric("put_retries", "splitter puts (or appliance sends) retried"),
    Metric("do_offered_bytes_s", "bytes/s the production writes offered to the do stream (payload plus "
           "a header per write) while the site was up"),
    Metric("do_throughput_bytes_s", "bytes/s the do stream accepted from the splitter over the same span"),
    Metric("do_stream_utilisation", "do_throughput_bytes_s over the do stream's write limit (shards x 1 MiB/s)"),
    Metric("do_offered_load_max_ratio", "largest offered load over a minute, as a fraction of the write limit"),
    Metric("do_load_warnings", "minutes in which the offered load exceeded 0.8 of the do stream's write limit"),
    Metric("undo_put_retries", "undo stream puts retried"),
    Metric("object_errors", "object store requests retried (throttled or unavailable)"),
    Metric("chunks_unreadable", "chunk objects found lost or corrupt by an apply or a recovery"),
    # cloud limits and chunk repair (issue 17, item 9)
    Metric("chunk_repairs", "chunk objects re-read from the production volume and uploaded again"),
    Metric("chunk_repair_time_s", "mean time from finding a chunk damaged to its repair (NaN: none repaired)"),
    Metric("chunk_repair_bytes", "bytes sent over the WAN to repair chunks"),
    Metric("burst_exhausted", "instances (apply, recoveries, appliance) whose network or EBS burst allowance "
           "ran out, falling back to the baseline"),
    Metric("journal_window_min_s", "appliance: shortest recovery window the journal held (now minus its "
           "oldest recoverable point, at each checkpoint once the run lasted journal_window or the hard "
           "limit dropped history; NaN: never, the journal was still filling)"),
    Metric("journal_window_mean_s", "appliance: mean recovery window the journal held, over the same checkpoints"),
    Metric("journal_checkpoints_dropped", "appliance: checkpoints whose undo left the journal at its hard limit "
           "(before journal_window)"),
    Metric("journal_full_alerts", "appliance: episodes of the journal at its hard limit (Zerto's alert)"),
    Metric("journal_writes_refused", "appliance: sends refused because the journal could not hold them even "
           "with no history left (the splitter holds and resends them)"),
    Metric("storage_volume_bytes", "bytes of replica volumes"),
    Metric("storage_snapshot_bytes", "bytes of snapshots (base copy plus increments)"),
    Metric("storage_stream_bytes", "bytes retained in the do and undo streams"),
    Metric("storage_object_bytes", "bytes of chunk, manifest and undo segment objects"),
    Metric("storage_journal_bytes", "bytes the appliance's journal held at its peak (do data not yet applied "
           "plus undo history; the journal volume is billed at its capacity)"),
    Metric("storage_bytes", "bytes stored by the protection (volumes, snapshots, streams, objects, journal)"),
    Metric("monthly_cost_compute_usd", "monthly cost of the apply instance or appliance"),
    Metric("monthly_cost_stream_shards_usd", "monthly cost of the streams' shard-hours"),
    Metric("monthly_cost_stream_puts_usd", "monthly cost of the streams' PUT payload units"),
    Metric("monthly_cost_stream_retention_usd", "monthly cost of the streams' long-term retention (data kept "
           "beyond 7 days, per GB-month, at steady state; 0 with a retention up to 7 days)"),
    Metric("monthly_cost_volumes_usd", "monthly cost of the replica and journal volumes"),
    Metric("monthly_cost_snapshots_usd", "monthly cost of the snapshots at steady state"),
    Metric("monthly_cost_object_storage_usd", "monthly cost of object storage at steady state"),
    Metric("monthly_cost_object_requests_usd", "monthly cost of object requests"),
    Metric("monthly_cost_usd", "monthly cost of protection, extrapolated from the simulated span"),
)


class Costs:
    """Usage costs of the apply cycles, and the monthly extrapolation."""

    __slots__ = ("m", "usage", "frozen")

    def __init__(self, m: CdpStreams) -> None:
        self.m = m
        self.usage: dict[str, float] | None = None  # usage costs of the apply cycles (record_cycle)
        self.frozen = False  # a recovery overlapped an apply: later cycles are not steady state

    def record_cycle(self, power_on: float, t0: float, do_puts_usd: float) -> None:
        """Usage costs (instance, puts, requests, new snapshot/archive bytes) of the apply cycles so
        far, which protect the writes issued up to `t0` (this apply's read of the stream tip). The
        monthly cost divides them by that span, not by the whole run: the writes after the last
        completed apply have not been paid for yet, and after a site loss the instance has nothing
        left to protect. Cycles from the first one a recovery overlapped on are left out (the
        recovery's reads share the streams' read limits and slow that apply down: not steady state)."""
        m = self.m
        if m.recovery_started and (m.recovery_done_at is None or m.recovery_done_at > power_on):
            self.frozen = True
        if not self.frozen and t0 <= m.disaster.get("time", math.inf):
            self.usage = self.usage_until(t0, do_puts_usd)

    def usage_until(self, span: float, do_puts_usd: float) -> dict[str, float]:
        """Cumulative usage costs now, taken to protect the writes of the first `span` seconds."""
        m = self.m
        u = {"span": span, "compute_usd": m.instance.cost_usd()["compute_usd"], "do_puts_usd": do_puts_usd}
        m.variant.usage(m, u)
        return u

    def monthly(self) -> dict[str, float]:
        """Monthly cost: component costs per simulated second times a 730 h month (steady-state storage)."""
        m = self.m
        scale = SECONDS_PER_MONTH / max(m.env.now, 1e-9)
        c = dict.fromkeys(COST_ITEMS, 0.0)
        u: dict[str, float] = {}
        uscale = 0.0
        if m.instance is not None:  # the stream variants: usage over the span the applies protect
            u = self.usage
            if u is None:  # no apply cycle to measure: what was used so far, over the run
                u = self.usage_until(min(m.env.now, m.disaster.get("time", math.inf)),
                                     m.stream.cost_usd()["put_units_usd"])
            uscale = SECONDS_PER_MONTH / max(u["span"], 1e-9)
        m.variant.monthly(m, c, u, scale, uscale)
        out = {f"monthly_cost_{k}_usd": v for k, v in c.items()}
        out["monthly_cost_usd"] = sum(c.values())
        return out


def any_point_recoverable(m: CdpStreams, past: list) -> float:
    """1: the mechanism offers any point, nothing was lost, and every past point drawn was
    recovered exactly and matched the oracle; 0 otherwise; NaN when no past point was tried
    (no recovery ran, or `past_points` is 0): nothing was measured."""
    done = [r for r in past if r.done]
    if not m.variant.any_point:
        return 0.0
    if not done:
        return math.nan
    return float(m.lost_from is None and m.params.detect_expiry
                 and all(r.ok and r.matched and r.point_seq == r.target_seq for r in done))


def do_load(m: CdpStreams) -> dict[str, float]:
    """Offered load and throughput of the do stream (NaN for the appliance, which has none)."""
    keys = ("do_offered_bytes_s", "do_throughput_bytes_s", "do_stream_utilisation", "do_offered_load_max_ratio",
            "do_load_warnings")
    if m.instance is None:
        return dict.fromkeys(keys, math.nan)
    p = m.params
    span = max(min(m.env.now, m.disaster.get("time", math.inf)), 1e-9)
    n = m.log.count
    offered = (m.log.bytes_between(1, n) + p.record_header * n) / span
    thr = m.stream.put_bytes / span
    vals = (offered, thr, thr / (p.stream.shards * p.stream.write_bytes_per_shard), m.load_max_ratio,
            float(m.load_warnings))
    return dict(zip(keys, vals, strict=True))


def storage(m: CdpStreams) -> dict[str, float]:
    out = {f"storage_{k}_bytes": 0.0 for k in STORAGE_ITEMS}
    m.variant.storage(m, out)
    out["storage_bytes"] = sum(out.values())
    return out


def run_metrics(m: CdpStreams) -> dict[str, float]:
    """One run's metrics row (the keys of `METRICS_SPEC`)."""
    nan = math.nan
    latest = [r for r in m.recoveries if r.kind == "latest"]
    past = [r for r in m.recoveries if r.kind == "past"]
    past_ok = [r for r in past if r.ok]
    lat_ok = [r for r in latest if r.ok]
    rpo = m.rpo
    out: dict[str, float] = {
        **rpo.summary("rpo", "s"),
        "rpo_max_s": rpo.max if rpo.n else nan,
        "writes": float(m.log.count),
        "rto_latest_s": float(np.mean([r.rto for r in lat_ok])) if lat_ok else nan,
        "rto_past_s": float(np.mean([r.rto for r in past_ok])) if past_ok else nan,
        "recovery_start_s": m.recovery_start if m.recovery_start is not None else nan,
        "recovery_phase_s": m.recovery_phase,
        "rto_past_max_s": float(np.max([r.rto for r in past_ok])) if past_ok else nan,
        "recovery_point_gap_s": float(np.mean([r.target_time - r.point_time for r in past_ok])) if past_ok else nan,
        "past_points_recovered": float(len(past_ok)),
        "past_points_exact": float(sum(1 for r in past_ok if r.point_seq == r.target_seq)),
        "past_points_not_recoverable": float(sum(1 for r in past if r.done and not r.ok)),
        "latest_recovered": float(len(lat_ok)),
        "recoveries_verified": float(sum(1 for r in m.recoveries if r.matched)),
        "recoveries_unfinished": float(sum(1 for r in m.recoveries if not r.done)),
        # the mechanism offers any point, nothing was lost, and no past point drawn was refused,
        # recovered to another point or found different from the oracle
        "any_point_recoverable": any_point_recoverable(m, past),
        "recoverable_points": float(recoverable_points(m)),
        "records_expired": float(m.records_expired),
        "writes_lost": float(m.writes_lost),
        "data_lost_bytes": m.data_lost_bytes,
        "disaster": float(bool(m.disaster)),
        "rpo_at_disaster_s": m.disaster.get("rpo", nan),
        "data_lost_at_disaster_bytes": m.disaster.get("bytes_lost", nan),
        "apply_runs": float(m.apply_runs),
        "apply_crashed": float(m.apply_crashed),
        "apply_duration_mean_s": float(np.mean(m.apply_durations)) if m.apply_durations else nan,
        "apply_lag_max_s": m.apply_lag_max,
        "instance_failed_starts": float(m.failed_starts),
        "put_retries": float(m.put_retries),
        **do_load(m),
        "undo_put_retries": float(m.undo_put_retries),
        "object_errors": float(m.object_errors),
        "chunks_unreadable": float(m.chunks_damaged),
        "chunk_repairs": float(m.repairs),
        "chunk_repair_time_s": float(np.mean(m.repair_times)) if m.repair_times else nan,
        "chunk_repair_bytes": m.repair_bytes,
        "burst_exhausted": float(burst_exhausted(m)),
    }
    out.update(journal_metrics(m))
    out.update(storage(m))
    out.update(m.costs.monthly())
    return out


def burst_exhausted(m: CdpStreams) -> int:
    """Instances whose network or EBS burst allowance ran out during the run."""
    links = [r.link for r in m.recoveries if r.link is not None]
    for inst in (m.instance, getattr(m, "appliance", None)):
        if inst is not None and getattr(inst, "link", None) is not None:
            links.append(inst.link)
    n = 0
    for lk in links:
        lk.network()
        lk.ebs.update()
        n += lk.net_budget.exhausted_at is not None or lk.ebs.exhausted_at is not None
    return n


def journal_metrics(m: CdpStreams) -> dict[str, float]:
    """The appliance journal's hard limit at work (NaN for the stream variants, which have none)."""
    keys = ("journal_window_min_s", "journal_window_mean_s", "journal_checkpoints_dropped",
            "journal_full_alerts", "journal_writes_refused")
    if m.instance is not None:
        return dict.fromkeys(keys, math.nan)
    n = m.journal_window_n
    vals = (m.journal_window_min if n else math.nan, m.journal_window_sum / n if n else math.nan,
            float(m.journal_checkpoints_dropped), float(m.journal_full_alerts), float(m.journal_refusals))
    return dict(zip(keys, vals, strict=True))


def recoverable_points(m: CdpStreams) -> int:
    """Distinct points in time recoverable now within the protection window."""
    lo = m.log.seq_at(max(0.0, m.env.now - m.params.protection_window))
    return m.variant.recoverable_points(m, lo)
