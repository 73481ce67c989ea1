"""The checkpointers: periodic mapping-table (system) checkpoints and user checkpoint records.

- `user_checkpointer`: every `user_checkpoint_interval`, a user checkpoint record naming the
  latest durable flush boundary (user replay point L and the minimum uncommitted timestamp: the
  oldest begin timestamp among transactions uncommitted at L), appended to the user log and made
  durable. Restart recovery takes the latest durable one (US 11,755,427 claim 1: "obtaining user
  transaction replay starting information from a latest user checkpoint log record").
- `checkpointer`: every `checkpoint_interval` (with `user_checkpoint_interval: null` it first
  writes the user checkpoint record itself, the coupled rule), snapshots the mapping, writes it chunk by chunk (`checkpoint_chunk`, optionally throttled by
`checkpoint_write_rate`), and only then appends a metadata-log record pointing at it. A crash in
the middle leaves the checkpoint torn, with no metadata record (`DurableMedia.tear_unfinished`).
"""

from __future__ import annotations

from sim.systems.kv_recovery.durable import Checkpoint, UserLog
from sim.systems.kv_recovery.transactions import wait_durable


def write_user_checkpoint(store):
    """Append a user checkpoint record naming the latest durable flush boundary; wait until durable.

    Returns the record's index in the user log. With `user_checkpoint_unflushed` (BROKEN on purpose)
    the record names the last applied commit instead, which the pages on storage do not yet hold.
    """
    p = store.params
    ulog = store.ulog
    ts, oldest, _t = store.boundary
    if p.user_checkpoint_unflushed:  # BROKEN on purpose: claims commits that are only in memory
        ts = store.applied_ts
        oldest = min(next(iter(store.active.values()), ts), ts)
    ulog.append(UserLog.CHECKPOINT, ts, oldest, 0, p.log_record_header + 16)
    ucp = len(ulog) - 1
    store.sim.fault_point("kv.checkpoint.user_record_appended")
    yield from wait_durable(store)
    store.c["user_checkpoints"].inc()
    return ucp


def user_checkpointer(store):
    """User checkpoint records apart from the mapping checkpoints (skipped while no newer flush happened).

    The first record comes at a random phase within the interval (a deployment does not align its
    user checkpoints with the page flushes; `kv.user_checkpoint_phase` stream), then every interval.
    """
    env = store.env
    interval = store.params.user_checkpoint_interval
    last = None
    yield env.timeout(float(store.sim.rng("kv.user_checkpoint_phase").uniform(0.0, interval)))
    while True:
        if store.boundary[0] != last or store.params.user_checkpoint_unflushed:
            last = store.boundary[0]
            yield from write_user_checkpoint(store)
        yield env.timeout(interval)


def checkpointer(store):
    """User checkpoint record, then the mapping table over time, then the metadata record."""
    env = store.env
    p = store.params
    ssd = store.ssd
    c = store.c
    fp = store.sim.fault_point
    next_at = env.now + p.checkpoint_interval
    while True:  # one checkpoint starts every interval (none while the previous one is still writing)
        yield env.timeout(max(0.0, next_at - env.now))
        next_at = max(next_at + p.checkpoint_interval, env.now)
        ucp = -1  # separate user checkpoints: recovery takes the latest durable user checkpoint record
        if p.user_checkpoint_interval is None:  # coupled: the record this checkpoint names
            ucp = yield from write_user_checkpoint(store)
        checkpoints = store.checkpoints
        ck = Checkpoint(len(checkpoints), store.mapping.copy(), len(store.syslog), ucp, store.mapping_bytes)
        checkpoints.append(ck)
        left = store.mapping_bytes
        while left > 0:
            chunk = min(left, p.checkpoint_chunk)
            t_chunk = env.now
            fp("kv.checkpoint.mapping_chunk")
            yield from ssd.write(chunk)
            if p.checkpoint_write_rate is not None:
                pause = chunk / p.checkpoint_write_rate - (env.now - t_chunk)
                if pause > 0:
                    yield env.timeout(pause)
            ck.bytes_written += chunk
            c["checkpoint_bytes_written"].inc(chunk)
            left -= chunk
        ck.complete = True
        fp("kv.checkpoint.before_metadata_record")
        yield from ssd.write(p.metadata_record_size)
        store.metadata.append(ck.id)
        c["metadata_bytes_written"].inc(p.metadata_record_size)
        c["checkpoints_completed"].inc()
        fp("kv.checkpoint.after_metadata_record")
