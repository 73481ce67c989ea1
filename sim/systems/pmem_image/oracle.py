"""The oracle of the `pmem_image` model: the application's own view of its memory.

It is kept apart from the mechanism's bookkeeping (frames, indexes, checkpoints): every write
the application makes updates it, it records memory at every capture instant and at every
failure, and writes whose log records were lost (never acknowledged) are taken back. Restores,
clones and recoveries are compared page by page against it.
"""

from __future__ import annotations

import numpy as np

from sim.systems.pmem_image.frames import FRAME


class MemoryOracle:
    """The application's own view of its memory (page -> version), independent of the mechanism."""

    def __init__(self, n_pages: int) -> None:
        self.truth = np.zeros(n_pages, dtype=FRAME)
        self.snapshots: dict[int, np.ndarray] = {}  # image/checkpoint seq -> memory at its instant

    def snapshot(self, seq: int) -> None:
        self.snapshots[seq] = self.truth.copy()

    def drop(self, seq: int) -> None:
        self.snapshots.pop(seq, None)

    def forget_unacknowledged(self, pages: np.ndarray, versions: np.ndarray) -> None:
        """Writes whose log records were lost never happened for the application's clients."""
        if len(pages) == 0:
            return
        first_pages, first_idx = np.unique(pages, return_index=True)
        self.truth[first_pages] = versions[first_idx] - 1

    @staticmethod
    def differing(got: np.ndarray, expected: np.ndarray) -> int:
        """Pages whose version differs from the oracle's."""
        return int(np.count_nonzero(got != expected))
