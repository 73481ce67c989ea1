"""The metrics of `nvlog_mirror`: their declaration (`METRICS`) and their assembly at the end of a run."""

from __future__ import annotations

import math

from sim.core.system import Metric

METRICS: tuple[Metric, ...] = (
    Metric("throughput_ops_s", "acknowledged client writes per second of measured time"),
    Metric("write_latency_mean_s", "client write latency (arrival to acknowledgement), mean"),
    Metric("write_latency_p50_s", "client write latency (arrival to acknowledgement), median"),
    Metric("write_latency_p99_s", "client write latency (arrival to acknowledgement), 99th percentile"),
    Metric("mirror_lag_mean_s", "replica freshness: local NVLog append to the partner's acknowledgement, mean"),
    Metric("mirror_lag_p50_s", "replica freshness: local NVLog append to the partner's acknowledgement, median"),
    Metric("mirror_lag_p99_s", "replica freshness: local NVLog append to the partner's acknowledgement, "
                               "99th percentile"),
    Metric("throughput_before_deadlock_ops_s", "acknowledged client writes per second from the window's start "
                                               "(0 if the deadlock formed in the warm-up) to the deadlock's "
                                               "formation (the whole window if none)"),
    Metric("send_queue_occupancy_mean", "send-queue slots taken (posted + reserved), time average"),
    Metric("send_queue_occupancy_max", "send-queue slots taken (posted + reserved), maximum"),
    Metric("send_queue_posted_mean", "posted send-queue slots (awaiting their completion), time average"),
    Metric("send_queue_posted_max", "posted send-queue slots, maximum"),
    Metric("send_queue_reserved_mean", "reserved, not yet posted send-queue slots, time average"),
    Metric("send_queue_reserved_max", "reserved, not yet posted send-queue slots, maximum"),
    Metric("workers_busy_mean", "busy worker threads, time average"),
    Metric("reservation_waits", "send-queue reservations that could not be granted at once"),
    Metric("reservation_wait_mean_s", "time a suspended transaction waited for its reservation, mean"),
    Metric("suspensions", "write transactions suspended for lack of send-queue slots"),
    Metric("reservations_released", "reservations handed back unused (the abort path, a write gone degraded)"),
    Metric("blocked_posts", "posts that waited for send-queue slots holding their worker (the baseline)"),
    Metric("writes_arrived", "client writes that arrived in the measured window"),
    Metric("writes_acknowledged", "client writes that arrived in the measured window and were acknowledged "
                                  "(mirrored or degraded)"),
    Metric("writes_acknowledged_degraded", "of those, acknowledged after the local append only (partner down)"),
    Metric("writes_rejected", "client writes that arrived while the primary was down"),
    Metric("writes_failed", "client writes in progress lost in a primary crash"),
    Metric("writes_in_progress", "client writes neither acknowledged nor failed at the end of the run"),
    Metric("resync_entries", "log entries the primary resynced to the partner"),
    Metric("unmirrored_entries", "log entries still missing on the partner at the end of the run"),
    Metric("lost_acknowledged_writes",
           "acknowledged writes (mirrored or degraded) missing from the partner's NVLog at its takeovers"),
    Metric("early_mirrored_acks", "writes acknowledged as mirrored before they were durable on the partner "
                                  "(a broken acknowledgement order; 0 for the mechanism)"),
    Metric("takeovers", "takeovers by the partner after a primary crash (in sync, or forced)"),
    Metric("takeovers_refused", "takeovers refused because the partner's NVLog was out of sync (an outage "
                                "until the primary is back)"),
    Metric("takeovers_impossible", "primary crashes the partner could not take over (it was down itself)"),
    Metric("writes_served_by_partner", "client writes the partner served after a takeover"),
    Metric("givebacks", "givebacks completed (the primary serves again after a takeover)"),
    Metric("unavailable_s", "time no node served client writes (whole run: primary down without a takeover "
                            "serving, takeover time, giveback)"),
    Metric("availability", "fraction of the writes arrived in the window that a node accepted (not rejected)"),
    Metric("pair_in_sync", "1 if the pair's HA state is in sync at the end of the run"),
    Metric("consistency_points", "consistency points completed (NVLog halves flushed to disk)"),
    Metric("consistency_points_interrupted", "consistency points cut short by a primary crash (their half stays "
                                             "in the NVLog: flushed again after the restart, or by the partner "
                                             "before its giveback)"),
    Metric("giveback_flushed_entries", "log entries the partner flushed to disk before its givebacks (what "
                                       "it held that no completed CP had written: the writes it served, the "
                                       "primary's entries it replayed)"),
    Metric("nvlog_backpressure_waits", "appends that waited for NVLog space (both halves full: a back-to-back CP)"),
    Metric("nvlog_backpressure_wait_mean_s", "time such an append waited for the running CP to complete, mean"),
    Metric("link_messages", "messages sent on the interconnect (both directions)"),
    Metric("rnr_naks", "mirrored messages the partner refused for lack of a receive buffer (RNR NAK, retransmitted)"),
)


def collect(system) -> dict[str, float]:
    """The metrics row of a finished run."""
    sim = system.sim
    t = sim.recorder.measured_time()  # observed span: warm-up end (or 0) to the run's end
    acked = system.c_acked.value
    latency = system.latency.summary("write_latency", "s")
    lag = system.lag.summary("mirror_lag", "s")
    span = t
    acked_in_window = acked
    before, acked_before = t, acked
    if sim.outcome.deadlock is not None:
        # up to the deadlock's formation: from the warm-up's end, or from 0 if it formed during the
        # warm-up (the counters were not reset then, so `acked` counts from 0)
        before = sim.outcome.deadlock.formed_at - (sim.recorder.warmup_end or 0.0)
        # A detected deadlock is permanent (nothing on its cycle can move again), so the run
        # stops early only to save time: the measured window stays the scenario's
        # [warm-up, duration], with no acknowledgement after the detection. Dividing by the
        # time to the detection instead would make the figure depend on the check interval.
        span = sim.duration - sim.warmup
        if sim.warmup > 0 and sim.recorder.warmup_end == 0.0:
            # deadlocked before the warm-up ended: the window holds no acknowledgement, and the
            # recorders still hold warm-up samples, which the scenario asks to leave out
            acked_in_window = 0
            latency = dict.fromkeys(latency, math.nan)
            lag = dict.fromkeys(lag, math.nan)
    busy = system.primary.busy_total()
    return {
        "throughput_ops_s": acked_in_window / span if span > 0 else math.nan,
        "throughput_before_deadlock_ops_s": acked_before / before if before > 0 else math.nan,
        **latency,
        **lag,
        **system.sq_occupancy.row(),
        "workers_busy_mean": (busy - system.busy_at_warmup) / t if t > 0 else math.nan,
        # the send queue's count of reservations it could not grant at once (the transactions'
        # own count of suspensions must agree: a transaction suspends exactly then)
        "reservation_waits": system.qp.sq.reservation_waits - system.resv_waits_at_warmup,
        "reservation_wait_mean_s": system.suspend_time.mean if system.suspend_time.n else math.nan,
        "suspensions": system.c_susp.value,
        "reservations_released": system.c_aborts.value,
        "blocked_posts": system.c_blocked.value,
        "writes_arrived": system.c_arrived.value,
        "writes_acknowledged": system.client.acked_cohort,
        "writes_acknowledged_degraded": system.client.degraded_cohort,
        "writes_rejected": system.c_rejected.value,
        "writes_failed": system.c_failed.value,
        "writes_in_progress": system.client.inflight,
        "resync_entries": system.c_resync.value,
        "unmirrored_entries": len(system.primary.unmirrored),
        "lost_acknowledged_writes": system.oracle.lost_acked,
        "early_mirrored_acks": system.oracle.early_acks,
        "takeovers": system.recovery.c_takeovers.value,
        "takeovers_refused": system.recovery.c_refused.value,
        "takeovers_impossible": system.recovery.c_impossible.value,
        "writes_served_by_partner": system.service.c_served.value,
        "givebacks": system.service.c_givebacks.value,
        "unavailable_s": system.service.unavailable_now(),
        "availability": 1.0 - system.c_rejected.value / system.c_arrived.value if system.c_arrived.value else math.nan,
        "pair_in_sync": float(system.recovery.in_sync),
        "consistency_points": system.cps.c_cps.value,
        "consistency_points_interrupted": system.cps.c_interrupted.value,
        "giveback_flushed_entries": system.service.c_gb_flushed.value,
        "nvlog_backpressure_waits": system.cps.c_waits.value,
        "nvlog_backpressure_wait_mean_s": system.cps.wait_time.mean if system.cps.wait_time.n else math.nan,
        "link_messages": system.link.messages,
        "rnr_naks": system.qp.rnr_naks,
    }
