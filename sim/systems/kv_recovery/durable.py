"""Durable structures of the `kv_recovery` key-value store, as they lie on its storage device.

- `UserLog`: the user transaction log (write records, commit records, user checkpoint records),
  with a volatile tail (the log buffer) that a crash loses; offsets in bytes are its timestamps.
- `SystemLog`: the system transaction log (page mapping changes and flush boundaries).
- `FileStream`: the append-only stream of page images (physical location = index of the image).
- `Checkpoint` and `MetadataLog`: mapping-table checkpoints and the log saying where the latest is.
- `DurableMedia`: all of the above as one SSD's contents (what survives every crash), with the
  reads recovery and replicas make of them (newest valid checkpoint, system-log replay).

Columns are `array.array`s (compact, C-speed appends); readers copy slices into numpy arrays, so
no buffer export ever blocks an append. The byte sizes kept here are what the model charges the
storage device for; the contents are what recovery rebuilds state from.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np


def _np(col: array, lo: int, hi: int, dtype=np.int64) -> np.ndarray:
    """A numpy copy of `col[lo:hi]`."""
    return np.frombuffer(col[lo:hi], dtype=dtype) if hi > lo else np.empty(0, dtype=dtype)


class UserLog:
    """User transaction log: records appended to a volatile buffer; a prefix of them is durable.

    A record's timestamp is its end offset in bytes (`end`), so "older than" means "a smaller
    offset". Columns: `kind` (WRITE/COMMIT/CHECKPOINT), `a`, `b`, `c` whose meaning depends on the
    kind — WRITE: txn, key, write id; COMMIT: txn, begin timestamp, -; CHECKPOINT: user replay point
    (flush boundary L), minimum uncommitted (oldest begin timestamp among transactions uncommitted at
    L), -. `ckpt` lists the indices of the CHECKPOINT records (recovery takes the latest durable one).
    """

    WRITE, COMMIT, CHECKPOINT = 0, 1, 2

    def __init__(self) -> None:
        self.kind = array("q")
        self.a = array("q")
        self.b = array("q")
        self.c = array("q")
        self.end = array("q")
        self.ckpt = array("q")  # indices of the user checkpoint records
        self.tail = 0  # byte offset after the last record (buffered ones included)
        self.durable_n = 0  # records [0, durable_n) are on storage
        self.durable_end = 0  # byte offset after the last durable record

    def append(self, kind: int, a: int, b: int, c: int, nbytes: float) -> int:
        """Append one record to the buffer; returns its timestamp (end offset)."""
        self.tail += int(nbytes)
        self.kind.append(kind)
        self.a.append(a)
        self.b.append(b)
        self.c.append(c)
        self.end.append(self.tail)
        if kind == self.CHECKPOINT:
            self.ckpt.append(len(self.end) - 1)
        return self.tail

    def __len__(self) -> int:
        return len(self.end)

    def mark_durable(self, n: int) -> None:
        if n > self.durable_n:
            self.durable_n = n
            self.durable_end = self.end[n - 1]

    def lose_volatile(self) -> int:
        """A crash: the buffered (not yet durable) records are gone; returns how many."""
        n = self.durable_n
        lost = len(self.end) - n
        if lost:
            for col in (self.kind, self.a, self.b, self.c, self.end):
                del col[n:]
            ck = self.ckpt
            while ck and ck[-1] >= n:
                ck.pop()
        self.tail = self.durable_end
        return lost

    def latest_durable_checkpoint(self) -> int:
        """Index of the latest durable user checkpoint record (-1: none)."""
        ck = self.ckpt
        for i in range(len(ck) - 1, -1, -1):
            if ck[i] < self.durable_n:
                return ck[i]
        return -1

    def first_after(self, ts: int) -> int:
        """Index of the first durable record starting at or after timestamp `ts` (a record boundary)."""
        ends = _np(self.end, 0, self.durable_n)
        return int(np.searchsorted(ends, ts, side="right"))

    def columns(self, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        return (_np(self.kind, lo, hi), _np(self.a, lo, hi), _np(self.b, lo, hi), _np(self.c, lo, hi),
                _np(self.end, lo, hi))


class SystemLog:
    """System transaction log: mapping changes and flush boundaries, appended once durable.

    MAP records: `a` = page id, `b` = new location in the file stream. BOUNDARY records (one at the
    end of every page-flush cycle): `a` = commit timestamp L such that the pages reflect every
    transaction committed at or before L, `b` = the oldest begin timestamp among transactions still
    uncommitted at L, `t` = the simulated time L was captured (for staleness).
    """

    MAP, BOUNDARY = 0, 1

    def __init__(self) -> None:
        self.kind = array("q")
        self.a = array("q")
        self.b = array("q")
        self.t = array("d")
        self.end = array("q")
        self.tail = 0

    def __len__(self) -> int:
        return len(self.end)

    def append_flush(self, pages: np.ndarray, locs: np.ndarray, commit_ts: int, oldest: int, t: float,
                     map_bytes: float, boundary_bytes: float) -> None:
        n = len(pages)
        ends = self.tail + np.arange(1, n + 1, dtype=np.int64) * int(map_bytes)
        self.kind.extend(array("q", bytes(8 * n)))  # zeros = MAP
        self.a.extend(array("q", pages.astype(np.int64).tobytes()))
        self.b.extend(array("q", locs.astype(np.int64).tobytes()))
        self.t.extend(array("d", bytes(8 * n)))
        self.end.extend(array("q", ends.tobytes()))
        self.tail = int(ends[-1]) if n else self.tail
        self.tail += int(boundary_bytes)
        self.kind.append(self.BOUNDARY)
        self.a.append(commit_ts)
        self.b.append(oldest)
        self.t.append(t)
        self.end.append(self.tail)

    def offset(self, i: int) -> int:
        """Byte offset where record `i` starts."""
        return self.end[i - 1] if i > 0 else 0

    def columns(self, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        return (_np(self.kind, lo, hi), _np(self.a, lo, hi), _np(self.b, lo, hi), _np(self.t, lo, hi, np.float64))


class FileStream:
    """Append-only stream of page images: row i holds the values (write ids) of one page's keys."""

    def __init__(self, keys_per_page: int, capacity: int = 4096) -> None:
        self.data = np.zeros((capacity, keys_per_page), dtype=np.int64)
        self.n = 0

    def append(self, images: np.ndarray) -> int:
        """Store page images; returns the location of the first."""
        k = len(images)
        if self.n + k > len(self.data):
            grown = np.zeros((max(2 * len(self.data), self.n + k), self.data.shape[1]), dtype=np.int64)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : self.n + k] = images
        first = self.n
        self.n += k
        return first

    def page_values(self, mapping: np.ndarray) -> np.ndarray:
        """Values of every key as the pages `mapping` points at hold them (-1: the initial page, all 0)."""
        out = np.zeros((len(mapping), self.data.shape[1]), dtype=np.int64)
        have = mapping >= 0
        out[have] = self.data[mapping[have]]
        return out.reshape(-1)


@dataclass
class Checkpoint:
    """A mapping-table checkpoint: a snapshot of the mapping, written to storage chunk by chunk."""

    id: int
    mapping: np.ndarray  # location of every simulated page at the snapshot
    system_replay_start: int  # system-log record index the snapshot reflects everything before
    user_checkpoint: int  # index of the user checkpoint record in the user log (-1: the initial one)
    nbytes: float
    bytes_written: float = 0.0
    complete: bool = False
    torn: bool = False  # a crash struck while it was being written
    corrupt: bool = False

    @property
    def valid(self) -> bool:
        return self.complete and not self.corrupt and self.bytes_written >= self.nbytes


@dataclass
class MetadataRecord:
    checkpoint_id: int
    corrupt: bool = False


@dataclass
class MetadataLog:
    """Where the latest checkpoint is: one record appended after each checkpoint is complete."""

    records: list[MetadataRecord] = field(default_factory=list)

    def append(self, checkpoint_id: int) -> None:
        self.records.append(MetadataRecord(checkpoint_id))


#: what a `corrupt_data` fault on the `storage` target may hit (`what:`)
CORRUPTIBLE = ("newest_metadata_record", "newest_checkpoint")


class DurableMedia:
    """The store's durable media on its SSD: logs, file stream, checkpoints, metadata log.

    A crash loses nothing here except the user log's buffered tail. The load-time checkpoint
    (id 0, every page at its initial location) sits at a fixed location and is never corrupted.
    """

    def __init__(self, keys_per_page: int, n_pages: int, mapping_bytes: float) -> None:
        self.ulog = UserLog()
        self.syslog = SystemLog()
        self.fstream = FileStream(keys_per_page)
        initial = Checkpoint(0, np.full(n_pages, -1, dtype=np.int64), 0, -1, mapping_bytes, mapping_bytes,
                             complete=True)
        self.checkpoints: list[Checkpoint] = [initial]  # written when the store was loaded
        self.metadata = MetadataLog()
        self.metadata.append(0)

    def newest_valid_checkpoint(self) -> tuple[Checkpoint, int]:
        """The checkpoint the newest good metadata record names, and how many records were skipped."""
        skipped = 0
        for rec in reversed(self.metadata.records):
            ck = self.checkpoints[rec.checkpoint_id]
            if rec.corrupt or not ck.valid:
                skipped += 1  # corrupt record, or a torn/corrupt checkpoint: fall back to the previous one
                continue
            return ck, skipped
        return self.checkpoints[0], skipped  # every record corrupt: the load-time checkpoint's fixed location

    def tear_unfinished(self) -> int:
        """A crash killed the checkpoint writer: a checkpoint being written is torn for good."""
        n = 0
        for ck in self.checkpoints:
            if not ck.complete and not ck.torn:
                ck.torn = True
                n += 1
        return n

    def apply_system_log(self, mapping: np.ndarray, lo: int, hi: int):
        """Apply mapping changes of records [lo, hi) up to the last flush boundary among them.

        Returns (that boundary (L, oldest, time) or None, the position after it).
        """
        if hi <= lo:
            return None, lo
        kind, a, b, t = self.syslog.columns(lo, hi)
        bnd = np.flatnonzero(kind == SystemLog.BOUNDARY)
        if len(bnd) == 0:
            return None, lo
        last = int(bnd[-1])
        m = kind[:last] == SystemLog.MAP
        rp, rl = a[:last][m][::-1], b[:last][m][::-1]
        uniq, first = np.unique(rp, return_index=True)  # the last change of each page wins
        mapping[uniq] = rl[first]
        return (int(a[last]), int(b[last]), float(t[last])), lo + last + 1

    def last_boundary_before(self, end: int):
        """The last flush boundary (L, oldest, time) among system-log records [0, end), or None."""
        syslog = self.syslog
        kind = syslog.kind
        for i in range(end - 1, -1, -1):
            if kind[i] == SystemLog.BOUNDARY:
                return syslog.a[i], syslog.b[i], syslog.t[i]
        return None

    def last_commit_ts(self) -> int:
        """Timestamp of the last durable commit record (0: none)."""
        ulog = self.ulog
        kind = ulog.kind
        for i in range(ulog.durable_n - 1, -1, -1):
            if kind[i] == UserLog.COMMIT:
                return ulog.end[i]
        return 0

    def corrupt(self, what: str) -> bool:
        """A checksum mismatch on `what` (one of CORRUPTIBLE); False if there was nothing to corrupt."""
        if what == "newest_metadata_record":
            self.metadata.records[-1].corrupt = True
        elif what == "newest_checkpoint":
            done = [ck for ck in self.checkpoints[1:] if ck.complete]  # the load-time one is kept safe
            if not done:
                return False
            done[-1].corrupt = True
        else:
            raise ValueError(f"kv_recovery: corrupt_data what={what!r} (known: {', '.join(CORRUPTIBLE)})")
        return True
