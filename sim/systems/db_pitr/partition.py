"""A data partition (`DataPartition`): executes transactions' writes, votes in 2PC, commits.

Stands for one partition server of a scale-out database (a SAP HANA index server, a PostgreSQL
shard): a write-ahead log with group commit on a durable device, transactions' writes logged as
they execute, `PREPARE` forced before it votes yes, `COMMIT` logged only when the coordinator says
so (or when a single-partition transaction commits locally). A crash loses the log buffer and the
transactions executing; restart recovery reads the durable log: unprepared open transactions are
rolled back (abort record), prepared ones stay in doubt and the in-doubt resolver asks their
coordinator. Abstracted away: locks (transactions write disjoint rows), undo, checkpoints of pages.
"""

from __future__ import annotations

from sim.components.host import Host
from sim.systems.db_pitr.log import SINGLE, A, C, Log, P, W


class DataPartition(Host):
    """One data partition: its log, its executing and prepared transactions, its in-doubt resolver."""

    role = "partition"
    fault_kinds = ("crash",)

    def __init__(self, model, index: int) -> None:
        super().__init__(model.sim, None, f"partition[{index}]")
        self.m = model
        self.index = index
        p = model.params
        self.net = p.net_latency
        self.rb = p.record_bytes
        self.log = Log(self, p.log_force_time, model.on_partition_durable)
        self.active: set[int] = set()  # executing here: writes logged, not prepared or committed
        self.prepared: dict[int, tuple[int, float]] = {}  # in doubt: txn -> (coordinator, since)
        self.asking: set[int] = set()
        self.on_restart.append(self._restarted)

    def start(self) -> None:
        self.process(self.log.writer())
        self.process(self.in_doubt_resolver())
        self.m.start_backup(self)

    def _lose_volatile(self, reason: str) -> None:
        self.log.lose_volatile()
        self.active.clear()
        self.prepared.clear()
        self.asking.clear()

    def _restarted(self) -> None:
        """Restart recovery: roll back what was executing, keep the prepared transactions in doubt."""
        status: dict[int, tuple[int, int]] = {}
        for _t, kind, txn, info, _n in self.log.durable:
            if kind == W:
                status.setdefault(txn, (W, 0))
            elif kind == P:
                status[txn] = (P, info)
            else:
                status[txn] = (C, 0)  # commit or abort: settled
        now = self.env.now
        for txn, (kind, coord) in status.items():
            if kind == W:
                self.log_abort(txn)
            elif kind == P:
                self.prepared[txn] = (coord, now)
        self.start()

    # --- operations ---------------------------------------------------------------------------------
    def write(self, txn: int) -> None:
        """A transaction's statements here: its writes logged (not forced)."""
        self.active.add(txn)
        self.log.append(W, txn, 0, self.m.params.write_bytes)

    def log_abort(self, txn: int) -> None:
        if self.m.oracle.committed(txn):
            self.m.violation("abort_of_committed", f"{self.name} logs an abort of transaction {txn}, "
                             "which had committed", txn=txn)
        self.log.append(A, txn, 0, self.rb)

    def abort(self, txn: int):
        """The coordinator's (or client's) abort message."""
        yield self.env.timeout(self.net)
        if txn in self.active or txn in self.prepared:
            self.active.discard(txn)
            self.prepared.pop(txn, None)
            self.log_abort(txn)

    def commit_single(self, txn: int):
        """A single-partition transaction commits locally: its commit record is its commit point."""
        if txn not in self.active:
            return False
        self.active.discard(txn)
        ev = self.log.append(C, txn, SINGLE, self.rb, wait=True)
        self.m.point("db.partition.single_commit_force", self)
        ok = yield ev
        return ok

    def prepare(self, txn: int, coord: int):
        """2PC phase one at this participant: force PREPARE, then vote yes (False: vote no)."""
        yield self.env.timeout(self.net)
        if txn not in self.active:
            return False
        self.active.discard(txn)
        self.prepared[txn] = (coord, self.env.now)
        ev = self.log.append(P, txn, coord, self.rb, wait=True)
        self.m.point("db.partition.prepare_force", self)
        if not (yield ev):
            return False
        self.m.point("db.partition.prepared", self)
        yield self.env.timeout(self.net)
        return True

    def commit_prepared(self, txn: int):
        """2PC phase two at this participant: log COMMIT (the decision must already be durable)."""
        yield self.env.timeout(self.net)
        if txn in self.prepared:
            del self.prepared[txn]
            ev = self.log_commit(txn)
            self.m.point("db.partition.commit_force", self)
            if not (yield ev):
                return False
        yield self.env.timeout(self.net)
        return True

    def log_commit(self, txn: int):
        if not self.m.oracle.committed(txn):
            self.m.violation("participant_commit_before_decision", f"{self.name} logs the commit of "
                             f"transaction {txn} before its coordinator's decision is durable", txn=txn)
        return self.log.append(C, txn, 0, self.rb, wait=True)

    # --- in-doubt resolution --------------------------------------------------------------------------
    def in_doubt_resolver(self):
        """Ask the coordinator about every transaction prepared longer than `in_doubt_timeout`."""
        timeout = self.m.params.in_doubt_timeout
        while True:
            yield self.env.timeout(timeout)
            now = self.env.now
            for txn, (coord, since) in list(self.prepared.items()):
                if now - since > timeout and txn not in self.asking:
                    self.asking.add(txn)
                    self.process(self.inquire(txn, coord))

    def inquire(self, txn: int, coord: int):
        """One inquiry: the coordinator answers commit (decision durable), abort, or not yet."""
        c = self.m.coordinators[coord]
        while not c.up:
            yield c.wait_up()
        yield self.env.timeout(2 * self.net)
        self.asking.discard(txn)
        answer = c.inquire(txn) if c.up else None
        if answer is None or txn not in self.prepared:
            return
        del self.prepared[txn]
        if answer:
            self.log_commit(txn)
        else:
            self.log_abort(txn)
