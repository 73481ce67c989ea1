"""The checkpointer: periodic checkpoints of the page mapping table.

Every `checkpoint_interval` it writes a user checkpoint record (the latest flush boundary: user
replay point and oldest uncommitted timestamp) to the user log and waits until it is durable,
snapshots the mapping, writes it chunk by chunk (`checkpoint_chunk`, optionally throttled by
`checkpoint_write_rate`), and only then appends a metadata-log record pointing at it. A crash in
the middle leaves the checkpoint torn, with no metadata record (`DurableMedia.tear_unfinished`).
"""

from __future__ import annotations

from sim.systems.kv_recovery.durable import Checkpoint, UserLog
from sim.systems.kv_recovery.transactions import wait_durable


def checkpointer(store):
    """User checkpoint record, then the mapping table over time, then the metadata record."""
    env = store.env
    p = store.params
    ssd = store.ssd
    c = store.c
    ulog = store.ulog
    fp = store.sim.fault_point
    next_at = env.now + p.checkpoint_interval
    while True:  # one checkpoint starts every interval (none while the previous one is still writing)
        yield env.timeout(max(0.0, next_at - env.now))
        next_at = max(next_at + p.checkpoint_interval, env.now)
        ts, oldest, _t = store.boundary
        ulog.append(UserLog.CHECKPOINT, ts, oldest, 0, p.log_record_header + 16)
        ucp = len(ulog) - 1
        fp("kv.checkpoint.user_record_appended")
        yield from wait_durable(store)
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
