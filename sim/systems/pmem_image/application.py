"""The application: its run state, the `application_writer` and the `log_flusher`.

The application writes pages (Poisson arrivals, the workload's key popularity) and logs each
write (one record per write) before acknowledging it; with group commit the `log_flusher`
persists the records periodically instead. Only its stalls are modelled (capture pauses,
copy-on-write faults, downtime), not its compute.
"""

from __future__ import annotations

import simpy

from sim.systems.pmem_image.durability import log_fence
from sim.systems.pmem_image.frames import last_writes, per_write_versions


class Application:
    """Whether the application runs: `up` (false from a failure until its recovery ends) and paused by captures."""

    __slots__ = ("env", "up", "pauses", "paused_gauge", "failed_at", "t_arrivals", "_resume_ev")

    def __init__(self, env: simpy.Environment, paused_gauge) -> None:
        self.env = env
        self.up = True
        self.pauses = 0
        self.paused_gauge = paused_gauge
        self.failed_at: float | None = None  # instant of the failure being recovered from
        self.t_arrivals = 0.0  # arrivals before this instant have been applied (or refused)
        self._resume_ev: simpy.Event | None = None

    def running(self) -> bool:
        return self.up and self.pauses == 0

    def wait_running(self):
        while not (self.up and self.pauses == 0):
            if self._resume_ev is None:
                self._resume_ev = self.env.event()
            yield self._resume_ev

    def wake(self) -> None:
        if self.up and self.pauses == 0 and self._resume_ev is not None:
            ev, self._resume_ev = self._resume_ev, None
            ev.succeed()

    def pause(self) -> None:
        self.pauses += 1
        self.paused_gauge.set(1.0)

    def resume(self) -> None:
        self.pauses = max(0, self.pauses - 1)
        if self.pauses == 0:
            self.paused_gauge.set(0.0)
        self.wake()


def application_writer(m):
    """The application: Poisson page writes; each write is logged, then stored (copy-on-write if kept).

    Writes arriving in one `write_tick` are applied together at its end, in arrival order; writes
    arriving while the application is down are refused. A write to a frame an image holds stalls
    the application for the copy-on-write fault and the page copy over the memory's bandwidth.
    """
    env, p, app = m.env, m.params, m.app
    rng = m.sim.rng("pmem_image.arrivals")
    rate, tick = m.w.write_rate, p.write_tick
    sync_log = p.log_flush_interval == 0
    cow_cost = p.cow_fault_cost
    page_size = p.page_size
    frames, oracle, log = m.frames, m.oracle, m.log
    running, wait_running = app.running, app.wait_running
    sampler, live_write = m.page_sampler, m.live_mem.write
    writes, cow_faults, kept_gauge, cow_gauge = m.writes, m.cow_faults, m.kept_gauge, m.cow_gauge
    while True:
        yield env.timeout(tick)
        if not running():
            yield from wait_running()
        now = env.now
        n = int(rng.poisson(rate * (now - app.t_arrivals)))
        app.t_arrivals = now
        if n == 0:
            continue
        pages = sampler(n)
        versions = per_write_versions(oracle.truth, pages)
        up, uv = last_writes(pages, versions)
        oracle.truth[up] = uv
        log.append(pages, versions, now, durable=sync_log)
        cow = frames.write(up, uv)
        writes.inc(n)
        if cow:
            cow_faults.inc(cow)
            kept_gauge.set(frames.kept_frames * page_size)
            cow_gauge.set(1.0)
            yield env.timeout(cow * cow_cost)
            yield from live_write(cow * page_size)
            cow_gauge.set(0.0)


def log_flusher(m):
    """Group commit: every `log_flush_interval` the records appended so far are persisted."""
    env, p, app = m.env, m.params, m.app
    log = m.log
    while True:
        yield env.timeout(p.log_flush_interval)
        if not app.up:
            continue
        epoch, upto = m.epoch, log.end
        nbytes = (upto - log.durable) * m.w.log_record_size
        if nbytes <= 0:
            continue
        m.sim.fault_point("pmem.log.group_commit_start")
        yield from m.log_mem.write(nbytes)
        m.sim.fault_point("pmem.log.group_commit_written")
        if p.log_device == "pmem":
            yield from log_fence(m)
        if epoch == m.epoch:
            log.durable = max(log.durable, min(upto, log.end))


def flush_log_to(m, pos: int, epoch: int):
    """Write-ahead rule of a capture: the log is made durable up to the point's position first.

    An image (or copy) holds every write before its log position; with group commit some of
    those records may not be durable yet, and a failure would then un-acknowledge writes the
    completed point still holds (recovery would resurrect them). The capture forces the group
    commit of those records within its pause.
    """
    log = m.log
    if log.durable >= pos:
        return
    yield from m.log_mem.write((pos - log.durable) * m.w.log_record_size)
    m.sim.fault_point("pmem.capture.log_forced")
    if m.params.log_device == "pmem":
        yield from log_fence(m)
    if epoch == m.epoch:
        log.durable = max(log.durable, min(pos, log.end))
