"""The metrics `pmem_image` reports (`METRICS`, its metrics_spec) and their assembly from the recorders."""

from __future__ import annotations

import math

from sim.core.system import Metric

METRICS: tuple[Metric, ...] = (
    Metric("captures", "images (or copy checkpoints) completed"),
    Metric("capture_overruns", "captures still running at the next period start (the missed starts are skipped)"),
    Metric("captures_failed", "captures refused for lack of space in the memory holding images"),
    Metric("capture_pause_mean_s", "mean time the application is paused per image or copy checkpoint"),
    Metric("capture_pause_p50_s", "median application pause per image or copy checkpoint"),
    Metric("capture_pause_p99_s", "99th percentile of the application pause per image or copy checkpoint"),
    Metric("capture_pause_max_s", "longest application pause per image or copy checkpoint"),
    Metric("capture_time_mean_s", "mean time from a capture's start to its commit (background copies included)"),
    Metric("metadata_bytes_per_image", "index bytes written per image (entries x entry size)"),
    Metric("metadata_bytes_per_image_p50", "median index bytes written per image"),
    Metric("metadata_write_rate_bytes_s", "index bytes written per second: captures' indexes + merged full indexes"),
    Metric("metadata_bytes_total", "index bytes held by the retained images (time average)"),
    Metric("metadata_bytes_total_max", "most index bytes held by the retained images at any time"),
    Metric("copy_bytes_per_checkpoint", "data bytes copied per checkpoint (images: 0, except the mixed write-back)"),
    Metric("kept_version_bytes", "memory held by page versions only images reference (time average)"),
    Metric("kept_version_bytes_max", "most memory held by page versions only images reference"),
    Metric("restore_time_s", "time to restore the latest image (or checkpoint) into a process"),
    Metric("restore_chain_length", "images (checkpoints) a restore of the latest one walked (mean)"),
    Metric("clone_time_s", "time to clone a process from a random retained image"),
    Metric("recovery_time_s", "restart-to-running time: restore the latest usable image + replay the log"),
    Metric("log_replay_time_s", "the log-replay part of a recovery"),
    Metric("rpo_s", "age of the image recovery started from, at the failure"),
    Metric("rpo_with_log_s",
           "age of the oldest write lost with the unpersisted log tail, at the failure (0: nothing lost)"),
    Metric("cow_faults", "copy-on-write faults taken by the application"),
    Metric("cow_slowdown", "application running time with / without copy-on-write fault stalls"),
    Metric("app_pause_fraction", "fraction of the measured time the application was paused by captures"),
    Metric("writes", "page writes applied"),
    Metric("write_throughput_ops_s", "page writes applied per second"),
    Metric("writes_refused", "writes refused because the write queue was full (back-pressure)"),
    Metric("write_latency_mean_s", "mean write latency: arrival to acknowledgement (queueing included)"),
    Metric("write_latency_p50_s", "median write latency (queueing behind pauses and copy-on-write stalls)"),
    Metric("write_latency_p99_s", "99th percentile of the write latency"),
    Metric("write_latency_max_s", "longest write latency"),
    Metric("log_write_rate_bytes_s", "application log bytes written per second (writes x record size)"),
    Metric("writes_lost", "writes whose log records were not yet persisted at a failure (never acknowledged)"),
    Metric("images_lost", "images whose index or commit record did not survive a node crash or power loss"),
    Metric("corruption_detected", "damaged images or checkpoints detected by their checksum"),
    Metric("recoveries", "recoveries that restored an image (checkpoint) and replayed the log"),
    Metric("recoveries_failed", "recoveries with nothing to restore from (the application restarted empty)"),
    Metric("restores_verified", "restores and clones equal to the oracle, page by page"),
    Metric("reclaim_time_s", "CPU time of one reclaim (entries touched x entry cost), mean"),
    Metric("pages", "pages of application memory"),
)


def collect(m) -> dict[str, float]:
    """The metrics row of model `m`, from its recorders (measured after the warm-up)."""
    w = m.w
    span = m.sim.recorder.measured_time()
    paused = m.paused_gauge.mean() * span
    down = m.down_gauge.mean() * span
    cow = m.cow_gauge.mean() * span
    running = span - paused - down
    nan = math.nan

    def mean(t):
        return t.mean if t.n else nan

    pause = m.pause_tally
    return {
        "captures": m.captures.value,
        "capture_overruns": m.capture_overruns.value,
        "captures_failed": m.captures_failed.value,
        "capture_pause_mean_s": mean(pause),
        "capture_pause_p50_s": pause.percentile(50) if pause.n else nan,
        "capture_pause_p99_s": pause.percentile(99) if pause.n else nan,
        "capture_pause_max_s": pause.max if pause.n else nan,
        "capture_time_mean_s": mean(m.capture_time_tally),
        "metadata_bytes_per_image": mean(m.meta_tally),
        "metadata_bytes_per_image_p50": m.meta_tally.percentile(50) if m.meta_tally.n else nan,
        "metadata_write_rate_bytes_s": m.meta_written.value / span if span > 0 else nan,
        "metadata_bytes_total": m.meta_gauge.mean(),
        "metadata_bytes_total_max": m.meta_gauge.max,
        "copy_bytes_per_checkpoint": mean(m.copy_bytes_tally),
        "kept_version_bytes": m.kept_gauge.mean(),
        "kept_version_bytes_max": m.kept_gauge.max,
        "restore_time_s": mean(m.restore_tally),
        "restore_chain_length": mean(m.chain_tally),
        "clone_time_s": mean(m.clone_tally),
        "recovery_time_s": mean(m.recovery_tally),
        "log_replay_time_s": mean(m.replay_tally),
        "rpo_s": mean(m.rpo_tally),
        "rpo_with_log_s": mean(m.rpo_log_tally),
        "cow_faults": m.cow_faults.value,
        "cow_slowdown": running / (running - cow) if running > cow > 0 else 1.0,
        "app_pause_fraction": paused / span if span > 0 else nan,
        "writes": m.writes.value,
        "write_throughput_ops_s": m.writes.value / span if span > 0 else nan,
        "writes_refused": m.writes_refused.value,
        "write_latency_mean_s": m.latency.mean(),
        "write_latency_p50_s": m.latency.percentile(50),
        "write_latency_p99_s": m.latency.percentile(99),
        "write_latency_max_s": m.latency.top(),
        "log_write_rate_bytes_s": m.writes.value * w.log_record_size / span if span > 0 else nan,
        "writes_lost": m.writes_lost.value,
        "images_lost": m.images_lost.value,
        "corruption_detected": m.corruption_detected.value,
        "recoveries": m.recoveries.value,
        "recoveries_failed": m.recoveries_failed.value,
        "restores_verified": m.restores_verified.value,
        "reclaim_time_s": mean(m.reclaim_tally),
        "pages": float(m.n_pages),
    }
