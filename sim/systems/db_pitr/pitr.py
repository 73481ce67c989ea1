"""The point-in-time restore (`Pitr.run`): catalog, safety threshold, replay, in-doubt resolution.

Stands for the restore tool of the scale-out database (HANA's recovery to a point in time, TiDB's
`br restore point`): at `restore_at` of the run it is asked for the database as of T.

1. Catalog: one LIST per log; each log's chain of segments from time 0 gives the time its log is
   complete up to. The safety threshold is the min over partitions and coordinators (TiDB's global
   checkpoint ts); the recovered point is min(T, threshold) (the variant decides).
2. Replay: every restore host downloads and replays its log up to the point, in parallel. A
   segment found lost or corrupt lowers that log's coverage: the restore falls back to an earlier
   point (a new catalog, without the unreadable keys) — never to an inconsistent one.
3. Resolution, on each restore partition: open transactions without a prepare record (a
   single-partition transaction, or a distributed one not yet prepared) are aborted; prepared ones
   without an outcome are in doubt: the partition asks their coordinator, recovered to the same
   point, which answers from its own log (decision before the point: commit; otherwise abort).
   The coordinators then abort whatever they began and did not decide.
Then the recovered database is checked against the oracle (`DbPitr.check_recovered`).
"""

from __future__ import annotations

from sim.systems.db_pitr.backup import REFUSED, chain
from sim.systems.db_pitr.restore import RestoreHost, replay_job, supervise


class Pitr:
    """One point-in-time restore of the whole database."""

    def __init__(self, model) -> None:
        self.m = model
        self.phase = "waiting"
        self.keys: dict[str, list[str]] = {}
        self.points: dict[str, float] = {}
        self.bad: set[str] = set()
        self.requested = float("nan")
        self.point = float("nan")
        self.threshold = float("nan")
        self.true_threshold = float("nan")
        self.started = float("nan")
        self.duration = float("nan")
        self.fallbacks = 0
        self.queries = 0
        self.in_doubt = 0
        self.unprepared_aborted = 0
        self.coordinator_aborts = 0

    def point_of(self, host: RestoreHost) -> float:
        return self.points[host.log_name]

    def hosts(self) -> list[RestoreHost]:
        m = self.m
        return m.restore_partitions + (m.restore_coordinators if m.variant.restores_coordinators else [])

    def run(self, at: float, requested: float):
        """The restore tool's process."""
        m, env = self.m, self.m.env
        yield env.timeout(at)
        self.requested, self.started = requested, env.now
        m.sim.note("pitr_start", requested_point_s=requested)
        while True:
            self.phase = "catalog"
            hosts = self.hosts()
            lists = [env.process(self._catalog(h.log_name)) for h in hosts]
            yield env.all_of(lists)
            covered = {h.log_name: proc.value[0] for h, proc in zip(hosts, lists, strict=True)}
            self.threshold = min(covered.values())
            self.true_threshold = min(proc.value[1] for proc in lists)
            self.points = m.variant.points(requested, covered, m.params.broken != "no_threshold_clamp")
            m.point("db.pitr.threshold_chosen", None)
            self.phase = "replay"
            procs = [env.process(supervise(h, self._replay(h))) for h in hosts]
            yield env.all_of(procs)
            bad = [k for proc in procs for k in proc.value[1]]
            if bad and m.params.broken != "no_threshold_clamp":
                self.bad.update(bad)
                self.fallbacks += 1
                continue
            self.phase = "resolve"
            procs = [env.process(supervise(h, self._resolve(h))) for h in m.restore_partitions]
            yield env.all_of(procs)
            if all(proc.value for proc in procs):
                break
            self.fallbacks += 1  # a segment vanished while resolving: read the catalog again
        self.in_doubt = sum(len(h.in_doubt) for h in m.restore_partitions)
        self.unprepared_aborted = sum(len(h.unprepared) for h in m.restore_partitions)
        if m.variant.restores_coordinators:
            self.coordinator_aborts = sum(len(c.undecided) for c in m.restore_coordinators)
        self.point = min(self.points.values())
        self.phase = "done"
        self.duration = env.now - self.started
        m.sim.note("pitr_done", recovered_point_s=self.point, recovery_time_s=self.duration)
        m.check_recovered()

    def _catalog(self, log: str):
        """LIST one log's segments (retried while the store refuses); (coverage, the oracle's coverage
        of that log at the same instant, from what was uploaded and is still readable)."""
        m = self.m
        while True:
            try:
                keys = yield from m.store.list(log + "/")
                break
            except REFUSED:
                yield m.env.timeout(m.params.query_retry)
        covered, self.keys[log] = chain(k for k in keys if k not in self.bad)
        return covered, m.truth.threshold(m.store, [log])

    def _replay(self, host: RestoreHost):
        return lambda: replay_job(self.m, host, self.keys[host.log_name], self.points[host.log_name])

    def _resolve(self, host: RestoreHost):
        return lambda: self.resolve_job(host)

    def resolve_job(self, host: RestoreHost):
        """Resolve the open transactions of one restored partition (after replaying again if it crashed)."""
        m = self.m
        if not host.ready:
            _covered, bad = yield from replay_job(m, host, self.keys[host.log_name], self.points[host.log_name])
            if bad and m.params.broken != "no_threshold_clamp":
                self.bad.update(bad)
                return False
        m.point("db.restore.resolve", host)
        yield m.env.timeout(0)
        if m.params.broken == "keep_single_in_doubt":  # BROKEN on purpose: open unprepared work kept
            host.applied |= host.unprepared
        if not host.in_doubt or not m.variant.restores_coordinators or m.params.broken == "no_coordinator_query":
            host.finished = True  # nothing to ask, or presumed abort decided alone
            return True
        groups: dict[int, list[int]] = {}
        for txn, c in host.in_doubt.items():
            groups.setdefault(c, []).append(txn)
        env = m.env
        yield env.all_of([host.process(self.query(host, c, txns)) for c, txns in sorted(groups.items())])
        host.finished = True
        return True

    def query(self, host: RestoreHost, c: int, txns: list[int]):
        """Ask restored coordinator `c` about `txns`: commit iff its log has their decision before the point."""
        m = self.m
        coord, link = m.restore_coordinators[c], m.recovery_links[c]
        env, net, retry = m.env, m.params.net_latency, m.params.query_retry
        early = m.params.broken == "answer_before_recovery"  # BROKEN on purpose: no wait for its replay
        while True:
            if link.up and coord.up and (coord.ready or early):
                m.point("db.restore.coordinator_answer", coord)
                yield env.timeout(2 * net)
                if link.up and coord.up and (coord.ready or early):
                    break
            else:
                yield env.timeout(retry)
        self.queries += len(txns)
        decided = coord.decided
        for txn in txns:
            if txn in decided:
                host.applied.add(txn)
