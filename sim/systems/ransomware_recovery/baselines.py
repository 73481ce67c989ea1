"""The baselines' copies: backup images on the backup target, immutable snapshots on the array.

`BackupChain` stands for a backup application doing forever-incremental backups: a full image
(taken before the run) and every `backup_interval` an incremental image of the records changed
since the last one, read from the primary at its speed and written to the backup target at
its. The image holds what the primary held when it was read: records of an extent the ransomware
had encrypted are copied encrypted. Images sit on the backup target's device in extent-sized
chunks, which the attacker encrypts if it reaches the backup target. The restore point is the
latest image with no encrypted record in it (a malware scan of the image before restoring).

`SnapshotChain` stands for array snapshots (copy-on-write, metadata only, no cost charged) every
`snapshot_interval`, `snapshot_retention` kept: each records the versions of the records changed
since the previous one and the extents encrypted at that instant. Immutable snapshots cannot be
deleted; mutable ones are deleted by the ransomware when it starts (what Ryuk and Conti do to
shadow copies). Rollback: the latest snapshot with no encrypted extent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.systems.ransomware_recovery.layout import sorted_unique
from sim.systems.ransomware_recovery.nodes import Encrypted, batch_io
from sim.systems.ransomware_recovery.oracle import GARBAGE, LOST

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery


class BackupChain:
    """A full image and incremental images of the changed records, with the time each was read."""

    def __init__(self, system: RansomwareRecovery) -> None:
        self.system = system
        lay = system.layout
        self.rpc = lay.rpe  # records per chunk of an image
        self.changed = np.zeros(lay.records, dtype=bool)
        self.images: list[tuple[float, np.ndarray, np.ndarray, bool]] = []  # (time, ids, versions, clean)
        self.stored_records = float(lay.records)

    def agent(self):
        """The backup job: every `backup_interval`, an incremental image (runs on the backup target)."""
        s = self.system
        env, p, lay = s.env, s.params, s.layout
        while s.phase in ("normal", "attacked"):
            yield env.timeout(p.backup_interval)
            ids = np.flatnonzero(self.changed)
            self.changed[ids] = False
            t0 = env.now
            vers = s.prim_ver[ids].copy()  # a crash-consistent image: the array's view at t0
            enc = s.primary.encrypted(sorted_unique(lay.extent_of(ids)))
            clean = not enc.any()
            if not clean:
                enc_ext = sorted_unique(lay.extent_of(ids))[enc]
                vers[np.isin(lay.extent_of(ids), enc_ext)] = GARBAGE  # ciphertext copied as it is
            try:
                nbytes = len(ids) * lay.record_size
                cmds = max(1, int(nbytes // p.extent_size) + 1)
                yield from batch_io(env, s.primary.disk, nbytes, cmds, write=False)
                yield from batch_io(env, s.backup_node.disk, nbytes, cmds, write=True)
            except simpy.Interrupt:
                self.changed[ids] = True  # the image is abandoned; its records go into the next one
                raise
            k = len(self.images) + 1
            for c in range(-(-len(ids) // self.rpc)):
                s.backup_node.disk.data[(k, c)] = (k, c)
            self.images.append((t0, ids, vers, clean))
            self.stored_records += len(ids)
            s.c["backups_taken"].inc()

    def restore_values(self) -> tuple[np.ndarray, float]:
        """Every record as the chosen restore point holds it (LOST where its chunk is encrypted),
        and the time of that point."""
        s = self.system
        n = s.layout.records
        check = s.params.broken != "skip_clean_point_check"
        use = self.images
        if check:  # the chain up to its first image holding encrypted records
            first_bad = next((i for i, im in enumerate(self.images) if not im[3]), len(self.images))
            use = self.images[:first_bad]
        data = s.backup_node.disk.data
        vals = np.zeros(n, dtype=np.int32)
        full_chunks = s.backup_node.n_extents
        enc = s.backup_node.encrypted(np.arange(full_chunks))
        if enc.any():
            bad = np.repeat(enc, self.rpc)[:n]
            vals[bad] = LOST
        for k, (_t, ids, vers, _clean) in enumerate(use, start=1):
            chunk_enc = np.fromiter((isinstance(data.get((k, c)), Encrypted)
                                     for c in range(-(-len(ids) // self.rpc))), bool)
            v = vers.copy()
            if chunk_enc.any():
                v[np.repeat(chunk_enc, self.rpc)[:len(ids)]] = LOST
            vals[ids] = v
        point = use[-1][0] if use else 0.0
        return vals, point


class SnapshotChain:
    """Snapshots as deltas over a base image; the base absorbs the snapshots retention drops."""

    def __init__(self, system: RansomwareRecovery) -> None:
        self.system = system
        n = system.layout.records
        self.changed = np.zeros(n, dtype=bool)
        self.base: np.ndarray | None = np.zeros(n, dtype=np.int32)
        self.base_clean = True
        self.base_time = 0.0
        self.snaps: list[tuple[float, np.ndarray, np.ndarray, frozenset[int]]] = []

    def snapshotter(self):
        """Every `snapshot_interval`, a snapshot of the array (runs on the primary)."""
        s = self.system
        env, p = s.env, s.params
        while s.phase in ("normal", "attacked"):
            yield env.timeout(p.snapshot_interval)
            if self.base is None:
                continue  # deleted by the attacker: the schedule keeps running on an empty chain
            ids = np.flatnonzero(self.changed)
            self.changed[ids] = False
            self.snaps.append((env.now, ids, s.prim_ver[ids].copy(), s.primary.encrypted_set()))
            s.c["snapshots_taken"].inc()
            if len(self.snaps) > p.snapshot_retention:
                t, old_ids, old_vers, enc = self.snaps.pop(0)
                self.base[old_ids] = old_vers
                self.base_clean &= not enc
                self.base_time = t

    def delete_all(self) -> None:
        self.base = None
        self.snaps = []

    def retained_records(self) -> float:
        return float(sum(len(ids) for _t, ids, _v, _e in self.snaps))

    def rollback_values(self) -> tuple[np.ndarray, float]:
        """The image of the chosen snapshot (GARBAGE in its encrypted extents, LOST if none is left)."""
        s = self.system
        n = s.layout.records
        if self.base is None:
            return np.full(n, LOST, dtype=np.int32), float("nan")
        use = self.snaps
        if s.params.broken != "skip_clean_point_check":
            first_bad = next((i for i, sn in enumerate(self.snaps) if sn[3]), len(self.snaps))
            use = self.snaps[:first_bad]
            if not use and not self.base_clean:
                return np.full(n, LOST, dtype=np.int32), float("nan")
        vals = self.base.copy()
        for _t, ids, vers, _e in use:
            vals[ids] = vers
        enc = use[-1][3] if use else frozenset()
        if enc:
            vals[np.isin(s.layout.extent_of(np.arange(n)), np.fromiter(enc, np.int64))] = GARBAGE
        return vals, (use[-1][0] if use else self.base_time)
