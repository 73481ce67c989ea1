"""The store's writers: user transactions and the group-commit log writer.

- `user_transaction`: a client's transaction: write records with think time between them, then a
  commit record, appended to the user log buffer; acknowledged once the log writer made it durable.
  It runs on the client's side, so a crash of the primary does not interrupt it: the crash loses
  the buffered records and the batch it waits on, and a transaction still writing notices at its
  next write and aborts.
- `log_writer`: group commit on the primary: writes the buffered log to the SSD, then applies the
  batch's committed transactions to the in-memory pages (no-steal: pages only hold committed data)
  and records them in the oracle.

Abstracted away: concurrency control between transactions writing the same key (last committer
wins), CPU time of appending records.
"""

from __future__ import annotations

from sim.systems.kv_recovery.durable import UserLog


def user_transaction(store, n_writes: int, think: float | None = None):
    """Write records, think time between them, a commit record; acknowledged once durable.

    `think`: fixed time between writes (a long transaction); default exponential think time.
    """
    env = store.env
    if not store.writable:
        store.waiting += 1
        while not store.writable:
            yield store.writable_event
        store.waiting -= 1
    primary = store.primary
    epoch = primary.crashes  # the primary's incarnation this transaction runs against
    ulog = store.ulog
    txn = store.next_txn
    store.next_txn += 1
    begin = ulog.tail
    store.active[txn] = begin
    keys: list[int] = []
    wids: list[int] = []
    sizes: list[float] = []
    header = store.params.log_record_header
    key, value_size = store.key, store.value_size
    nbytes = 0.0
    for i in range(n_writes):
        if i:
            yield env.timeout(store.think() if think is None else think)
            if primary.crashes != epoch:
                store.c["txns_aborted"].inc()
                return
        k = int(key())
        wid = store.next_wid
        store.next_wid += 1
        size = value_size()
        ulog.append(UserLog.WRITE, txn, k, wid, header + size)
        keys.append(k)
        wids.append(wid)
        sizes.append(header + size)
        nbytes += size
    t0 = env.now
    commit_ts = ulog.append(UserLog.COMMIT, txn, begin, 0, header)  # b: begin timestamp
    store.commit_queue.append((commit_ts, txn, keys, wids, sizes, nbytes))
    wake_log_writer(store)
    yield store.batch_event
    store.m_commit.record(env.now - t0)


def wake_log_writer(store) -> None:
    ev = store.log_wakeup
    if ev is not None and not ev.triggered:
        ev.succeed()


def wait_durable(store):
    """Wait until everything appended so far is on storage."""
    wake_log_writer(store)
    yield store.batch_event


def log_writer(store):
    """Group commit: write the buffered log records, then apply the batch's commits."""
    env = store.env
    ulog = store.ulog
    oracle = store.oracle
    values = store.values
    record_bytes = store.record_bytes
    dirty = store.dirty
    kpp = store.kpp
    active = store.active
    write = store.ssd.write
    c_writes, c_txns, c_bytes = store.c["writes_acked"], store.c["txns_acked"], store.c["value_bytes_acked"]
    c_log = store.c["log_bytes_written"]
    fp = store.sim.fault_point
    while True:
        if len(ulog) == ulog.durable_n:
            store.log_wakeup = env.event()
            yield store.log_wakeup
            continue
        n = len(ulog)
        nbytes = ulog.tail - ulog.durable_end
        batch, store.batch_event = store.batch_event, env.event()
        commits, store.commit_queue = store.commit_queue, []
        fp("kv.user_log.group_commit_write")
        yield from write(nbytes)
        ulog.mark_durable(n)
        c_log.inc(nbytes)
        for commit_ts, txn, keys, wids, sizes, vbytes in commits:
            for k, wid, sz in zip(keys, wids, sizes, strict=True):
                values[k] = wid
                record_bytes[k] = sz
                dirty[k // kpp] = True
            oracle.acknowledge(keys, wids, commit_ts)
            active.pop(txn, None)
            store.applied_ts = commit_ts
            c_writes.inc(len(keys))
            c_txns.inc()
            c_bytes.inc(vbytes)
        batch.succeed()
        fp("kv.user_log.group_commit_acked")
