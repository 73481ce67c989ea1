"""What a scenario's `faults:` may strike in `pmem_image`: the process, the node and the image indexes.

- `process` (`ApplicationProcess`, a `Host`): `crash` — the application's process dies; the OS
  and the images survive. It restarts when its last down cause heals (its own crash, or the node).
- `node` (`Node`, a `Host`): `crash` (a reboot) and `power_loss` — DRAM is gone (with a power
  loss, PMEM's unpersisted stores too) and the process on it goes down; when the node comes back,
  so does the process (one down cause of it).
- `image_index` (`ImageIndex`): `corrupt_data` — entries of one retained image's index (a
  checkpoint's page contents) are overwritten with garbage, the checksum left as it was.

Crash and power loss of one target nest (the kit's `FaultTarget`), and the process's causes nest
in its `Host`: recovery starts once every failure has healed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.components.host import Host
from sim.core.fault_target import FaultTarget, fault_param

IMAGE_CHOICES = ("latest", "oldest", "random")


class ApplicationProcess(Host):
    """The application's process: a crash loses its address space; on restart the model recovers it."""

    fault_kinds = ("crash",)


class Node(Host):
    """The machine the application runs on: a reboot or power loss takes DRAM and the process down."""

    fault_kinds = ("crash", "power_loss")

    def __init__(self, sim, name: str, process: Host, lose_memory) -> None:
        super().__init__(sim, None, name)
        self.process = process
        self._lose_memory = lose_memory
        self.on_restart.append(process.come_up)

    def _lose_volatile(self, reason: str) -> None:
        self.process.go_down(f"{self.name} {reason}")  # the process first: its capture in progress is discarded
        self._lose_memory(power=reason == "power_loss")

    def power_loss_is_crash(self) -> bool:
        """A power loss also drops PMEM's unpersisted stores, which a reboot keeps."""
        return False


class ImageIndex(FaultTarget):
    """The index of one retained image (or a checkpoint's page map), which a fault may damage."""

    fault_kinds = ("corrupt_data",)

    def __init__(self, model, name: str = "image_index") -> None:
        self.model = model
        self.name = name

    def check_fault_params(self, kind: str, params: dict[str, Any]) -> None:
        image = params.get("image")
        if kind == "corrupt_data" and image is not None and image not in IMAGE_CHOICES:
            raise ValueError(f"image: {image!r} is not one of latest, oldest, random")
        entries = params.get("entries")
        if kind == "corrupt_data" and entries is not None and (not isinstance(entries, int) or entries < 1):
            raise ValueError(f"entries: must be a whole number >= 1, got {entries!r}")

    def _inject_corrupt_data(self, fault: Any) -> None:
        """Damage `entries` (default 1) entries of the `image` (latest, oldest, random) without fixing its checksum."""
        m = self.model
        which = fault_param(fault, "image", "latest")
        count = int(fault_param(fault, "entries", 1))
        items = m.scheme.points()
        if not items:
            m.sim.note("corruption_missed", reason="no retained image")
            return
        rng = m.sim.rng("pmem_image.corruption")
        if which == "oldest":
            target = items[0]
        elif which == "random":
            target = items[int(rng.integers(len(items)))]
        else:
            target = items[-1]
        arr = target.entry_array()
        idx = rng.choice(len(arr), size=min(count, len(arr)), replace=False)
        arr[idx] = -2 - np.asarray(arr[idx])  # garbage: points outside the frame pool / a negative version
        target.corrupt = True
        m.sim.note("index_corrupted", seq=target.seq, entries=len(idx))
