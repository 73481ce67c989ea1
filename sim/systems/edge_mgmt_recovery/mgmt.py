"""Management information files: which node holds each, its live entries, its log position, checkpoints.

Real behaviour it stands for: a management file covers `files_per_mgmt` user files and lives on
one node (its owner), which applies every operation on those files (sent by the node that
accepted it) to the live entries and records, per node, the highest LSN applied (the file's log
position). A checkpoint is a point-in-time copy of the entries with that position, written to the
cluster's shared storage, so it survives the owner. A lost file is unavailable (its `epoch`
changes, so updates in flight to the dead owner are dropped) until a rebuild installs it again.
The live entries of every file share one array (17 bytes a file); a checkpoint copies one slice.
"""

from __future__ import annotations

import numpy as np

from sim.systems.edge_mgmt_recovery.state import ENTRY


class Checkpoint:
    """One committed checkpoint: entries (None: the initial population), log position, time, and
    whether the file was known incomplete (rebuilt over a log gap) when it was taken."""

    __slots__ = ("table", "vector", "time", "incomplete")

    def __init__(self, table: np.ndarray | None, vector: np.ndarray, time: float, incomplete: bool = False) -> None:
        self.table = table
        self.vector = vector
        self.time = time
        self.incomplete = incomplete

    def entries(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=ENTRY) if self.table is None else self.table.copy()


class MgmtFiles:
    """Every management file of the cluster: owner, epoch, live entries, log position, checkpoint."""

    def __init__(self, env, files: int, fpm: int, nodes: int) -> None:
        self.env = env
        self.files = files
        self.fpm = fpm
        self.n = -(-files // fpm)
        self.owner = np.arange(self.n, dtype=np.int32) % nodes  # round-robin placement
        self.epoch = np.zeros(self.n, dtype=np.int64)
        self.live = np.zeros(files, dtype=ENTRY)
        self.vector = np.zeros((self.n, nodes), dtype=np.int64)
        self.ckpt = [Checkpoint(None, np.zeros(nodes, dtype=np.int64), 0.0) for _ in range(self.n)]
        self.incomplete = np.zeros(self.n, dtype=bool)  # rebuilt over a log gap: known incomplete
        self.lost_from = np.full(self.n, -1, dtype=np.int32)  # the owner that lost it (while lost)
        self.lost_at = np.full(self.n, np.nan)
        self._ready: dict[int, object] = {}

    def span(self, m: int) -> tuple[int, int]:
        return m * self.fpm, min((m + 1) * self.fpm, self.files)

    def size(self, m: int) -> int:
        lo, hi = self.span(m)
        return hi - lo

    def available(self, m: int) -> bool:
        return self.owner[m] >= 0

    def ready(self, m: int):
        """An event that triggers when management file `m` is installed again."""
        ev = self._ready.get(m)
        if ev is None:
            ev = self._ready[m] = self.env.event()
        return ev

    def owned_by(self, node: int) -> np.ndarray:
        return np.flatnonzero(self.owner == node)

    def lose(self, m: int, node: int) -> None:
        self.owner[m] = -1
        self.epoch[m] += 1
        self.lost_from[m] = node
        self.lost_at[m] = self.env.now

    def install(self, m: int, node: int, table: np.ndarray, vector: np.ndarray, incomplete: bool) -> None:
        lo, hi = self.span(m)
        self.incomplete[m] = incomplete
        self.live[lo:hi] = table
        self.vector[m] = vector
        self.owner[m] = node
        self.epoch[m] += 1
        self.lost_from[m] = -1
        self.lost_at[m] = np.nan
        ev = self._ready.pop(m, None)
        if ev is not None:
            ev.succeed()

    def snapshot(self, m: int) -> Checkpoint:
        """A point-in-time copy of the live entries, their log position and the incomplete flag
        (taken atomically; its time is set when it commits)."""
        lo, hi = self.span(m)
        return Checkpoint(self.live[lo:hi].copy(), self.vector[m].copy(), 0.0, bool(self.incomplete[m]))
