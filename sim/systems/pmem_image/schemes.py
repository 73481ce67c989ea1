"""The four schemes as strategy classes, picked from `SCHEMES` by `params.scheme`.

- `FullIndex` / `DiffIndex` (`ImageScheme`): memory images in an `ImageChain`; a full index maps
  every page in every image, a difference-only index maps the pages changed since the previous
  image and reclaims by merging the oldest image into its successor.
- `CopyWhole` / `CopyDirty` (`CopyScheme`): the copy-checkpoint baseline in a `CheckpointChain`,
  copying the whole memory every time, or the dirty pages with a whole copy every `copy_full_every`-th.
- `ForkSnapshot` / `CriuPredump`: the same checkpoints copied while the application runs
  (`background_copy.py`: Redis BGSAVE's fork + copy-on-write, CRIU's iterative pre-dump).

A scheme owns what differs between them: which actor captures, when a capture must be full,
how a point is restored, installed at recovery, reclaimed, quarantined and forgotten.
"""

from __future__ import annotations

from typing import ClassVar

from sim.systems.pmem_image.background_copy import fork_checkpointer, predump_checkpointer
from sim.systems.pmem_image.capture import image_capturer
from sim.systems.pmem_image.copy_checkpoint import copy_checkpointer, manifest_key, part_key, parts
from sim.systems.pmem_image.durability import (
    commit_key,
    forget_records,
    index_key,
    persist_images,
    reconcile_images,
)
from sim.systems.pmem_image.restore import restore_checkpoint, restore_image
from sim.systems.pmem_image.store import ChainBroken


class Scheme:
    """What the model asks of a scheme (`m`: the model, whose chains, frames and gauges it works on)."""

    name: ClassVar[str] = ""
    #: the fault points its actors pass (prefixes; with group commit also GROUP_COMMIT_POINTS)
    fault_prefixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, m) -> None:
        self.m = m

    def items(self) -> list:
        """The retained points (images or checkpoints), oldest first, complete or not."""
        raise NotImplementedError

    def points(self) -> list:
        """The complete points, oldest first."""
        return [x for x in self.items() if x.complete]

    def retained(self, point) -> bool:
        return any(x is point for x in self.items())

    def _cut(self, bad) -> tuple[int, int, bool]:
        """The run of points from `bad` to the next full one (they depend on it); newest gone?"""
        items = self.items()
        k = next(i for i, x in enumerate(items) if x is bad)
        end = k + 1
        while end < len(items) and not items[end].full:
            end += 1
        return k, end, end >= len(items)

    def lose_memory(self, power: bool) -> None:
        """The node lost DRAM (and, with power, PMEM's unpersisted stores); default: nothing kept there."""
        return None


class ImageScheme(Scheme):
    """Memory images with linked indexes: no data copied, copy-on-write keeps the versions."""

    #: reclaiming merges the oldest image into its successor (a difference chain)
    merges: ClassVar[bool] = False
    fault_prefixes = ("pmem.capture.", "pmem.reclaim.dropped")

    def items(self) -> list:
        return self.m.chain.images

    def points(self) -> list:
        return self.m.chain.complete_images()

    def capturer(self):
        return image_capturer(self.m)

    def full_capture_due(self) -> bool:
        raise NotImplementedError

    def meta(self, im) -> float:
        """Index bytes of image `im`."""
        p = self.m.params
        return im.entries * (p.index_entry_size if im.full else p.diff_entry_size)

    def forget(self, im) -> None:
        self.m.oracle.drop(im.seq)
        self.m.meta_gauge.add(-self.meta(im))
        forget_records(self.m, im.seq)

    def timed_restore(self, target, clone: bool = False):
        return restore_image(self.m, target, clone)

    def drop_incomplete(self) -> None:
        m = self.m
        for im in [im for im in m.chain.images if not im.complete]:
            m.chain.images.remove(im)
            m.frames.unhold(im.held)
            self.forget(im)
            m.lost_newest()

    def lose_memory(self, power: bool) -> None:
        """The node lost DRAM (and, with power, PMEM's unpersisted stores): keep what survived."""
        m = self.m
        if power or m.image_mem is m.dram:
            reconcile_images(m)

    def install(self, chosen, versions) -> None:
        """Recovery maps the chosen image's pages (shared copy-on-write when its index is sound)."""
        m = self.m
        frames = m.frames
        res = m.chain.resolve(chosen, verify=False)
        if m.params.placement == "mixed" or not (res.frames >= 0).all() or not (res.frames < frames.capacity).all():
            frames.map_copy(versions)
            if m.params.placement == "mixed":
                m.shadow = res.frames.copy()
        else:
            frames.map_shared(res.frames)

    def drop_newer_than(self, chosen) -> int:
        m = self.m
        k = m.chain.index_of(chosen)
        gone = m.chain.drop_from(k + 1, m.frames)
        for im in gone:
            self.forget(im)
        return len(gone)

    def drop_all(self) -> None:
        m = self.m
        for im in m.chain.drop_all(m.frames):
            self.forget(im)
        m.shadow = None

    def reclaim(self):
        """Drop images beyond the retention (a generator); returns the index entries touched.

        A merge stores the successor's merged (full) index and persists it before the chain
        changes, then drops the oldest image's records: a power loss before the first persist
        leaves the old pair, after it the merged successor and (until the drop is durable) a
        garbage record recovery deletes.
        """
        m = self.m
        p, chain = m.params, m.chain
        fp = m.sim.fault_point
        touched = 0
        while len(chain.complete_images()) > p.images_retained:
            if len(chain) < 2 or not self.merges:
                gone = chain.drop_oldest(m.frames)
                touched += gone.entries
                self.forget(gone)
                fp("pmem.reclaim.dropped")
                yield from persist_images(m, (index_key(gone.seq), commit_key(gone.seq)))
                continue
            base, nxt = chain.images[0], chain.images[1]
            try:
                plan = chain.plan_merge(verify=p.verify_checksums)
            except ChainBroken as e:
                self.quarantine(e.image)
                continue
            nxt_entries = nxt.entries
            if plan is not None:
                record = (nxt.seq, plan[0], None, plan[2])
                # the merge reads both indexes and writes the successor's full one (memory bandwidth)
                yield from m.image_mem.read(self.meta(base) + self.meta(nxt))
                merged_bytes = m.n_pages * p.index_entry_size
                yield from m.image_mem.write(merged_bytes, {index_key(nxt.seq): record})
                m.meta_written.inc(merged_bytes)
                fp("pmem.reclaim.merged_written")
                yield from persist_images(m, (index_key(nxt.seq),))
                fp("pmem.reclaim.merged_persisted")
                if m.image_mem.get(index_key(nxt.seq)) is not record or chain.images[:2] != [base, nxt]:
                    break  # a failure rolled the merged index back or changed the chain: try later
            gone = chain.apply_merge(m.frames, plan)
            if plan is not None:
                nxt.record = record  # the merged index, durable
            touched += gone.entries + nxt_entries
            self.forget(gone)
            m.meta_gauge.add(
                (m.n_pages - nxt_entries) * p.index_entry_size
                + nxt_entries * (p.index_entry_size - p.diff_entry_size)
            )
            fp("pmem.reclaim.base_dropped")
            yield from persist_images(m, (index_key(gone.seq), commit_key(gone.seq)))
        oldest = chain.complete_images()
        if oldest:
            m.log.truncate(oldest[0].log_pos)
        return touched

    def quarantine(self, bad) -> None:
        """A damaged image was detected: drop it and every image that depends on it."""
        m = self.m
        m.corruption_detected.inc()
        k, end, newest_gone = self._cut(bad)
        images = m.chain.images
        for im in images[k:end]:
            m.frames.unhold(im.held)
            self.forget(im)
        del images[k:end]
        if newest_gone:
            m.lost_newest()
        m.kept_gauge.set(m.frames.kept_frames * m.params.page_size)


class FullIndex(ImageScheme):
    """Every image maps every page (like copying the page table, as fork does); images are independent."""

    name = "full_index"

    def full_capture_due(self) -> bool:
        return True


class DiffIndex(ImageScheme):
    """Each image maps only the pages changed since the previous one; the oldest retained is full."""

    name = "diff_index"
    merges = True
    fault_prefixes = ("pmem.capture.", "pmem.reclaim.merged_", "pmem.reclaim.base_dropped")  # never a plain drop

    def full_capture_due(self) -> bool:
        return self.m.need_full or self.m.chain.latest() is None


class CopyScheme(Scheme):
    """The copy-checkpoint baseline: stop the application and copy memory to the SSD or object store."""

    fault_prefixes = ("pmem.copy.",)

    def __init__(self, m) -> None:
        super().__init__(m)
        self.copies_since_full = 0

    def items(self) -> list:
        return self.m.ckpts.checkpoints

    def points(self) -> list:
        return self.m.ckpts.complete_checkpoints()

    def capturer(self):
        return copy_checkpointer(self.m)

    def whole_copy_due(self) -> bool:
        raise NotImplementedError

    def forget(self, cp) -> None:
        m = self.m
        if cp.held is not None:  # a fork snapshot's child dies with it: its shared frames are released
            m.frames.unhold(cp.held)
            cp.held = None
        m.oracle.drop(cp.seq)
        p = m.params
        m.meta_gauge.add(-(p.index_entry_size if cp.full else len(cp.contents) * p.diff_entry_size))
        if m.object_store is not None:
            for i in range(len(parts(m, cp.data_bytes))):
                m.object_store.remove(part_key(cp, i))
            m.object_store.remove(manifest_key(cp))

    def timed_restore(self, target, clone: bool = False):
        return restore_checkpoint(self.m, target)

    def drop_incomplete(self) -> None:
        m = self.m
        for cp in [c for c in m.ckpts.checkpoints if not c.complete]:
            self.forget(cp)
            m.ckpts.checkpoints.remove(cp)
            m.lost_newest()

    def install(self, chosen, versions) -> None:
        self.m.frames.map_copy(versions)

    def drop_newer_than(self, chosen) -> int:
        cps = self.m.ckpts.checkpoints
        k = next(i for i, c in enumerate(cps) if c is chosen)
        gone = cps[k + 1 :]
        for cp in gone:
            self.forget(cp)
        del cps[k + 1 :]
        return len(gone)

    def drop_all(self) -> None:
        for cp in list(self.m.ckpts.checkpoints):
            self.forget(cp)
        self.m.ckpts.checkpoints = []

    def reclaim(self):
        """Keep the newest `images_retained` checkpoints plus those back to their whole copy (a generator)."""
        m = self.m
        yield from ()
        touched = 0
        for cp in m.ckpts.trim(m.params.images_retained):
            touched += 1
            self.forget(cp)
        oldest = m.ckpts.complete_checkpoints()
        if oldest:
            m.log.truncate(m.ckpts.chain_of(oldest[0])[0].log_pos)
        return touched

    def quarantine(self, bad) -> None:
        """A damaged checkpoint was detected: drop it and every increment that depends on it."""
        m = self.m
        m.corruption_detected.inc()
        k, end, newest_gone = self._cut(bad)
        cps = m.ckpts.checkpoints
        for cp in cps[k:end]:
            self.forget(cp)
        del cps[k:end]
        if newest_gone:
            m.lost_newest()
        m.kept_gauge.set(m.frames.kept_frames * m.params.page_size)


class CopyWhole(CopyScheme):
    """Every checkpoint copies the whole memory."""

    name = "copy_whole"

    def whole_copy_due(self) -> bool:
        return True


class CopyDirty(CopyScheme):
    """The pages dirtied since the previous checkpoint; a whole copy every `copy_full_every`-th time."""

    name = "copy_dirty"

    def whole_copy_due(self) -> bool:
        m = self.m
        return m.need_full or m.ckpts.latest() is None or self.copies_since_full + 1 >= m.params.copy_full_every


class ForkSnapshot(CopyWhole):
    """Redis BGSAVE: fork (paused for the page-table copy), the child writes the whole memory in the background."""

    name = "fork_snapshot"

    def capturer(self):
        return fork_checkpointer(self.m)


class CriuPredump(CopyDirty):
    """CRIU iterative pre-dump: dirty-page copy rounds while running, then a short final freeze."""

    name = "criu_predump"

    def capturer(self):
        return predump_checkpointer(self.m)


#: `params.scheme` -> its strategy class
SCHEMES: dict[str, type[Scheme]] = {
    cls.name: cls for cls in (FullIndex, DiffIndex, CopyWhole, CopyDirty, ForkSnapshot, CriuPredump)
}
