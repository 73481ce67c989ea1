"""The migration agent's movers: one SimPy process per copy stream, migrating components one by one.

Real behaviour it stands for: a data mover (rsync/replication stream per component, as Velero,
VMware HCX bulk migration or storage replication do) copies a component's data online in
resumable chunks over the inter-cluster link while the source keeps serving, then cuts over:
the component is quiesced and stopped on the source (down from here), the chunks written during
the copy are re-sent (delta sync), and the component is launched on its target node and takes its
start-up time to serve. With the start gate (the mechanism) the cut-over and the launch wait until
every dependency of the dependency map runs on the target; without it (the naive baselines) a
component whose dependencies are not up fails to start and is retried with capped exponential
back-off. A start failing on a version or device mismatch is retried `max_incompatible_starts`
times, then the component is rolled back to the source. Chunks lost to a link fault or failing
their checksum are re-sent. A target-node crash interrupts the component (`NodeLost`): the
re-plan has moved it, and it starts over on its new node. Left out: per-chunk verification cost,
compression, source-side read limits (the per-stream rate stands for them).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from sim.systems.cluster_migration.oracle import checksum

if TYPE_CHECKING:
    from sim.systems.cluster_migration.model import ClusterMigration

QUEUED, ACTIVE, DONE, ROLLING_BACK, ROLLED_BACK, IDLE, LAUNCHED = range(7)


class NodeLost:
    """Interrupt cause: the target node of component `comp` failed and the re-plan moved it."""

    __slots__ = ("comp",)

    def __init__(self, comp: int) -> None:
        self.comp = comp


def mover_worker(system: ClusterMigration):
    """One copy stream: takes the next component of the sequence until none is left."""
    state, queue = system.state, system.queue
    try:
        while queue:
            c = queue.popleft()
            if state[c] != QUEUED:
                continue
            state[c] = ACTIVE
            system.worker_of[c] = system.env.active_process
            try:
                yield from migrate_component(system, c)
            except simpy.Interrupt as intr:
                if not isinstance(intr.cause, NodeLost):
                    raise
                if intr.cause.comp != c and state[c] == ACTIVE:  # a late interrupt meant for another one
                    system.requeue([c])
            finally:
                if system.worker_of.get(c) is system.env.active_process:
                    del system.worker_of[c]
    finally:
        system.workers -= 1


def migrate_component(system: ClusterMigration, c: int):
    """Online copy, then the cut-over (parked off the copy stream while the gate is closed)."""
    node = system.nodes[system.placement[c]]
    yield from sync(system, c, node)
    system.copied_at[c] = system.env.now
    system.hit("cluster_migration.copy.done", c)
    if system.gate and not system.dependencies_run(c):
        # the copy stream is free for the next component; the cut-over waits on its own
        system.worker_of[c] = system.mover.process(guarded_cutover(system, c, node))
        return
    yield from cutover(system, c, node)


def guarded_cutover(system: ClusterMigration, c: int, node):
    """A component parked at the start gate: cut over once its dependencies run (ends on `NodeLost`)."""
    try:
        yield from cutover(system, c, node)
    except simpy.Interrupt as intr:
        if not isinstance(intr.cause, NodeLost):
            raise
    finally:
        if system.worker_of.get(c) is system.env.active_process:
            del system.worker_of[c]


def cutover(system: ClusterMigration, c: int, node):
    """Gate, stop on the source (down from here), delta sync, start on the target node."""
    env, p = system.env, system.params
    if system.gate:
        yield from wait_dependencies(system, c)
    system.hit("cluster_migration.cutover.stop_source", c)
    system.availability.cut_over(c)
    if system.source.running[c]:
        yield env.timeout(p.stop_time)
        served = env.now - system.copied_at.get(c, env.now)
        system.oracle.source_stopped(c, system.source.stop(c, served))
    system.hit("cluster_migration.cutover.delta_sync", c)
    if not system.params.broken_skip_delta_sync:
        yield from sync(system, c, node, urgent=True)
    yield from start(system, c, node)


def sync(system: ClusterMigration, c: int, node, urgent: bool = False):
    """Send every chunk whose checksum on the node differs from the source's current version
    (`urgent`: the delta sync of a component that is down for its cut-over)."""
    env, link = system.env, system.link
    src = system.source.versions[c]
    size = system.chunk_bytes[c]
    err = system.params.chunk_error_rate
    rng = system.copy_rng
    for j in range(len(src)):
        while True:
            if not node.up:
                yield node.wait_up()
            store = node.store.setdefault(c, [None] * len(src))
            v = src[j]
            if store[j] == checksum(c, j, v):
                break
            if not link.up:
                system.c_retries.inc()
                yield link.wait_up()
                continue
            slots = system.link_slots
            if slots is None:
                ok = yield from link.transfer(size)
            else:  # critical-path-first: wait for a sending slot (a cut-over's delta sync goes first)
                with slots.request(priority=-math.inf if urgent else system.copy_priority[c]) as req:
                    yield req
                    ok = yield from link.transfer(size)
            if not ok:
                system.c_retries.inc()
                continue
            system.c_bytes.value += size
            if err and rng.random() < err:
                system.c_retries.inc()  # failed its checksum on arrival: re-sent
                continue
            node.store.setdefault(c, [None] * len(src))[j] = checksum(c, j, v)
            system.hit("cluster_migration.copy.chunk_stored", c)
            if env.now < 0:  # pragma: no cover - keeps this a generator when nothing is sent
                yield env.timeout(0)
            break


def wait_dependencies(system: ClusterMigration, c: int):
    """The start gate: wait until every dependency of the dependency map runs on the target."""
    while not system.dependencies_run(c):
        yield system.running_changed()


def start(system: ClusterMigration, c: int, node):
    """The mechanism's mover launches and retries itself; the baselines' deploy the component and
    move on, and the node's restart loop retries it (a kubelet's CrashLoopBackOff)."""
    if system.gate and system.variant.supervised_start:
        yield from start_loop(system, c, node)
        return
    if not node.up:
        yield node.wait_up()
    system.state[c] = LAUNCHED
    node.process(start_loop(system, c, node))


def start_loop(system: ClusterMigration, c: int, node):
    """Launch attempts on the node until one serves; a mismatch retried too often rolls back."""
    env, p = system.env, system.params
    comp = system.comps[c]
    attempt = mismatches = 0
    while True:
        if system.gate:
            yield from wait_dependencies(system, c)
        if not node.up:
            yield node.wait_up()
        system.hit("cluster_migration.start.launch", c)
        deps_up = system.oracle.launch(c, env.now, system.is_running, node.store.get(c))
        yield env.timeout(p.startup_time[comp.type])
        compatible = system.can_run(c, node.index)
        transient = p.start_failure_rate > 0 and system.start_rng.random() < p.start_failure_rate
        if deps_up and compatible and not transient and node.up:
            system.started(c, node)
            system.hit("cluster_migration.start.running", c)
            return
        system.c_failed.inc()
        system.c_retries.inc()
        if not compatible:
            mismatches += 1
            if mismatches >= p.max_incompatible_starts:
                system.rollback(c)
                return
        yield env.timeout(system.backoff.delay(attempt))
        attempt += 1


def rollback(system: ClusterMigration, c: int):
    """The manager gives the target up for `c`: it restarts on the source (its data is still there)."""
    yield system.env.timeout(system.params.startup_time[system.comps[c].type])
    system.source.restart(c)
    system.rolled_back_done(c)
