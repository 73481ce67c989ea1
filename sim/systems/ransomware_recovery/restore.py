"""Copying records back to the rebuilt primary, and measuring the read path.

`Copier` is the restore agent's copy-back (real behaviour: a restore service on its own host
copies the data set back in batches of `restore_batch` records, `restore_parallelism` batches
at once, recording each finished batch durably so that after a crash of the agent it resumes
where it stopped). Each batch is read from its source (split_backup: the context entries and
their critical fields, record by record reassembled; periodic_backup: the backup images), then
written to the primary; per record the copy is exact (arrays). In split_backup applications keep
writing during the copy (to the stores): after each batch the copier compares the versions it
copied with the stores' and copies again the records written meanwhile, and writes to finished
batches are queued for copying again, until a final pass with writes held.
`read_probe` is `probe_readers` closed-loop readers for `probe_window`: normal reads from the
primary, or degraded reads from the context store with tags resolved against the critical store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.systems.ransomware_recovery.nodes import batch_io
from sim.systems.ransomware_recovery.oracle import LOST

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery

P = "ransomware_recovery.restore."


class SplitSource:
    """Records reassembled from the context store and the critical store."""

    def __init__(self, system: RansomwareRecovery) -> None:
        self.system = system

    def read(self, ids: np.ndarray, random: bool):
        s = self.system
        env, p, stores = s.env, s.params, s.stores
        n = len(ids)
        crit = stores.critical_bytes_of(ids)
        ctx = n * s.layout.record_size - crit + crit / s.layout.field_size * p.tag_size
        cmds = n if random else max(1, int(ctx // p.extent_size) + 1)
        for node in (s.context_store, s.vault):
            if not node.up:
                yield node.wait_up()
        yield from batch_io(env, s.context_store.disk, ctx, cmds, write=False)
        if crit:
            if p.vault_rtt:
                yield env.timeout(p.vault_rtt)
            if random:  # each tag resolved by its own request (claim 4), the record's tags issued together
                yield from s.vault_server.resolve(int(round(crit / s.layout.field_size)))
            else:  # a batch of consecutive records: a range scan of the critical store, at its bandwidth
                yield from batch_io(env, s.vault.disk, crit, cmds, write=False)
        return stores.read_records(ids), stores.ctx_ver[ids].copy()

    def version_now(self, ids: np.ndarray) -> np.ndarray:
        return self.system.stores.ctx_ver[ids]


class ImageSource:
    """Records as a restore point holds them (the backup target's images), computed at restore start."""

    def __init__(self, system: RansomwareRecovery, values: np.ndarray) -> None:
        self.system = system
        self.values = values

    def read(self, ids: np.ndarray, random: bool):
        s = self.system
        node = s.backup_node
        if not node.up:
            yield node.wait_up()
        nbytes = len(ids) * s.layout.record_size
        yield from batch_io(s.env, node.disk, nbytes, max(1, int(nbytes // s.params.extent_size) + 1), write=False)
        vals = self.values[ids].copy()
        return vals, vals

    def version_now(self, ids: np.ndarray) -> np.ndarray:
        return self.values[ids]


class Copier:
    """The copy-back: batches handed to `restore_parallelism` workers on the restore agent."""

    def __init__(self, system: RansomwareRecovery, source, on_done) -> None:
        self.system = system
        self.source = source
        self.on_done = on_done
        b = system.params.restore_batch
        self.batch = b
        self.n_batches = -(-system.layout.records // b)
        self.done = np.zeros(self.n_batches, dtype=bool)  # durable progress
        self.dirty: list[np.ndarray] = []  # durable: records to copy again
        self.queue: list[int] = []
        self.active = 0
        self.finished = False
        self.recopied = 0

    def start(self) -> None:
        """(Re)start on the restore agent: the batches not recorded done, then the dirty records."""
        agent = self.system.agent
        if self.finished or not agent.up or self.active > 0:
            return  # done, down, or already running (the agent's restart and the run book both start it)
        self.queue = [int(b) for b in np.flatnonzero(~self.done)]
        self.active = self.system.params.restore_parallelism
        for _ in range(self.active):
            agent.process(self.worker())

    def written(self, ids: np.ndarray) -> None:
        """Applications wrote `ids` (to the stores): those in finished batches are copied again."""
        if self.system.params.broken == "skip_recopy":  # BROKEN on purpose
            return
        again = ids[self.done[ids // self.batch]]
        if len(again):
            self.dirty.append(again)

    def worker(self):
        try:
            while self.queue:
                b = self.queue.pop(0)
                ids = np.arange(b * self.batch, min((b + 1) * self.batch, self.system.layout.records))
                if self.system.params.broken == "cursor_before_copy":  # BROKEN on purpose
                    self.done[b] = True
                yield from self.copy(ids, random=False, batch=b)
        finally:
            self.active -= 1
        if self.active == 0 and not self.queue and self.done.all():
            yield from self.finish()

    def copy(self, ids: np.ndarray, random: bool, batch: int | None = None):
        """Read a batch from the source, write it to the primary, queue what changed meanwhile."""
        s = self.system
        s.sim.fault_point(P + "batch_read")
        vals, copied = yield from self.source.read(ids, random)
        s.sim.fault_point(P + "batch_write")
        if not s.primary.up:
            yield s.primary.wait_up()
        nbytes = len(ids) * s.layout.record_size
        cmds = len(ids) if random else max(1, int(nbytes // s.params.extent_size) + 1)
        yield from batch_io(s.env, s.primary.disk, nbytes, cmds, write=True)
        s.prim_ver[ids] = vals
        s.c["records_copied"].inc(len(ids))
        if s.params.broken != "skip_recopy":  # the copy's version check
            changed = self.source.version_now(ids) != copied
            if changed.any():
                self.dirty.append(ids[changed])
        if batch is not None:
            self.done[batch] = True  # at the instant of the version check: a later write is queued again
        s.sim.fault_point(P + "batch_done")
        yield s.env.timeout(0)

    def _copy_dirty(self):
        """Copy the records queued again; they leave the (durable) queue only once copied."""
        while self.dirty:
            k = len(self.dirty)
            ids = np.unique(np.concatenate(self.dirty[:k]))
            for i in range(0, len(ids), self.batch):
                yield from self.copy(ids[i:i + self.batch], random=True)
            del self.dirty[:k]
            self.recopied += len(ids)

    def finish(self):
        """Copy the dirty records until none is left, the last pass with the applications' writes held."""
        s = self.system
        yield from self._copy_dirty()
        with s.write_lock.request() as req:
            s.hold_writes = True
            try:
                yield req  # writes in flight to the stores complete first
                yield from self._copy_dirty()
                self.finished = True
                self.on_done()
            finally:
                s.hold_writes = False


def read_probe(system: RansomwareRecovery, degraded: bool):
    """`probe_readers` closed-loop readers for `probe_window`; latencies into the mode's tally."""
    env, p = system.env, system.params
    rng = system.sim.rng("ransomware_recovery.probe")
    end = env.now + p.probe_window
    tally = system.m_degraded if degraded else system.m_normal
    served = [0]
    wrong: list = []

    def reader():
        while env.now < end:
            r = np.array([int(rng.integers(0, system.layout.records))])
            t0 = env.now
            if degraded:
                if not system.agent.up:
                    return
                vals, _ = yield from SplitSource(system).read(r, random=True)
                if vals[0] == LOST:
                    system.c["reads_unavailable"].inc()
                    continue
                if not system.oracle.served_ok(r, vals)[0]:
                    system.c["reads_wrong"].inc()
                    if not wrong:
                        wrong.append((int(r[0]), int(vals[0]), int(system.oracle.latest[r[0]]), env.now))
                    else:
                        wrong.append(None)
            else:
                yield from batch_io(env, system.primary.disk, system.layout.record_size, 1, write=False)
            tally.record(env.now - t0)
            served[0] += 1

    t_start = env.now
    procs = [env.process(reader()) for _ in range(p.probe_readers)]
    yield env.all_of(procs)
    if wrong:
        r, v, latest, t = wrong[0]
        system.violation_log.add("served_equals_oracle", f"{len(wrong)} degraded read(s) served a value not "
                                 f"committed, e.g. record {r} as version {v}, committed {latest}", t,
                                 count=len(wrong), record=r)
    if degraded and env.now > t_start:
        system.degraded_ops_s = served[0] / (env.now - t_start)
