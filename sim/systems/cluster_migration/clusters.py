"""The two sides of the migration: the source cluster's data and the target cluster's nodes.

`SourceCluster` stands for the source's storage: each component's data in chunks, each at a
version; writes continue while a component is copied online (a `dirty_fraction` of its chunks
change), and stopping a component at cut-over freezes its versions (told to the oracle).
`TargetNode` is a `Host`: it stores the chunks it received (checksums) and the components
running on it; a crash of the node loses both (a failed node is lost to the migration).
"""

from __future__ import annotations

import math

import numpy as np

from sim.components.host import Host


class SourceCluster:
    """Chunked data per component, with versions; a component runs until stopped at cut-over."""

    def __init__(self, n_chunks: list[int], rng: np.random.Generator, dirty_fraction: float,
                 dirty_rate: float = 0.0) -> None:
        self.versions: list[list[int]] = [[1] * k for k in n_chunks]
        self.running = [True] * len(n_chunks)
        self._rng = rng
        self._dirty = dirty_fraction
        self._rate = dirty_rate  # per second of serving after the copy (0: the fixed fraction only)

    def stop(self, comp: int, served_after_copy: float = 0.0) -> list[int]:
        """Quiesce and stop `comp`: the chunks written during its online copy, and (with a rate) those
        written while it kept serving after its copy (waiting at the gate), get a new version."""
        v = self.versions[comp]
        if self.running[comp]:
            k = len(v)
            f = self._dirty
            if self._rate > 0 and served_after_copy > 0:
                f = 1.0 - (1.0 - f) * math.exp(-self._rate * served_after_copy)
            n_dirty = int(round(f * k))
            if n_dirty:
                for j in self._rng.choice(k, size=n_dirty, replace=False):
                    v[int(j)] += 1
            self.running[comp] = False
        return v

    def restart(self, comp: int) -> None:
        """A rollback: the component runs on the source again."""
        self.running[comp] = True


class TargetNode(Host):
    """A node of the target cluster: chunks received (checksums by component) and components running."""

    def __init__(self, sim, name: str, index: int, restart_time: float) -> None:
        super().__init__(sim, None, name, restart_time=restart_time)
        self.index = index
        self.store: dict[int, list[int | None]] = {}
        self.running: set[int] = set()
        self.failed = False  # lost to the migration once it has crashed

    def _lose_volatile(self, reason: str) -> None:
        self.store = {}
        self.running = set()
