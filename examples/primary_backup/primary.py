"""The client and the primary's write transaction.

Real behaviour they stand for: clients send writes to a primary, which replicates each one to its
backup over the network and acknowledges it to the client (after the backup's acknowledgement
with `ack: sync`). A lost message or an unacknowledged send is retransmitted after a backoff
(`retry_timeout` doubling up to `retry_cap`, jittered); a write in progress when the primary
crashes is lost with the primary's memory and never acknowledged (the client would time out). Left out: batching, pipelining limits,
client retries of refused writes, the primary's own storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.workloads import batched

if TYPE_CHECKING:
    from examples.primary_backup.model import PrimaryBackup


def client(system: PrimaryBackup):
    """Poisson writes to random keys; a write to a primary that is down is refused."""
    p = system.params
    env = system.env
    rng = system.sim.rng("primary_backup.client")
    gap = batched(lambda n: rng.exponential(1.0 / p.write_rate, n))
    key = batched(lambda n: rng.integers(0, p.keys, n))
    primary = system.primary
    while True:
        yield env.timeout(gap())
        if not primary.up:
            system.refused.value += 1
            continue
        primary.process(write_transaction(system, int(key())))


def write_transaction(system: PrimaryBackup, key: int):
    """One write on the primary: version it, send it to the backup until acknowledged, acknowledge."""
    env, p = system.env, system.params
    link, backup, oracle = system.link, system.backup, system.oracle
    t0 = env.now
    version = oracle.write(key, t0)
    system.writes.value += 1
    txn = system.begin(t0)
    attempt = 0
    try:
        if system.ack.before_replication:
            system.acknowledge(key, version, t0)
        while True:
            if not link.up:
                yield link.wait_up()
            sent = yield from link.transfer(p.write_size)
            if sent and backup.up:
                logged = yield backup.process(backup.apply_write(key, version))
                if logged and (yield from link.transfer(p.ack_size, reverse=True)):
                    break
            system.retransmissions.value += 1
            yield env.timeout(system.backoff.delay(attempt))
            attempt += 1
        if not system.ack.before_replication:
            system.acknowledge(key, version, t0)
    finally:
        system.end(txn)
