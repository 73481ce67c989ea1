"""A transaction coordinator (`Coordinator`): runs two-phase commit for multi-partition transactions.

Stands for one transaction-coordinator partition of the scale-out database (SAP US 11,720,451 B2):
it keeps a control block per distributed transaction, logs a begin record with the participants,
sends PREPARE, forces its commit decision to its own log (the commit point), and only then tells
the participants to commit; after every participant has committed it logs an end record and
removes the control block. Presumed abort: no decision record means abort. A crash loses the
control blocks; restart recovery reads the log and resumes the commit phase of every decided
transaction without an end record. Abstracted away: timestamps/snapshot isolation, read-only
optimisations, coordinator replication.
"""

from __future__ import annotations

import simpy

from sim.components.base import NotRunning
from sim.components.host import Host
from sim.systems.db_pitr.log import B, D, E, Log

PREPARING, DECIDING, COMMITTED, ABORTED = range(4)


class Coordinator(Host):
    """One coordinator partition: CPU, log, control blocks, decided transactions."""

    role = "coordinator"
    fault_kinds = ("crash",)

    def __init__(self, model, index: int) -> None:
        super().__init__(model.sim, None, f"coordinator[{index}]")
        self.m = model
        self.index = index
        p = model.params
        self.rb = p.record_bytes
        self.log = Log(self, p.log_force_time, lambda rec: model.on_coordinator_durable(self, rec))
        self.cpu = simpy.Resource(self.env, capacity=p.coordinator_threads)
        self.blocks: dict[int, int] = {}  # control blocks: txn -> state
        self.decided: set[int] = set()  # decision durable in this coordinator's log
        self.on_restart.append(self._restarted)

    def start(self) -> None:
        self.process(self.log.writer())
        self.m.start_backup(self)

    def _lose_volatile(self, reason: str) -> None:
        self.log.lose_volatile()
        self.blocks.clear()
        self.decided.clear()
        self.cpu = simpy.Resource(self.env, capacity=self.m.params.coordinator_threads)

    def _restarted(self) -> None:
        """Restart recovery: decisions from the log; resume the commit phase of the unfinished ones."""
        parts: dict[int, tuple[int, ...]] = {}
        open_decided: dict[int, tuple[int, ...]] = {}
        for _t, kind, txn, info, _n in self.log.durable:
            if kind == B:
                parts[txn] = info
            elif kind == D:
                self.decided.add(txn)
                open_decided[txn] = parts.pop(txn, ())
            elif kind == E:
                open_decided.pop(txn, None)
        self.start()
        for txn, ps in open_decided.items():
            self.blocks[txn] = COMMITTED
            self.process(self.commit_phase(txn, ps))

    def on_decision_durable(self, txn: int) -> None:
        self.decided.add(txn)

    # --- two-phase commit ----------------------------------------------------------------------------
    def two_phase_commit(self, txn: int, parts: tuple[int, ...]):
        """Phase one and the decision; True once the decision is durable (then the commit phase runs)."""
        m, env = self.m, self.env
        with self.cpu.request() as req:
            yield req
            yield env.timeout(m.params.coordinator_cpu)
        self.blocks[txn] = PREPARING
        self.log.append(B, txn, parts, self.rb)
        votes = []
        for p in parts:
            part = m.partitions[p]
            try:
                votes.append(part.process(part.prepare(txn, self.index)))
            except NotRunning:
                break
        if len(votes) == len(parts):
            yield env.all_of(votes) | env.timeout(m.params.prepare_timeout)
        yes = (len(votes) == len(parts) and all(v.triggered and v.value for v in votes)
               and self.blocks.get(txn) == PREPARING)
        if not yes:
            self.blocks.pop(txn, None)
            for p in parts:
                part = m.partitions[p]
                if part.up:
                    part.process(part.abort(txn))
            return False
        if m.params.broken == "decision_after_commit":  # BROKEN on purpose: commit phase first
            self.process(self.commit_phase(txn, parts))
        self.blocks[txn] = DECIDING
        ev = self.log.append(D, txn, 0, self.rb, wait=True)
        m.point("db.coordinator.decision_force", self)
        if not (yield ev):
            return None
        self.blocks[txn] = COMMITTED
        m.point("db.coordinator.decided", self)
        if m.params.broken != "decision_after_commit":
            self.process(self.commit_phase(txn, parts))
        return True

    def commit_phase(self, txn: int, parts: tuple[int, ...]):
        """Tell every participant to commit (again after its crash), then log END, drop the block."""
        yield self.env.all_of([self.process(self.deliver_commit(txn, p)) for p in parts])
        self.m.point("db.coordinator.before_end", self)
        yield self.env.timeout(0)
        self.log.append(E, txn, 0, self.rb)
        self.blocks.pop(txn, None)

    def deliver_commit(self, txn: int, p: int):
        part = self.m.partitions[p]
        while True:
            if not part.up:
                yield part.wait_up()
            try:
                proc = part.process(part.commit_prepared(txn))
            except NotRunning:
                continue
            if (yield proc):
                return

    def inquire(self, txn: int) -> bool | None:
        """A participant's question about a transaction in doubt: commit, abort, or not yet (None)."""
        if txn in self.decided:
            return True
        state = self.blocks.get(txn)
        if state == PREPARING:
            self.blocks[txn] = ABORTED  # it will not decide commit now
            return False
        if state == DECIDING:
            return None
        return False
