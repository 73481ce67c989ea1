"""The restore hosts of a point-in-time recovery and the jobs they run.

A `RestoreHost` is a fresh machine the restore runs on (one per data partition, one per
coordinator), like the new cluster a TiDB `br restore point` or a HANA recovery fills. Its job
(`replay_job`): download its log's chained segments that start before the recovered point
(`restore_parallelism` GETs at a time), replay the records durable before the point at
`replay_rate` bytes/s, and build its state. A data partition's state: transactions committed,
open without a prepare record (`unprepared`), prepared without an outcome (`in_doubt`, with their
coordinator). A coordinator's: its commit decisions, and the transactions it began without
deciding. A crash loses it all; the supervisor (`supervise`) runs the job again after the restart.
"""

from __future__ import annotations

import simpy

from sim.components.base import CorruptData, NoSuchKey, NotRunning
from sim.components.host import Host
from sim.systems.db_pitr.backup import REFUSED, parse_segment
from sim.systems.db_pitr.log import B, C, D, P, W


class RestoreHost(Host):
    """A restore target: the replayed state of one partition's or one coordinator's log."""

    fault_kinds = ("crash",)

    def __init__(self, model, name: str, log_name: str, role: str) -> None:
        super().__init__(model.sim, None, name)
        self.m = model
        self.log_name = log_name
        self.role = role
        self._clear()
        self.on_restart.append(self._restarted)

    def _clear(self) -> None:
        self.finished = False  # a restored partition that finished is a database on disk: a crash keeps it
        self.ready = False
        self.applied: set[int] = set()
        self.unprepared: set[int] = set()
        self.in_doubt: dict[int, int] = {}
        self.decided: set[int] = set()
        self.undecided: set[int] = set()
        self.replayed_bytes = 0.0

    def _lose_volatile(self, reason: str) -> None:
        if not self.finished:
            self._clear()

    def _restarted(self) -> None:
        pitr = self.m.pitr
        if self.role == "coordinator" and pitr is not None and pitr.phase == "resolve":
            # a coordinator that answers must have recovered to the point again first
            self.m.env.process(supervise(self, lambda: replay_job(self.m, self, pitr.keys[self.log_name],
                                                                  pitr.point_of(self))))


def supervise(host: Host, job):
    """Run `job()` on `host` until it completes (again after each crash of the host)."""
    while True:
        if not host.up:
            yield host.wait_up()
        try:
            proc = host.process(job())
        except NotRunning:
            continue
        res = yield proc
        if res is not None:
            return res


def _get(m, sem: simpy.Resource, key: str):
    """One segment GET; None if it is lost or corrupt; retried while the store refuses requests."""
    while True:
        with sem.request() as req:
            yield req
            try:
                obj = yield from m.store.get(key)
                return obj.value
            except (NoSuchKey, CorruptData):
                return None
            except REFUSED:
                pass
        yield m.env.timeout(m.params.query_retry)


def replay_job(m, host: RestoreHost, keys: list[str], point: float):
    """Download and replay one log up to `point`. Returns (covered up to, keys found unreadable)."""
    env, p = m.env, m.params
    host._clear()
    needed = [k for k in keys if float(parse_segment(k)[1]) < point]
    sem = simpy.Resource(env, capacity=p.restore_parallelism)
    procs = [env.process(_get(m, sem, k)) for k in needed]
    if procs:
        yield env.all_of(procs)
    covered, records, bad = 0.0, [], []
    for k, proc in zip(needed, procs, strict=True):
        if proc.value is None:
            bad.append(k)
            break
        since, end, recs = proc.value
        records.append(recs)
        covered = end
    if not needed:
        covered = point
    m.point(f"db.restore.{host.role}_replay", host)
    nbytes = 0.0
    status: dict[int, int] = {}
    for recs in records:
        for t, kind, txn, info, n in recs:
            if t >= point:
                break
            nbytes += n
            if kind == W:
                status.setdefault(txn, -1)
            elif kind == P:
                status[txn] = info
            elif kind == C:
                status[txn] = -2
                host.applied.add(txn)
            elif kind == B:
                status[txn] = -3
            elif kind == D:
                status[txn] = -2
                host.decided.add(txn)
            else:
                status[txn] = -4  # abort or end: settled
    yield env.timeout(nbytes / p.replay_rate)
    host.replayed_bytes = nbytes
    for txn, s in status.items():
        if s == -1:
            host.unprepared.add(txn)
        elif s >= 0:
            host.in_doubt[txn] = s
        elif s == -3:
            host.undecided.add(txn)
    host.ready = True
    return covered, bad
