"""Clients and the path of one operation: lock from the owner, log at the accepting node, update the owner.

Real behaviour it stands for: a client (a user, or the tiering daemon migrating, stubbing and
recalling files) works on one file for a session of a few operations, each sent to the node it is
currently attached to; before an operation it may move to another node (roaming, a load balancer,
failover when its node is down). The accepting node takes a lock on the file from the owner of
the file's management file (one round trip; the grant carries the owner's HLC), logs the
operation in its own operation log (HLC and wall-clock timestamps), updates the file's metadata,
and sends the management update to the owner, which applies it, advances the file's log position
and releases the lock. An operation on a file whose management file is lost waits until it is
rebuilt. Left out: the data path, reads (they change no management state), lock leases' timing
(a failed node's unlogged locks are released at once), client retries of an operation lost with
its node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.systems.edge_mgmt_recovery.state import apply_one, valid_op
from sim.workloads import batched

if TYPE_CHECKING:
    from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery
    from sim.systems.edge_mgmt_recovery.node import EdgeNode


class FileLock:
    """A lock on one file held by an accepting node; `logged` once the operation is in its log."""

    __slots__ = ("file", "node", "event", "logged")

    def __init__(self, env, file: int, node: EdgeNode) -> None:
        self.file = file
        self.node = node
        self.event = env.event()
        self.logged = False


def release(system: EdgeMgmtRecovery, lock: FileLock) -> None:
    if system.locks.get(lock.file) is lock:
        del system.locks[lock.file]
        lock.event.succeed()
    lock.node.held.discard(lock)


def client(system: EdgeMgmtRecovery, index: int):
    """One client: sessions of operations on one file each, moving between nodes."""
    env, p = system.env, system.params
    rng = system.sim.rng(f"edge.client[{index}]")
    u = batched(lambda n: rng.random(n))
    expo = batched(lambda n: rng.exponential(1.0, n))
    ops = batched(lambda n: rng.choice(len(system.op_weights), size=n, p=system.op_weights))
    args = batched(lambda n: rng.integers(1, 1 << 30, n))
    nodes = system.nodes
    n_hot = max(1, int(p.files * p.hot_fraction))
    at = index % len(nodes)
    p_end = 1.0 / p.session_ops
    while True:
        yield env.timeout(p.session_gap * expo())
        if u() < p.hot_access:
            f = int(u() * n_hot) * 2654435761 % p.files  # hot files spread over management files
        else:
            f = int(u() * p.files)
        while True:
            if u() < p.move_probability or not nodes[at].up:
                up = [n.index for n in nodes if n.up and n.index != at]
                if not up:
                    yield nodes[at].wait_up()
                    continue
                at = up[int(u() * len(up))]
            node = nodes[at]
            yield node.process(operation(system, node, f, int(ops()), int(args())))
            if u() < p_end:
                break
            yield env.timeout(p.think_time * expo())


def operation(system: EdgeMgmtRecovery, node: EdgeNode, f: int, op_drawn: int, arg: int):
    """One state-changing operation accepted by `node` on file `f` (runs on the node)."""
    env, mg, p = system.env, system.mgmt, system.params
    m = f // mg.fpm
    t0 = env.now
    waited = False
    while True:
        if not mg.available(m):
            if system.blocking:
                waited = True
                yield mg.ready(m)
                continue
            yield from _log_and_apply(system, node, f, op_drawn, arg, None)  # BROKEN: no_blocking
            break
        yield env.timeout(p.one_way_latency)  # lock request to the owner
        if not mg.available(m):
            continue
        held = system.locks.get(f)
        if held is not None:
            waited = True
            yield held.event
            continue
        owner = system.nodes[int(mg.owner[m])]
        lock = FileLock(env, f, node)
        system.locks[f] = lock
        node.held.add(lock)
        grant = owner.hlc.send()
        epoch = int(mg.epoch[m])
        yield env.timeout(p.one_way_latency)  # the grant back
        node.hlc.recv(grant)
        if mg.epoch[m] != epoch:  # lost meanwhile: give the lock up, wait for the rebuild
            release(system, lock)
            continue
        yield from _log_and_apply(system, node, f, op_drawn, arg, (owner, epoch, lock))
        break
    if waited:
        system.counts["ops_blocked"] += 1
        system.op_wait_s += env.now - t0
    system.counts["ops_completed"] += 1


def _log_and_apply(system: EdgeMgmtRecovery, node: EdgeNode, f: int, op_drawn: int, arg: int, grant):
    """Log the operation, update the file's metadata, tell the oracle, send the update to the owner."""
    op = valid_op(int(system.fs[f]["state"]), op_drawn)
    hl, hc = node.hlc.send()
    lsn = node.log.append(f, op, arg, node.clock(), hl, hc)
    apply_one(system.fs, f, op, arg)
    system.oracle.took_effect(f, op, arg, node.index, lsn, system.env.now)
    system.counts["log_entries_written"] += 1
    if grant is None:
        return
    owner, epoch, lock = grant
    lock.logged = True
    delivery = system.env.process(deliver(system, owner, epoch, f, op, arg, node.index, lsn, (hl, hc), lock))
    system.sim.fault_point("edge.op.logged")
    yield delivery  # the owner's acknowledgement


def deliver(system: EdgeMgmtRecovery, owner: EdgeNode, epoch: int, f: int, op: int, arg: int, src: int,
            lsn: int, ts: tuple[float, int], lock: FileLock):
    """The management update in flight to the owner (sent: delivered even if its sender fails);
    dropped if the management file was lost meanwhile (the rebuild finds it in the log)."""
    yield system.env.timeout(system.params.one_way_latency)
    mg = system.mgmt
    m = f // mg.fpm
    if mg.epoch[m] == epoch and owner.up:
        apply_one(mg.live, f, op, arg)
        if lsn > mg.vector[m, src]:
            mg.vector[m, src] = lsn
        owner.hlc.recv(ts)
    release(system, lock)
