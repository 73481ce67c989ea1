"""Closed-loop client sessions (`client`): each runs one transaction at a time, then the next.

Stands for an application server's database sessions: a session executes its statements at the
partitions it touches (their writes logged there), then asks to commit: a single-partition
transaction at its partition, a multi-partition one at the session's coordinator (two-phase
commit). A closed loop makes commit throughput show the coordinator bottleneck. A transaction
whose partition or coordinator is down aborts; the session waits one execution time and goes on.
"""

from __future__ import annotations

from sim.components.base import NotRunning


def client(m, cid: int):
    """One client session: pick partitions, execute, commit; `think_time` between transactions."""
    env, p = m.env, m.params
    rng = m.sim.rng(f"db.client[{cid}]")
    coord = m.coordinators[cid % len(m.coordinators)]
    n = p.partitions
    span = min(p.span, n)
    back = 0.0  # the previous commit's reply, merged into the next pause (one event fewer)
    while True:
        pause = back + (rng.exponential(p.think_time) if p.think_time > 0 else 0.0)
        if pause > 0:
            yield env.timeout(pause)
        back = p.net_latency
        txn = m.new_txn()
        if n > 1 and rng.random() < p.multi_partition_fraction:
            k = int(rng.integers(2, span + 1))
            parts = tuple(sorted(int(x) for x in rng.choice(n, size=k, replace=False)))
        else:
            parts = (int(rng.integers(n)),)
        m.oracle.begin(txn, parts)
        t0 = env.now
        hosts = [m.partitions[i] for i in parts]
        if not all(h.up for h in hosts) or (len(parts) > 1 and not coord.up):
            m.c_aborted.inc()
            yield env.timeout(p.exec_time)
            continue
        for h in hosts:
            h.write(txn)
        yield env.timeout(rng.exponential(p.exec_time) + p.net_latency)  # statements, then the commit request
        try:
            if len(parts) == 1:
                ok = yield hosts[0].process(hosts[0].commit_single(txn))
            else:
                ok = yield coord.process(coord.two_phase_commit(txn, parts))
        except NotRunning:
            ok = False
            for h in hosts:
                if h.up:
                    h.process(h.abort(txn))
        if ok:
            m.m_latency.record(env.now + p.net_latency - t0)  # acknowledged one message later
        else:
            m.c_aborted.inc()
