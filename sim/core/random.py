"""Named, independent random streams derived from one scenario seed.

Each component or workload asks for its stream by name; the stream is derived from
(seed, stable hash of the name) with numpy's SeedSequence, so adding a component never shifts
the draws another one sees, and a run is a pure function of its seed.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Streams:
    """Factory of named `numpy.random.Generator`s for one replication."""

    __slots__ = ("seed", "_cache")

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for `name`; the same object on every call within a run."""
        gen = self._cache.get(name)
        if gen is None:
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(_name_key(name),))
            gen = np.random.Generator(np.random.PCG64(ss))
            self._cache[name] = gen
        return gen

    __call__ = get


def derive_seed(seed: int, *names: object) -> int:
    """A 63-bit seed derived from `seed` and a path of names (for replications, sweep points)."""
    key = [_name_key(str(n)) for n in names]
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(key))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
