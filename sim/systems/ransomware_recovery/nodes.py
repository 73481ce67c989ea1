"""The storage servers: the primary array, the isolated critical store, the context store and
the backup target, each a `StorageNode` with one device whose blocks are extents of records.

The node's `ransomware` fault (component library) encrypts the device's extents at the fault's
rate; an encrypted extent holds `Encrypted(extent)` and every record in it is unreadable on that
node. These nodes batch the encryption once per `RANSOMWARE_TICK` = 1 s (the component's default
is 1 ms, which for hours-long attacks would cost a million events; 1 s moves at most a few
extents per tick at published encryption speeds). `PrimaryArray` also reports the start of an
attack to the model, which starts the oracle's pre-attack record and the detector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.components.node import Encrypted, NodeParams, StorageNode
from sim.components.storage import BlockDevice

__all__ = ["ArrayNode", "PrimaryArray", "Encrypted", "batch_io"]


class ArrayNode(StorageNode):
    """A storage server with one device ("disk") holding `n_extents` extents."""

    RANSOMWARE_TICK = 1.0

    def __init__(self, sim, device_params, extent_size: float, n_extents: int, name: str) -> None:
        dev = device_params.model_copy(update={"block_size": float(extent_size)})
        super().__init__(sim, NodeParams(devices={"disk": dev}), name)
        self.disk: BlockDevice = self.devices["disk"]
        self.n_extents = n_extents
        self.fill()

    def fill(self) -> None:
        """Every extent present and clean (a fresh or rebuilt device)."""
        self.disk.data = {e: e for e in range(self.n_extents)}

    def encrypted(self, extents: np.ndarray) -> np.ndarray:
        """Per extent: True if the ransomware has encrypted it on this node."""
        data = self.disk.data
        return np.fromiter((isinstance(data.get(int(e)), Encrypted) for e in extents), bool, len(extents))

    def any_encrypted(self) -> bool:
        return self.encrypted_bytes > 0

    def encrypted_set(self) -> frozenset[int]:
        """Every encrypted extent (a scan of the device)."""
        if not self.encrypted_bytes:
            return frozenset()
        return frozenset(k for k, v in self.disk.data.items() if isinstance(v, Encrypted))


class PrimaryArray(ArrayNode):
    """The primary server: its ransomware fault starts the incident (`on_attack(fault)`)."""

    def __init__(self, sim, device_params, extent_size: float, n_extents: int, name: str,
                 on_attack: Callable[[Any], bool]) -> None:
        super().__init__(sim, device_params, extent_size, n_extents, name)
        self._on_attack = on_attack

    def _inject_ransomware(self, fault: Any) -> None:
        if self.up and self._on_attack(fault):
            super()._inject_ransomware(fault)


def batch_io(env, dev: BlockDevice, nbytes: float, commands: int, write: bool):
    """`commands` device commands moving `nbytes` in all, issued together: one pass through the
    device queue and its bandwidth, then the rest of the IOPS budget if the commands are small."""
    t0 = env.now
    if write:
        yield from dev.write(nbytes)
    else:
        yield from dev.read(nbytes)
    iops = dev.params.write_iops if write else dev.params.read_iops
    rest = commands / iops - (env.now - t0)
    if rest > 0:
        yield env.timeout(rest)
