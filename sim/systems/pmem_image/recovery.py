"""What a failure destroys, and the `recoverer` that brings the application back after it.

A process crash loses the process's address space, the capture in progress and the log records
not yet persisted (their writes were never acknowledged); the images survive (the OS holds them
in DRAM or PMEM). A node crash (reboot) or power loss also loses DRAM, and with it every image
kept there; a power loss also loses PMEM's unpersisted stores. When the last cause heals, the
`recoverer` restores the newest usable image (or checkpoint), replays the durable log since it and
checks the result against the oracle's memory at the failure.

Actors in flight when a failure strikes (a capture's device write, a restore) finish their
device I/O and then notice, through `m.epoch`, that the application they worked for is gone.
"""

from __future__ import annotations

import numpy as np

from sim.systems.pmem_image.frames import FRAME, last_writes
from sim.systems.pmem_image.restore import attempt_restore


def process_failed(m) -> None:
    """The application's process died now: its mapping, the capture in progress and the log tail are gone."""
    now = m.env.now
    app = m.app
    first = app.up
    m.epoch += 1
    app.up = False
    app.pauses = 0
    m.paused_gauge.set(0.0)
    m.cow_gauge.set(0.0)
    m.down_gauge.set(1.0)
    if first:
        app.failed_at = now
    m.scheme.drop_incomplete()  # the capture or copy in progress never completes
    # log records not yet persisted are lost: those writes were never acknowledged
    lost_pages, lost_versions, lost_times = m.log.lose_unflushed()
    m.writes_lost.inc(len(lost_pages))
    m.wq.clear()  # queued writes were never served nor acknowledged: their clients see the failure
    m.oracle.forget_unacknowledged(lost_pages, lost_versions)
    if first:
        m.rpo_log_pending = now - float(lost_times[0]) if len(lost_pages) else 0.0
        m.expected_at_failure = m.oracle.truth.copy()
    if m.frames.mapped:
        m.frames.drop_live()  # the process's address space is gone


def node_memory_lost(m, power: bool) -> None:
    """The node rebooted (crash) or lost power: DRAM is gone (and PMEM's unpersisted stores with power)."""
    m.dram.power_loss()
    if power:
        m.pmem.power_loss()
    m.scheme.lose_memory(power)


def recoverer(m, epoch: int):
    """Restore the latest usable image (checkpoint), replay the durable log, resume the application."""
    env, p, scheme, app = m.env, m.params, m.scheme, m.app
    t0 = env.now
    fail_t = app.failed_at if app.failed_at is not None else t0
    expected = m.expected_at_failure
    chosen = None
    versions = None
    for cand in list(reversed(scheme.points())):
        if not scheme.retained(cand):
            continue
        got = yield from attempt_restore(scheme, cand)
        if got is None:
            continue
        versions = got[0]
        if epoch != m.epoch:
            return
        chosen = cand
        break
    if epoch != m.epoch:
        return
    frames = m.frames
    if chosen is None:
        # nothing to restore from: the application restarts with empty memory
        m.recoveries_failed.inc()
        scheme.drop_all()
        frames.map_copy(np.zeros(m.n_pages, dtype=FRAME))
        frames.dirty[:] = True
        m.oracle.truth[:] = 0
        m.log.truncate(m.log.end)
        m.log.durable = m.log.end
        m.need_full = True
        m.rpo_tally.record(fail_t)
        m.sim.note("recovery_failed", reason="no usable image or checkpoint")
        back_up(m)
        return
    # the restored process: the chosen point's pages, then the durable log since it
    newer = scheme.drop_newer_than(chosen)
    scheme.install(chosen, versions)
    frames.dirty[:] = False  # the dirty set now counts from the chosen point, the newest one kept
    m.need_full = False
    if newer:
        m.sim.note("newer_points_dropped", count=newer)
    pages, vers = m.log.records(chosen.log_pos, m.log.durable)
    n_records = len(pages)
    up, uv = last_writes(pages, vers)
    frames.write(up, uv)
    t_replay = env.now
    if n_records:
        yield from m.log_mem.read(n_records * m.w.log_record_size)
        yield env.timeout(n_records / p.log_replay_rate)
    if epoch != m.epoch:
        return
    m.replay_tally.record(env.now - t_replay)
    got = frames.versions()
    bad = m.oracle.differing(got, expected) if expected is not None else 0
    if bad:
        m.violation_log.add(
            "recovery_equals_failure_state",
            f"recovery from {chosen.seq} (t={chosen.time:.6g}s) + {n_records} log records: "
            f"{bad} pages differ from memory at the failure (t={fail_t:.6g}s)",
            env.now,
        )
    m.oracle.truth[:] = got if not bad else expected
    m.recoveries.inc()
    m.recovery_tally.record(env.now - t0)
    m.rpo_tally.record(fail_t - chosen.time)
    m.rpo_log_tally.record(m.rpo_log_pending)
    m.kept_gauge.set(frames.kept_frames * p.page_size)
    m.sim.note("recovered", from_seq=chosen.seq, records_replayed=n_records, recovery_time_s=env.now - t0)
    back_up(m)


def back_up(m) -> None:
    """The application runs again; requests that arrived while it was down were refused."""
    app = m.app
    app.up = True
    app.failed_at = None
    app.t_arrivals = m.env.now
    app.pause_log.clear()
    m.wq.free_at = m.env.now
    m.down_gauge.set(0.0)
    app.wake()
