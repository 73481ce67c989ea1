"""Where images live: their index, commit record and frames as stores in the memory holding images.

An image is durable only through what the memory holding images (`m.image_mem`: PMEM with
`placement: pmem` or `mixed`, DRAM with `placement: dram`) keeps across a failure, using the
`Memory` component's persistence domain: a store is visible at once and durable only after
`persist()` (clwb + sfence; under ADR, the default) or at once (`pmem: {eadr: true}`); a power
loss rolls every unpersisted store back, and DRAM (or a PMEM configured `persistent: false`)
keeps nothing. Three kinds of key:

- `("index", seq)`: the image's index record (its entries, pages and checksum).
- `("commit", seq)`: the capture's commit record (one cache line), stored and persisted after the
  index, its frames and the log up to the image's position are durable. Recovery only uses an
  image whose commit record is durable.
- `FRAMES_KEY`: the contents of the frame pool (page versions) as the last capture's flush left
  them: a capture writes the lines of every page dirtied since the previous image back (the
  flush is charged at the memory's write bandwidth under ADR) and persists them; stores the
  application made since then are rolled back by a power loss.

After the node loses memory, `reconcile_images` keeps the images whose index record (the one
the mechanism last stored) and commit record survived, rolls the frame contents back to the
durable ones, drops the rest (and the difference images that depend on them) and reports an
image that was reported captured in a persistent memory and did not survive
(`captured_image_survives_power_loss`): the oracle's side of "captured means durable".

Persists are ranged (`Memory.persist(keys)`): a capture persists its index record and the frame
contents, then its commit record; a merge its merged index, then the deletes of the dropped
image's records; no persist makes another actor's pending stores durable. Deletes of dropped
images' records that no persist covers (a quarantine, a failure's drop) are garbage after a power
loss and collected by `reconcile_images`. Abstracted away: the application log's durability stays in `AppLog.durable`, and its fences are charged as time
without persisting the image's stores. Torn index records (a partially flushed index) are not
modelled: an unpersisted record is rolled back whole.
"""

from __future__ import annotations

import numpy as np

FRAMES_KEY = ("frames",)
COMMIT_RECORD_SIZE = 64.0  # one cache line: sequence number, log position, checksum of the index
UNKNOWN = -1  # the version of a frame whose contents were never made durable


def index_key(seq: int) -> tuple[str, int]:
    return ("index", seq)


def commit_key(seq: int) -> tuple[str, int]:
    return ("commit", seq)


def index_record(im) -> tuple:
    """What an image's index record holds (a new tuple each time it is stored)."""
    return (im.seq, im.frames, im.pages, im.checksum)


def persists(m) -> bool:
    """Whether the image path persists its stores (false: the broken variant `skip_persist`)."""
    return not m.params.skip_persist


def persist_images(m, keys):
    """clwb of the lines holding `keys` + sfence (a ranged persist: other pending stores stay volatile);
    the broken variant `skip_persist` leaves it out."""
    if persists(m) and m.image_mem is m.pmem:
        yield from m.pmem.persist(keys)


def log_fence(m):
    """The fence that makes the log's flushed lines durable: its time only (see the module's note)."""
    yield m.env.timeout(m.pmem.params.flush_latency)


def forget_records(m, seq: int) -> None:
    """The image is dropped: delete its records (a store like any other, durable at the next persist)."""
    mem = m.image_mem
    mem.delete(index_key(seq))
    mem.delete(commit_key(seq))


def survived(m, im) -> bool:
    """The image's index record (the one last stored) and its commit record are in the memory."""
    mem = m.image_mem
    return mem.get(index_key(im.seq)) is im.record and mem.get(commit_key(im.seq)) is True


def reconcile_images(m) -> None:
    """After the node lost memory: keep what survived, roll frames back, report captured images lost."""
    scheme, chain, frames = m.scheme, m.chain, m.frames
    mem = m.image_mem
    snap = mem.get(FRAMES_KEY)
    content = frames.content
    k = 0 if snap is None else min(len(snap), len(content))
    if k:
        content[:k] = snap[:k]
    content[k:] = UNKNOWN
    lost = []
    base_ok = False
    for im in chain.images:
        ok = survived(m, im) and (im.full or base_ok)
        base_ok = ok
        if not ok:
            lost.append(im)
    if lost:
        gone = set(map(id, lost))
        chain.images = [im for im in chain.images if id(im) not in gone]
        for im in lost:
            frames.unhold(im.held)
            scheme.forget(im)
            if im.durable:
                m.violation_log.add(
                    "captured_image_survives_power_loss",
                    f"image {im.seq} (t={im.time:.6g}s) was reported captured in {mem.name} "
                    f"but its index or commit record did not survive (t={m.env.now:.6g}s)",
                    m.env.now,
                )
        m.images_lost.inc(len(lost))
        m.lost_newest()
    # records of images the chain no longer holds (a drop whose delete was rolled back): garbage
    keep = {im.seq for im in chain.images}
    for key in [key for key in mem.data if key[0] in ("index", "commit") and key[1] not in keep]:
        mem.delete(key)
    if mem.params.persistent:
        mem.persist_now()
    m.kept_gauge.set(frames.kept_frames * m.params.page_size)


def frames_snapshot(frames) -> np.ndarray:
    """The frame contents a capture's flush makes durable."""
    return frames.content.copy()
