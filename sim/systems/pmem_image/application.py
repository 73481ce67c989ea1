"""The application: its run state, the `application_writer` and the `log_flusher`.

The application serves page writes (Poisson arrivals, the workload's key popularity) from a
bounded queue (`write_queue.py`) and logs each write (one record per write): a synchronous log
persists the record on the write path before the write is acknowledged (its cost,
`log_service_time`, is what limits throughput: a log on an SSD at 38k write IOPS cannot take
100k records/s); with group commit the `log_flusher` persists the records periodically and a
write is acknowledged when its group is durable. Only its stalls are modelled (capture pauses,
copy-on-write faults, downtime), not its compute.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.systems.pmem_image.durability import log_fence
from sim.systems.pmem_image.frames import last_writes, per_write_versions


class Application:
    """Whether the application runs: `up` (false from a failure until its recovery ends) and paused by captures."""

    __slots__ = ("env", "up", "pauses", "paused_gauge", "failed_at", "t_arrivals", "_resume_ev", "paused_at",
                 "pause_log")

    def __init__(self, env: simpy.Environment, paused_gauge) -> None:
        self.env = env
        self.up = True
        self.pauses = 0
        self.paused_gauge = paused_gauge
        self.failed_at: float | None = None  # instant of the failure being recovered from
        self.t_arrivals = 0.0  # arrivals before this instant have been applied (or refused)
        self._resume_ev: simpy.Event | None = None
        self.paused_at = 0.0
        self.pause_log: list[tuple[float, float]] = []  # pauses ended since the writer last served

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
        if self.pauses == 0:
            self.paused_at = self.env.now
        self.pauses += 1
        self.paused_gauge.set(1.0)

    def resume(self) -> None:
        if self.pauses == 0:
            return
        self.pauses -= 1
        if self.pauses == 0:
            self.paused_gauge.set(0.0)
            self.pause_log.append((self.paused_at, self.env.now))
        self.wake()


def application_writer(m):
    """The application: Poisson page writes through a bounded queue, each logged then stored.

    Every `write_tick` the writer admits the arrivals since the last tick (refusing those that
    find the queue full), serves the queue in order at one log persist per write (not while a
    capture pauses the application) and applies the writes served, in arrival order; a write to a
    frame an image holds stalls the writer for the copy-on-write fault and the page copy over the
    memory's bandwidth. Writes arriving while the application is down are refused.
    """
    env, p, app = m.env, m.params, m.app
    rng = m.sim.rng("pmem_image.arrivals")
    rate, tick = m.w.write_rate, p.write_tick
    sync_log = p.log_flush_interval == 0
    cow_cost = p.cow_fault_cost
    page_size = p.page_size
    frames, oracle, log, wq, hist = m.frames, m.oracle, m.log, m.wq, m.latency
    service = m.write_service_s
    running, wait_running = app.running, app.wait_running
    sampler, live_read, live_write = m.page_sampler, m.live_mem.read, m.live_mem.write
    writes, refused, cow_faults, kept_gauge, cow_gauge = m.writes, m.writes_refused, m.cow_faults, m.kept_gauge, m.cow_gauge
    while True:
        yield env.timeout(tick)
        if not running():
            yield from wait_running()
        now = env.now
        t_from = app.t_arrivals
        n = int(rng.poisson(rate * (now - t_from)))
        app.t_arrivals = now
        if n:
            refused.inc(wq.admit(t_from + np.sort(rng.random(n)) * (now - t_from)))
        if not len(wq):
            app.pause_log.clear()
            continue
        # serve in order up to each pause's start, then from its end, then up to now
        start, done = wq.free_at, []
        for p0, p1 in app.pause_log:
            c = wq.completions(start, service)
            k = int(np.searchsorted(c, p0, side="right"))
            if k:
                done.append((wq.pop(k), c[:k]))
            start = max(start, p1)
        app.pause_log.clear()
        c = wq.completions(start, service)
        k = int(np.searchsorted(c, now, side="right"))
        if k:
            done.append((wq.pop(k), c[:k]))
            wq.free_at = float(c[k - 1])
        else:
            wq.free_at = max(start, wq.free_at)
        if not done:
            continue
        arrived = np.concatenate([a for a, _ in done]) if len(done) > 1 else done[0][0]
        completed = np.concatenate([c for _, c in done]) if len(done) > 1 else done[0][1]
        n = len(arrived)
        pages = sampler(n)
        versions = per_write_versions(oracle.truth, pages)
        up, uv = last_writes(pages, versions)
        oracle.truth[up] = uv
        log.append(pages, versions, arrived, durable=sync_log)
        cow = frames.write(up, uv)
        writes.inc(n)
        if cow:
            cow_faults.inc(cow)
            kept_gauge.set(frames.kept_frames * page_size)
            cow_gauge.set(1.0)
            t_stall = env.now
            yield env.timeout(cow * cow_cost)
            yield from live_read(cow * page_size)  # the page copy: read the shared frame, write the fresh one
            yield from live_write(cow * page_size)
            cow_gauge.set(0.0)
            stall = env.now - t_stall
            # the faults are spread over the batch: each write waits for the stalls before it
            completed = completed + stall * (np.arange(1, n + 1) / n)
            wq.free_at = max(wq.free_at + stall, env.now)
        if sync_log:
            hist.record(completed - arrived)


def acknowledge(m, upto: int) -> None:
    """The log is durable up to position `upto`: with group commit, the writes before it are acknowledged now."""
    log = m.log
    lo = max(log.durable, log.base)
    upto = min(upto, log.end)
    if upto <= lo:
        return
    if m.params.log_flush_interval > 0:
        m.latency.record(m.env.now - log.times[lo - log.base : upto - log.base])
    log.durable = upto


def log_flusher(m):
    """Group commit: every `log_flush_interval` (at a random phase) the records appended so far are persisted."""
    env, p, app = m.env, m.params, m.app
    log = m.log
    # its timer's phase against the capture period is not something a deployment controls: drawn
    yield env.timeout(p.log_flush_interval * float(m.sim.rng("pmem_image.log_flusher").random()))
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
            acknowledge(m, upto)


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
        acknowledge(m, pos)
