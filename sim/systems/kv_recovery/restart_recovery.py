"""Restart recovery of the primary, and opening the file stream read-only (shared with the replicas).

- `open_read_only`: reads the metadata log, takes the newest record whose checksum is good and whose
  checkpoint is complete and valid (falling back past corrupt records and torn or corrupt
  checkpoints; the load-time checkpoint if none is good), loads the mapping from that checkpoint
  and replays the system log from its replay start.
- `restart_recovery`: runs on the primary when its host restarts: `open_read_only`, then replays
  the user log from the start rule (`REPLAY_START`: min(oldest uncommitted timestamp at the user
  checkpoint, user replay point) for the mechanism), skipping transactions committed at or before
  the replay point and transactions with no commit record; then the primary is writable.

`store.check_system_replay` checks the mapping and pages after the system-log replay against the
oracles (before the user-log replay, which would hide a wrong mapping). `skip_system_log_replay`
is the BROKEN-on-purpose variant that leaves the mapping at the checkpoint.

Every byte read goes through the SSD model (shared with replicas forming at the same time), plus
`system_apply_cost` per replayed system-log record and `apply_cost` per redone write record.
"""

from __future__ import annotations

import numpy as np

from sim.systems.kv_recovery.durable import UserLog


def open_read_only(store, recovering: bool):
    """Metadata log -> newest valid checkpoint -> mapping -> system-log replay.

    Returns (mapping, system-log position, latest flush boundary (L, oldest, time), checkpoint).
    """
    p = store.params
    media = store.media
    ssd = store.ssd
    fp = store.sim.fault_point
    who = "kv.recovery" if recovering else "kv.replica.form"
    fp(f"{who}.metadata_read")
    yield from ssd.read(len(media.metadata.records) * p.metadata_record_size)
    chosen, skipped = media.newest_valid_checkpoint()
    if recovering:
        store.c["checkpoint_fallbacks"].inc(skipped)
    fp(f"{who}.checkpoint_load")
    yield from ssd.read(chosen.nbytes)
    mapping = chosen.mapping.copy()
    syslog = media.syslog
    start, end = chosen.system_replay_start, len(syslog)
    if recovering and p.skip_system_log_replay:  # BROKEN on purpose: the mapping stays at the checkpoint
        end = start
    if end > start:
        nbytes = syslog.end[end - 1] - syslog.offset(start)
        fp(f"{who}.system_log_replay")
        yield from ssd.read(nbytes)
        if p.system_apply_cost > 0:
            yield store.env.timeout(p.system_apply_cost * (end - start))
        if recovering:
            store.c["replayed_log_bytes"].inc(nbytes)
            store.c["replayed_records"].inc(end - start)
    found, pos = media.apply_system_log(mapping, start, end)
    if found is None:  # no flush since the checkpoint: the last boundary before it
        found = media.last_boundary_before(start) or (0, 0, 0.0)
    return mapping, pos, found, chosen


def user_replay_info(store, ck) -> tuple[int, int, int]:
    """(user checkpoint record index, replay point L, minimum uncommitted timestamp) recovery replays from.

    Separate user checkpoints: the latest durable user checkpoint record (found reading the log tail
    backwards; those bytes lie within the replayed range). Coupled (`user_checkpoint_interval: null`):
    the record the chosen mapping checkpoint names. None at all: from the start of the log.
    """
    ulog = store.ulog
    idx = ck.user_checkpoint if store.params.user_checkpoint_interval is None else ulog.latest_durable_checkpoint()
    if idx < 0:
        return -1, 0, 0
    return idx, int(ulog.a[idx]), int(ulog.b[idx])


def replayed_writes(store, lo: int, hi: int, replay_point: int, min_uncommitted: int):
    """Write records of user-log records [lo, hi) to redo, as (keys, write ids, commit timestamps), and commits.

    A transaction is redone if its commit record is in the range and it is not skipped. The claim
    skips "user transactions having a timestamp smaller than the minimum uncommitted user
    transaction timestamp". `commit_ts` (the mechanism) reads both as commit timestamps: a
    transaction uncommitted at L commits after L, so the minimum uncommitted commit timestamp is
    L + 1 and the skipped ones are those committed at or before L (already in the pages).
    `begin_ts` (BROKEN on purpose) compares begin timestamps with the oldest uncommitted begin:
    every skipped transaction did commit by L, but it may have committed after a replayed one that
    wrote the same key, whose older value then overwrites its newer one.
    """
    kind, txn, key, wid, end = store.ulog.columns(lo, hi)
    is_commit = kind == UserLog.COMMIT
    c_txn, c_ts, c_begin = txn[is_commit], end[is_commit], key[is_commit]
    if store.params.user_replay_skip == "begin_ts":  # BROKEN on purpose
        replay = c_begin >= min_uncommitted
    else:
        replay = c_ts > replay_point
    c_txn, c_ts = c_txn[replay], c_ts[replay]
    order = np.argsort(c_txn, kind="stable")
    st, sts = c_txn[order], c_ts[order]
    is_write = kind == UserLog.WRITE
    w_txn, w_key, w_wid = txn[is_write], key[is_write], wid[is_write]
    pos = np.searchsorted(st, w_txn)
    posc = np.minimum(pos, max(len(st) - 1, 0))
    committed = (pos < len(st)) & (st[posc] == w_txn) if len(st) else np.zeros(len(w_txn), bool)
    return w_key[committed], w_wid[committed], sts[posc][committed], len(c_ts)


def restart_recovery(store):
    """Restart: mapping from the checkpoint, system-log replay, then user-log replay; then writable.

    The user log is read from min(minimum uncommitted timestamp, replay point L) of the latest user
    checkpoint record: a transaction uncommitted at L may have written records before L (US
    11,755,427 claim 1 starts at the replay starting point; in this model that point must reach back
    to the oldest uncommitted transaction, else its early writes are lost: `user_replay_start:
    replay_point`, caught).
    """
    env = store.env
    p = store.params
    t_restart = env.now
    mapping, _pos, boundary, ck = yield from open_read_only(store, recovering=True)
    ulog = store.ulog
    ucp, replay_point, oldest = user_replay_info(store, ck)
    start_ts = store.replay_start(oldest, replay_point)
    store.check_system_replay(mapping, int(boundary[0]), replay_point)  # before the user-log replay
    lo, hi = ulog.first_after(start_ts), ulog.durable_n
    values = store.fstream.page_values(mapping)
    touched = np.empty(0, dtype=np.int64)
    if hi > lo:
        nbytes = ulog.durable_end - (ulog.end[lo - 1] if lo > 0 else 0)
        store.sim.fault_point("kv.recovery.user_log_replay")
        yield from store.ssd.read(nbytes)
        w_key, w_wid, w_ts, n_commits = replayed_writes(store, lo, hi, replay_point, oldest)
        applied = len(w_key)  # a commit record carries nothing to redo (RocksDB: one batch of puts)
        if p.apply_cost > 0 and applied:
            store.sim.fault_point("kv.recovery.user_log_apply")
            yield env.timeout(p.apply_cost * applied)
        if len(w_key):
            seq = np.lexsort((np.arange(len(w_key)), w_ts))  # commit order, then log order
            rk, rw = w_key[seq][::-1], w_wid[seq][::-1]
            uniq, first = np.unique(rk, return_index=True)
            values[uniq] = rw[first]
            touched = uniq
        store.c["replayed_log_bytes"].inc(nbytes)
        store.c["user_log_replayed_bytes"].inc(nbytes)
        store.c["replayed_records"].inc(hi - lo)
        store.c["replayed_txns"].inc(n_commits)
    store.become_writable(values, mapping, touched, boundary, t_restart, int(start_ts), int(ck.id))
