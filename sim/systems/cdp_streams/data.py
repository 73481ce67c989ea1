"""Block versions for the CDP model: the production write log (the oracle) and undo/roll-back algebra.

A write is numbered by its sequence number `seq` (1, 2, ...; 0 is "never written"). It covers
`nblocks` consecutive blocks from `start`; after it, each of those blocks holds version `seq`.
The oracle keeps every write (time, start, nblocks, bytes) in numpy arrays, so the production
volume at any past time T is "for each block, the last write at or before T covering it".

Volumes and chunk objects of the model hold `{block: version}` dicts (blocks never written are
absent or 0); `state_of_dict` turns one into the same sparse form as `WriteLog.state` so a
recovered volume is compared with the oracle block by block.

Abstracted away: the bytes themselves (a block's content is identified by the write that last
wrote it) and partial-block writes (writes are rounded to whole tracking blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VERSION = np.int64


class WriteLog:
    """The oracle: every production write, appended in time (and so sequence) order.

    Columns live in numpy buffers that double when full, so appending is amortised O(batch).
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._times = np.empty(capacity)
        self._starts = np.empty(capacity, dtype=np.int64)
        self._nblocks = np.empty(capacity, dtype=np.int64)
        self._bytes = np.empty(capacity)
        self.count = 0  # writes logged (the highest seq)

    def append(self, times: np.ndarray, starts: np.ndarray, nblocks: np.ndarray, nbytes: np.ndarray) -> None:
        """Log a batch of writes (times ascending, after every logged one)."""
        n = len(times)
        if not n:
            return
        need = self.count + n
        if need > len(self._times):
            cap = max(need, 2 * len(self._times))
            for name in ("_times", "_starts", "_nblocks", "_bytes"):
                old = getattr(self, name)
                new = np.empty(cap, dtype=old.dtype)
                new[:self.count] = old[:self.count]
                setattr(self, name, new)
        c = self.count
        self._times[c:need] = times
        self._starts[c:need] = starts
        self._nblocks[c:need] = nblocks
        self._bytes[c:need] = nbytes
        self.count = need

    def truncate_after(self, t: float) -> int:
        """Forget writes after time `t` (a crashed production site never issued them); returns how many."""
        keep = int(np.searchsorted(self.times, t, side="right"))
        dropped = self.count - keep
        self.count = keep
        return dropped

    @property
    def times(self) -> np.ndarray:
        return self._times[:self.count]

    @property
    def nbytes(self) -> np.ndarray:
        return self._bytes[:self.count]

    def seq_at(self, t: float) -> int:
        """The last write issued at or before time `t` (0 if none)."""
        return int(np.searchsorted(self.times, t, side="right"))

    def time_of(self, seq: int) -> float:
        """Issue time of write `seq` (0.0 for seq 0, the initial state)."""
        return float(self.times[seq - 1]) if seq > 0 else 0.0

    def bytes_between(self, lo: int, hi: int) -> float:
        """Bytes of writes lo..hi (inclusive)."""
        if hi < lo:
            return 0.0
        return float(self.nbytes[lo - 1:hi].sum())

    def blocks_between(self, lo: int, hi: int) -> int:
        return int(self._nblocks[lo - 1:hi].sum()) if hi >= lo else 0

    def expand(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(blocks, versions) written by writes lo..hi inclusive, in sequence order."""
        if hi < lo:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=VERSION)
        starts = self._starts[lo - 1:hi]
        n = self._nblocks[lo - 1:hi]
        total = int(n.sum())
        first = np.repeat(np.cumsum(n) - n, n)
        blocks = np.repeat(starts, n) + (np.arange(total, dtype=np.int64) - first)
        versions = np.repeat(np.arange(lo, hi + 1, dtype=VERSION), n)
        return blocks, versions

    def state(self, seq: int) -> tuple[np.ndarray, np.ndarray]:
        """The production volume after write `seq`: (blocks sorted, versions), unwritten blocks left out."""
        blocks, versions = self.expand(1, seq)
        return last_per_block(blocks, versions)


def last_per_block(blocks: np.ndarray, versions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For entries in sequence order, each block's last entry: (unique blocks sorted, their versions)."""
    if not len(blocks):
        return blocks, versions
    rb = blocks[::-1]
    ub, idx = np.unique(rb, return_index=True)
    return ub, versions[::-1][idx]


def first_per_block(blocks: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For entries in sequence order, each block's first entry: (unique blocks sorted, their values)."""
    if not len(blocks):
        return blocks, values
    ub, idx = np.unique(blocks, return_index=True)
    return ub, values[idx]


def state_of_dict(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """A `{block: version}` volume as (blocks sorted, versions), blocks at version 0 left out."""
    if not data:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=VERSION)
    b = np.fromiter(data.keys(), dtype=np.int64, count=len(data))
    v = np.fromiter(data.values(), dtype=VERSION, count=len(data))
    keep = v != 0
    b, v = b[keep], v[keep]
    order = np.argsort(b)
    return b[order], v[order]


def same_state(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[bool, int]:
    """Equal block by block? Returns (equal, number of blocks that differ)."""
    ab, av = a
    bb, bv = b
    if len(ab) == len(bb) and np.array_equal(ab, bb) and np.array_equal(av, bv):
        return True, 0
    allb = np.union1d(ab, bb)
    va = np.zeros(len(allb), dtype=VERSION)
    vb = np.zeros(len(allb), dtype=VERSION)
    va[np.searchsorted(allb, ab)] = av
    vb[np.searchsorted(allb, bb)] = bv
    return False, int(np.count_nonzero(va != vb))


def lookup(data: dict, blocks: np.ndarray) -> np.ndarray:
    """Current versions of `blocks` in a `{block: version}` dict (0 where absent)."""
    get = data.get
    return np.fromiter((get(b, 0) for b in blocks.tolist()), dtype=VERSION, count=len(blocks))


def overwritten_versions(blocks: np.ndarray, versions: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The version each entry overwrites, for entries applied in order onto a volume holding `current`.

    `current[i]` is the volume's version of `blocks[i]` before the batch; an entry whose block was
    written earlier in the same batch overwrites that earlier entry's version instead.
    """
    if not len(blocks):
        return current
    order = np.argsort(blocks, kind="stable")
    sb = blocks[order]
    sv = versions[order]
    old_sorted = current[order]
    same = sb[1:] == sb[:-1]
    old_sorted[1:][same] = sv[:-1][same]
    old = np.empty_like(old_sorted)
    old[order] = old_sorted
    return old


@dataclass
class UndoChunk:
    """Undo data of writes lo..hi: for every block entry they wrote, the version it overwrote."""

    lo: int
    hi: int
    blocks: np.ndarray
    old: np.ndarray
    seqs: np.ndarray  # the write each entry belongs to

    @property
    def entries(self) -> int:
        return len(self.blocks)


def capture_undo(lo: int, hi: int, blocks: np.ndarray, versions: np.ndarray, data: dict) -> UndoChunk:
    """Read the versions that applying writes lo..hi onto `data` will overwrite (before applying them)."""
    old = overwritten_versions(blocks, versions, lookup(data, blocks))
    return UndoChunk(lo, hi, blocks, old, versions.copy())


def roll_back(data: dict, chunks: list[UndoChunk], target: int) -> int:
    """Undo every write after `target` in `data` (in place), using undo chunks in sequence order.

    For each block, the version overwritten by the first write after `target` is the block's
    version at `target`. Returns the number of blocks restored.
    """
    parts_b, parts_o = [], []
    for c in chunks:
        if c.hi <= target:
            continue
        if c.lo > target:
            parts_b.append(c.blocks)
            parts_o.append(c.old)
        else:
            keep = c.seqs > target
            parts_b.append(c.blocks[keep])
            parts_o.append(c.old[keep])
    if not parts_b:
        return 0
    ub, uo = first_per_block(np.concatenate(parts_b), np.concatenate(parts_o))
    data.update(zip(ub.tolist(), uo.tolist(), strict=True))
    return len(ub)


def roll_forward(data: dict, log: WriteLog, lo: int, hi: int) -> int:
    """Apply writes lo..hi (the do records' payload) onto `data` in place; returns block entries written."""
    blocks, versions = log.expand(lo, hi)
    data.update(zip(blocks.tolist(), versions.tolist(), strict=True))
    return len(blocks)


@dataclass
class DoRecord:
    """A do record's payload as the splitter packs it: writes lo..hi, the (block, version) entries
    they wrote in write order, and each write's size (bytes, for the volume I/O it costs)."""

    lo: int
    hi: int
    blocks: np.ndarray
    versions: np.ndarray
    sizes: np.ndarray

    @property
    def entries(self) -> int:
        return len(self.blocks)


def pack_do(log: WriteLog, lo: int, hi: int, truncate: bool = False) -> DoRecord:
    """The payload of writes lo..hi intercepted on the production volume (`log` is the write path).
    `truncate`: BROKEN on purpose, the last block of every multi-block write is left out."""
    blocks, versions = log.expand(lo, hi)
    if truncate and len(blocks):
        last = np.append(versions[1:] != versions[:-1], True)
        first = np.append(True, versions[1:] != versions[:-1])
        keep = ~(last & ~first)  # drop a write's last entry unless it is also its first
        blocks, versions = blocks[keep], versions[keep]
    return DoRecord(lo, hi, blocks, versions, log.nbytes[lo - 1:hi].copy())


def do_payload(records: list[DoRecord], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blocks, versions, write sizes) of writes lo..hi from do records sorted by `lo`, each write
    taken once (records resent after a production restart overlap earlier ones)."""
    pb, pv, ps = [], [], []
    upto = lo - 1
    for r in records:
        if r.hi <= upto or r.lo > hi:
            continue
        a, b = upto + 1, min(hi, r.hi)
        if r.lo > a:  # a gap the reader reported as lost: the writes start later
            a = r.lo
        keep = (r.versions >= a) & (r.versions <= b)
        pb.append(r.blocks[keep])
        pv.append(r.versions[keep])
        ps.append(r.sizes[a - r.lo:b - r.lo + 1])
        upto = b
    if not pb:
        e = np.empty(0, dtype=np.int64)
        return e, e.astype(VERSION), np.empty(0)
    return np.concatenate(pb), np.concatenate(pv), np.concatenate(ps)
