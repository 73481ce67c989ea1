"""The indexes of the `pmem_image` model: memory images, copy checkpoints, their chains, the application log.

Plain numpy bookkeeping without simulated time (the actors price each operation):

- `Image`: one captured memory image: an index (page -> frame) that is either full (every page)
  or difference-only (pages changed since the previous image), a CRC32 checksum of the index,
  and the log position at capture.
- `ImageChain`: the retained images in capture order; resolving a page walks back along the
  chain to the nearest image that maps it; reclaiming the oldest image of a difference-only chain
  merges its entries into its successor (which becomes the new full base).
- `CopyCheckpoint`: the baseline's copy of page contents (whole memory or dirty pages).
- `AppLog`: the application's write-ahead log (page, version) records with a durable prefix.

Abstracted away: multi-level page tables (an index entry is one flat record).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from sim.systems.pmem_image.frames import FRAME, PageFrames


class _SealedIndex:
    """What an `Image` and a `CopyCheckpoint` share: an array of entries (`entry_array()`) over
    `pages` (None: every page) sealed by a CRC32 checksum that a fault can break."""

    pages: np.ndarray | None
    checksum: int

    def entry_array(self) -> np.ndarray:
        """The index entries a checksum covers (and a `corrupt_data` fault damages)."""
        raise NotImplementedError

    @property
    def full(self) -> bool:
        return self.pages is None

    @property
    def entries(self) -> int:
        return len(self.entry_array())

    def compute_checksum(self) -> int:
        c = zlib.crc32(self.entry_array().tobytes())
        if self.pages is not None:
            c = zlib.crc32(self.pages.tobytes(), c)
        return c

    def seal(self) -> None:
        self.checksum = self.compute_checksum()

    def verify(self) -> bool:
        return self.compute_checksum() == self.checksum


@dataclass(eq=False)
class Image(_SealedIndex):
    """A captured memory image: an index of page -> frame (full, or the pages changed since the previous)."""

    seq: int
    time: float
    log_pos: int
    frames: np.ndarray
    pages: np.ndarray | None = None  # None: full index over every page
    checksum: int = 0
    complete: bool = False  # capture finished (index written and durable where it lives)
    corrupt: bool = False  # a fault damaged its index (the checksum no longer matches)
    held: np.ndarray | None = None  # frames this image holds references on (allocator bookkeeping)
    record: tuple | None = None  # the index record last stored for it in the memory holding images
    durable: bool = False  # its capture reported it durable (complete in a persistent memory)

    def __post_init__(self) -> None:
        if self.held is None:
            self.held = self.frames.copy()

    def entry_array(self) -> np.ndarray:
        return self.frames


class ChainBroken(Exception):
    """Resolving an image met an image whose checksum fails (or that was lost)."""

    def __init__(self, image: Image) -> None:
        super().__init__(f"image {image.seq} fails its checksum")
        self.image = image


@dataclass
class Resolution:
    """A memory map resolved from an image: the frame of every page, and what it took."""

    frames: np.ndarray
    chain_length: int  # images walked (1 for a full index)
    entries_read: int  # index entries read along the way


class ImageChain:
    """Retained images in capture order (oldest first); the first of a difference chain is full."""

    def __init__(self, n_pages: int) -> None:
        self.n = n_pages
        self.images: list[Image] = []

    def __len__(self) -> int:
        return len(self.images)

    def latest(self) -> Image | None:
        return self.images[-1] if self.images else None

    def complete_images(self) -> list[Image]:
        return [im for im in self.images if im.complete]

    def index_of(self, image: Image) -> int:
        for i, im in enumerate(self.images):
            if im is image:
                return i
        raise KeyError(image.seq)

    def resolve(self, image: Image, verify: bool = True) -> Resolution:
        """The frame of every page in `image`, walking back to the nearest image mapping each page."""
        i = self.index_of(image)
        if image.full:
            if verify and not image.verify():
                raise ChainBroken(image)
            return Resolution(image.frames.copy(), 1, image.entries)
        out = np.full(self.n, -1, dtype=FRAME)
        unresolved = self.n
        read = 0
        walked = 0
        j = i
        while j >= 0 and unresolved > 0:
            im = self.images[j]
            walked += 1
            read += im.entries
            if verify and not im.verify():
                raise ChainBroken(im)
            if im.full:
                mask = out < 0
                out[mask] = im.frames[mask]
                unresolved = 0
                break
            pages = im.pages
            fresh = out[pages] < 0
            out[pages[fresh]] = im.frames[fresh]
            unresolved -= int(np.count_nonzero(fresh))
            j -= 1
        if unresolved > 0:  # a difference chain without its full base: cannot happen by construction
            raise ChainBroken(self.images[max(j, 0)])
        return Resolution(out, walked, read)

    def merge_oldest_into_next(self, frames_store: PageFrames, verify: bool = True) -> Image:
        """Drop the oldest image of a difference chain, folding its entries into the next (now full).

        Returns the dropped image. Raises ChainBroken when the oldest fails its checksum (the
        successor cannot be completed from a damaged base).
        """
        plan = self.plan_merge(verify)
        return self.apply_merge(frames_store, plan)

    def plan_merge(self, verify: bool = True) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The successor's index once the oldest is folded into it: (frames, held, checksum), None
        when it is full already. Changes nothing (the merged index is stored durably before it is applied)."""
        base, nxt = self.images[0], self.images[1]
        if verify and not (base.verify() and nxt.verify()):
            raise ChainBroken(base if not base.verify() else nxt)
        if nxt.full:
            return None
        merged = base.frames.copy()
        merged[nxt.pages] = nxt.frames
        held = base.held.copy()
        held[nxt.pages] = nxt.held
        return merged, held, zlib.crc32(merged.tobytes())

    def apply_merge(self, frames_store: PageFrames, plan: tuple[np.ndarray, np.ndarray, int] | None) -> Image:
        """Apply a planned merge: the successor becomes full, the oldest is dropped (returned)."""
        base, nxt = self.images[0], self.images[1]
        if plan is None:
            frames_store.unhold(base.held)
        else:
            merged, held, checksum = plan
            frames_store.unhold(base.held[nxt.pages])  # the base's versions the successor supersedes
            nxt.frames, nxt.held, nxt.pages, nxt.checksum = merged, held, None, checksum
        self.images.pop(0)
        return base

    def drop_oldest(self, frames_store: PageFrames) -> Image:
        """Drop the oldest image (full-index chain: images are independent)."""
        base = self.images.pop(0)
        frames_store.unhold(base.held)
        return base

    def drop_from(self, k: int, frames_store: PageFrames) -> list[Image]:
        """Drop images k.. (newest ones), releasing their references."""
        gone = self.images[k:]
        for im in gone:
            frames_store.unhold(im.held)
        del self.images[k:]
        return gone

    def drop_all(self, frames_store: PageFrames | None) -> list[Image]:
        gone = self.images
        if frames_store is not None:
            for im in gone:
                frames_store.unhold(im.held)
        self.images = []
        return gone


@dataclass(eq=False)
class CopyCheckpoint(_SealedIndex):
    """The baseline: page contents copied to a device (whole memory, or dirty pages since the previous)."""

    seq: int
    time: float
    log_pos: int
    contents: np.ndarray
    pages: np.ndarray | None = None  # None: whole memory
    data_bytes: float = 0.0
    checksum: int = 0
    complete: bool = False
    corrupt: bool = False
    held: np.ndarray | None = None  # fork_snapshot: frames the child shares copy-on-write until it exits

    def entry_array(self) -> np.ndarray:
        return self.contents


class CheckpointChain:
    """The baseline's retained checkpoints, oldest first; an incremental one needs every one back to a whole copy."""

    def __init__(self, n_pages: int) -> None:
        self.n = n_pages
        self.checkpoints: list[CopyCheckpoint] = []

    def __len__(self) -> int:
        return len(self.checkpoints)

    def latest(self) -> CopyCheckpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def complete_checkpoints(self) -> list[CopyCheckpoint]:
        return [c for c in self.checkpoints if c.complete]

    def chain_of(self, cp: CopyCheckpoint) -> list[CopyCheckpoint]:
        i = next(k for k, c in enumerate(self.checkpoints) if c is cp)
        j = i
        while j >= 0 and not self.checkpoints[j].full:
            j -= 1
        if j < 0:
            raise ChainBroken(self.checkpoints[0])  # type: ignore[arg-type]
        return self.checkpoints[j : i + 1]

    def resolve(self, cp: CopyCheckpoint, verify: bool = True) -> tuple[np.ndarray, int, float]:
        """(page versions, checkpoints read, data bytes read) of checkpoint `cp`."""
        chain = self.chain_of(cp)
        out = None
        nbytes = 0.0
        for c in chain:
            if verify and not c.verify():
                raise ChainBroken(c)  # type: ignore[arg-type]
            if c.full:
                out = c.contents.copy()
            else:
                out[c.pages] = c.contents
            nbytes += c.data_bytes
        return out, len(chain), nbytes

    def trim(self, keep: int) -> list[CopyCheckpoint]:
        """Keep the newest `keep` checkpoints plus the ones back to their whole copy; returns the dropped."""
        if len(self.checkpoints) <= keep:
            return []
        first = len(self.checkpoints) - keep
        while first > 0 and not self.checkpoints[first].full:
            first -= 1
        gone = self.checkpoints[:first]
        del self.checkpoints[:first]
        return gone


@dataclass
class AppLog:
    """The application's write-ahead log: one (page, version, time) record per write.

    Positions are global record numbers; `durable` is the end of the persisted prefix. Records
    before `base` have been truncated (no retained image or checkpoint needs them).
    """

    pages: np.ndarray = field(default_factory=lambda: np.zeros(1 << 16, dtype=FRAME))
    versions: np.ndarray = field(default_factory=lambda: np.zeros(1 << 16, dtype=FRAME))
    times: np.ndarray = field(default_factory=lambda: np.zeros(1 << 16, dtype=float))
    base: int = 0  # global position of slot 0
    end: int = 0  # global position after the last record
    durable: int = 0  # records before this position survive a failure

    def append(self, pages: np.ndarray, versions: np.ndarray, t: float, durable: bool) -> None:
        k = len(pages)
        lo = self.end - self.base
        if lo + k > len(self.pages):
            self._make_room(lo + k)
            lo = self.end - self.base
        self.pages[lo : lo + k] = pages
        self.versions[lo : lo + k] = versions
        self.times[lo : lo + k] = t
        self.end += k
        if durable:
            self.durable = self.end

    def _make_room(self, need: int) -> None:
        size = len(self.pages)
        while size < need:
            size *= 2
        for name in ("pages", "versions", "times"):
            arr = getattr(self, name)
            new = np.zeros(size, dtype=arr.dtype)
            new[: self.end - self.base] = arr[: self.end - self.base]
            setattr(self, name, new)

    def truncate(self, pos: int) -> None:
        """Forget records before global position `pos`."""
        pos = min(pos, self.end)
        if pos <= self.base:
            return
        n = self.end - pos
        shift = pos - self.base
        for arr in (self.pages, self.versions, self.times):
            arr[:n] = arr[shift : shift + n]
        self.base = pos

    def records(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(pages, versions) of records [lo, hi) (global positions; lo >= base)."""
        if lo < self.base:
            raise ValueError(f"log records from {lo} were truncated (log starts at {self.base})")
        a, b = lo - self.base, hi - self.base
        return self.pages[a:b], self.versions[a:b]

    def time_of(self, pos: int) -> float:
        return float(self.times[pos - self.base])

    def lose_unflushed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A failure: records after the durable prefix are gone; returns them (pages, versions, times)."""
        a, b = self.durable - self.base, self.end - self.base
        lost = (self.pages[a:b].copy(), self.versions[a:b].copy(), self.times[a:b].copy())
        self.end = self.durable
        return lost
