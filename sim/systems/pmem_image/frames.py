"""The frame table of the `pmem_image` model: physical page frames, the page table and copy-on-write.

Plain numpy bookkeeping without simulated time (the actors price each operation):
`PageFrames` holds page *versions* in physical frames, the process's page table (page -> frame),
per-frame image reference counts and the copy-on-write write path; `last_writes` and
`per_write_versions` turn a batch of writes into the versions they produce.

Abstracted away: page contents beyond their version number (a page is its version), multi-level
page tables (an index entry is one flat record), allocation policy of frames (a LIFO free list).
"""

from __future__ import annotations

import numpy as np

FRAME = np.int32  # frame ids and page versions (2^31 of either is far beyond any run)


class PageFrames:
    """Physical frames of one process's memory, its page table and image reference counts.

    `content[f]` is the page version stored in frame `f`; `page_frame[p]` the frame page `p` is
    mapped to; `img_ref[f]` how many retained images reference frame `f`; `live[f]` whether the
    page table maps it. A frame referenced by an image and no longer mapped is a *kept version*.
    With `copy_on_write`, a write to a frame an image references first moves the page to a fresh
    frame (the image's version survives); without it the write lands in place (the broken variant).
    """

    def __init__(self, n_pages: int, copy_on_write: bool = True) -> None:
        self.n = int(n_pages)
        self.copy_on_write = copy_on_write
        cap = self.n + max(1024, self.n // 4)
        self.content = np.zeros(cap, dtype=FRAME)
        self.img_ref = np.zeros(cap, dtype=np.int32)
        self.live = np.zeros(cap, dtype=bool)
        self.page_frame = np.arange(self.n, dtype=FRAME)
        self.live[: self.n] = True
        self._free = np.empty(cap, dtype=FRAME)  # a stack of free frame ids, top at `_nfree`
        self._nfree = cap - self.n
        self._free[: self._nfree] = np.arange(cap - 1, self.n - 1, -1, dtype=FRAME)
        self.dirty = np.ones(self.n, dtype=bool)  # changed since the last capture (all, before the first)
        self.kept_frames = 0  # frames held only by images
        self.frames_in_use = self.n

    # --- frame pool ------------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return len(self.content)

    def alloc(self, k: int) -> np.ndarray:
        if k > self._nfree:
            self._grow(k - self._nfree)
        top = self._nfree
        out = self._free[top - k : top][::-1].copy()
        self._nfree = top - k
        self.frames_in_use += k
        return out

    def _grow(self, need: int) -> None:
        old = self.capacity
        new = max(old * 2, old + need)
        self.content = np.concatenate([self.content, np.zeros(new - old, dtype=FRAME)])
        self.img_ref = np.concatenate([self.img_ref, np.zeros(new - old, dtype=np.int32)])
        self.live = np.concatenate([self.live, np.zeros(new - old, dtype=bool)])
        free = np.empty(new, dtype=FRAME)
        free[: self._nfree] = self._free[: self._nfree]
        free[self._nfree : self._nfree + new - old] = np.arange(new - 1, old - 1, -1, dtype=FRAME)
        self._nfree += new - old
        self._free = free

    def release_frames(self, frames: np.ndarray) -> None:
        k = len(frames)
        if k == 0:
            return
        self._free[self._nfree : self._nfree + k] = frames
        self._nfree += k
        self.frames_in_use -= k

    # --- the write path ------------------------------------------------------------------------
    def write(self, pages: np.ndarray, versions: np.ndarray) -> int:
        """Store `versions` into `pages` (unique); returns the number of copy-on-write faults."""
        f = self.page_frame[pages]
        cow = 0
        if self.copy_on_write:
            shared = self.img_ref[f] > 0
            cow = int(np.count_nonzero(shared))
            if cow:
                old = f[shared]
                new = self.alloc(cow)
                self.content[new] = self.content[old]  # the copy (then partly overwritten)
                self.live[old] = False
                self.live[new] = True
                self.page_frame[pages[shared]] = new
                self.kept_frames += cow
                f = self.page_frame[pages]
        self.content[f] = versions
        self.dirty[pages] = True
        return cow

    @property
    def mapped(self) -> bool:
        """The process's page table exists (false between a failure and its recovery)."""
        return bool(self.page_frame[0] >= 0)

    def versions(self) -> np.ndarray:
        """The version of every page as the page table maps it now."""
        return self.content[self.page_frame]

    # --- image references ------------------------------------------------------------------------
    def hold(self, frames: np.ndarray) -> None:
        """An image starts referencing `frames` (unique within the call)."""
        newly_kept = frames[(self.img_ref[frames] == 0) & ~self.live[frames]]
        self.kept_frames += len(newly_kept)
        self.img_ref[frames] += 1

    def unhold(self, frames: np.ndarray) -> None:
        """An image stops referencing `frames` (unique); frames nobody needs go back to the pool."""
        if len(frames) == 0:
            return
        self.img_ref[frames] -= 1
        gone = frames[(self.img_ref[frames] == 0) & ~self.live[frames]]
        self.kept_frames -= len(gone)
        self.release_frames(gone)

    def copy_out(self, pages: np.ndarray) -> np.ndarray:
        """Fresh frames holding copies of `pages`' current versions (a write-back to image frames)."""
        new = self.alloc(len(pages))
        self.content[new] = self.content[self.page_frame[pages]]
        return new

    # --- rebuilding the live mapping after a failure -----------------------------------------------
    def drop_live(self) -> None:
        """The process's own mapping is gone: frames no image holds are freed, the others become kept."""
        old = self.page_frame
        self.live[old] = False
        held = self.img_ref[old] > 0
        self.kept_frames += int(np.count_nonzero(held))
        self.release_frames(old[~held])
        self.page_frame = np.full(self.n, -1, dtype=FRAME)

    def map_shared(self, frames: np.ndarray) -> None:
        """Map every page to an image's frame (shared copy-on-write with the image)."""
        was_kept = (self.img_ref[frames] > 0) & ~self.live[frames]
        self.kept_frames -= int(np.count_nonzero(was_kept))
        self.page_frame = frames.astype(FRAME, copy=True)
        self.live[frames] = True

    def map_copy(self, versions: np.ndarray) -> None:
        """Map every page to a fresh frame holding `versions` (a restore that copies data)."""
        new = self.alloc(self.n)
        self.content[new] = versions
        self.page_frame = new
        self.live[new] = True


def last_writes(pages: np.ndarray, versions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last (page, version) of each page in a sequence of writes."""
    if len(pages) == 0:
        return pages, versions
    rp = pages[::-1]
    uniq, idx = np.unique(rp, return_index=True)
    return uniq, versions[::-1][idx]


def per_write_versions(current: np.ndarray, pages: np.ndarray) -> np.ndarray:
    """Version each write in `pages` (in order) produces, given the pages' `current` versions."""
    n = len(pages)
    order = np.argsort(pages, kind="stable")
    sp = pages[order]
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(sp[1:], sp[:-1], out=start[1:])
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0))
    out = np.empty(n, dtype=FRAME)
    out[order] = current[sp] + (idx - first) + 1
    return out
