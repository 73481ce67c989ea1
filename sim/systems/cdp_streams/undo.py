"""Undo stream puts: before a do record overwrites blocks of the replica, the versions it
overwrites are put to the undo stream (`do_undo`, `chunks`), paced client-side at the shard's
byte limit (as KPL's RateLimit) and retried with backoff when throttled or unavailable.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from sim.components.base import ServiceUnavailable, Throttled
from sim.core.process import retry
from sim.systems.cdp_streams.data import UndoChunk

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


def put_undo(m: CdpStreams, undo: UndoChunk) -> Generator:
    """Put undo entries to the undo stream in records of at most max_record_size (retry with backoff)."""
    p = m.params
    env = m.env
    per = max(1, int((p.stream.max_record_size - p.record_header) // p.block_size))
    n = undo.entries
    stream = m.undo_stream

    def count(_e: BaseException) -> None:
        m.undo_put_retries += 1

    for i in range(0, max(n, 1), per):
        j = min(n, i + per)
        if j <= i:
            break
        piece = UndoChunk(int(undo.seqs[i]), int(undo.seqs[j - 1]), undo.blocks[i:j], undo.old[i:j],
                          undo.seqs[i:j])
        nbytes = (j - i) * p.block_size + p.record_header
        shard = m._next_undo_shard
        wait = m.undo_pace[shard].delay(env.now, nbytes)
        if wait > 0:
            yield env.timeout(wait)
        rec = yield from retry(env, lambda piece=piece, nbytes=nbytes, shard=shard:
                               stream.put(nbytes, value=piece, shard=shard),
                               (Throttled, ServiceUnavailable), m.backoff, count)
        m.undo_index[rec.shard].append((rec.seq, piece.lo, piece.hi))
        m._next_undo_shard = (shard + 1) % p.undo_shards
