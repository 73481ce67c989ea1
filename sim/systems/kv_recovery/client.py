"""The clients of the store: arrivals of reads and transactions, and where a read is served.

- `client`: Poisson arrivals of reads and of user transactions (`writes_per_txn` writes each, so
  that a fraction `read_fraction` of key operations are reads); key popularity from `KeyDist`,
  value sizes from `SizeDist`; a fraction `long_txn_fraction` of transactions runs long.
- `serve_read`: a read goes to a ready replica (round robin; its snapshot, checked later by the
  oracle) or else to the writable primary; if neither can serve it, `waiting_read` waits until
  one can.

Abstracted away: page reads on the read path (pages are cached; reads cost no I/O), client-side
timeouts and retries, the network between clients and the store.
"""

from __future__ import annotations

from sim.systems.kv_recovery.transactions import user_transaction
from sim.workloads import batched


def client(store):
    """Poisson arrivals: a read, or a user transaction of `writes_per_txn` writes."""
    w = store.workload
    sim = store.sim
    rng = sim.rng("kv.client")
    wpt = w.writes_per_txn
    rf = w.read_fraction
    p_read = rf / (rf + (1 - rf) / wpt)  # so that a fraction rf of key operations are reads
    arrival_rate = w.rate / (p_read + (1 - p_read) * wpt)
    gap = batched(lambda n: rng.exponential(1.0 / arrival_rate, n))
    coin = batched(lambda n: rng.random(n))
    key = w.keys.sampler(sim.rng("kv.keys"), store.params.keys)
    store.key = key
    store.value_size = w.value_size.sampler(sim.rng("kv.values"))
    rt = sim.rng("kv.think")
    store.think = batched(lambda n: rt.exponential(w.think_time, n)) if w.think_time > 0 else (lambda: 0.0)
    long_frac = w.long_txn_fraction
    rl = sim.rng("kv.long_txns")
    long = batched(lambda n: rl.exponential(w.long_txn_duration, n))
    env = store.env
    timeout = env.timeout
    process = env.process
    while True:
        yield timeout(gap())
        if coin() < p_read:
            k = int(key())
            if not serve_read(store, k, env.now):
                process(waiting_read(store, k))
        elif coin() < long_frac:
            process(user_transaction(store, wpt, long() / max(wpt - 1, 1)))
        else:
            process(user_transaction(store, wpt))


def serve_read(store, key: int, t_arrival: float) -> bool:
    """Serve a read now (a ready replica, else the writable primary); False if nobody can."""
    now = store.env.now
    served = False
    replicas = store.replicas
    if replicas:
        n = len(replicas)
        for _ in range(n):
            r = replicas[store.rr]
            store.rr = (store.rr + 1) % n
            if r.ready:
                v = r.read(key)
                store.oracle.log_read(key, r.snapshot_ts, v)
                (store.m_stale if store.writable else store.m_stale_rec).record(now - r.snapshot_time)
                store.c_replica_reads.inc()
                served = True
                break
    if not served and store.writable:
        store.c_primary_reads.inc()
        served = True
    if not served:
        return False
    store.c_reads_served.inc()
    if now > t_arrival:
        store.m_read_wait.record(now - t_arrival)
    outage = store.outage
    if outage.first_read_after is not None:
        store.m_first_read.record(now - outage.first_read_after)
        outage.first_read_after = None
    return True


def waiting_read(store, key: int):
    """A read that found no server: waits for a replica to become ready or the primary writable."""
    t0 = store.env.now
    store.c["reads_delayed"].inc()
    store.waiting += 1
    while True:
        yield store.read_ready_event
        if serve_read(store, key, t0):
            store.waiting -= 1
            return
