"""The primary: the storage node that serves client writes, logs them in its NVLog and mirrors them.

A `Host` (fault target `primary`, kinds `crash` and `power_loss`, which nest): a crash loses its
volatile state — the worker threads with every queued, suspended and running transaction, the
list of entries awaiting the partner's acknowledgement — and keeps its NVLog (battery-backed
NVRAM / PMEM: both kinds act alike). Heal = restart: after `restart_time` (NVLog replay and
giveback) the `on_restart` callbacks run (`recovery.restart_recovery`).
"""

from __future__ import annotations

from typing import Any

from sim.check.rangeset import RangeSet
from sim.components.cpu import WorkerPool
from sim.components.host import Host


class PrimaryNode(Host):
    """The primary's durable NVLog, its worker pool and the mirroring state of its log."""

    def __init__(self, sim, params: Any, restart_time: float) -> None:
        super().__init__(sim, params, "primary", restart_time)
        self.n_workers = params.workers
        self.pool = WorkerPool(self.env, self.n_workers)  # the file system's worker threads
        self.busy_lost = 0.0  # worker busy time of pools lost in crashes
        self.epoch = 0  # incarnation: transactions and acknowledgements of an older one are dropped
        # durable: the NVLog (as the LSNs it holds) and its write position
        self.nvlog = RangeSet()
        self.nvlog_busy = 0.0  # the log device is free from this time (appends are FIFO on its bandwidth)
        self.next_lsn = 0
        self.unmirrored: list[int] = []  # LSNs in the NVLog the partner may lack (resynced later)
        # volatile
        self.serving = True  # it serves client writes (false while down and until a giveback is done)
        self.mirroring = True  # false while running degraded (the partner down)
        self.awaiting_ack: dict[int, Any] = {}  # lsn -> write posted and not yet acknowledged
        self.on_restart.append(self._new_workers)

    def busy_total(self) -> float:
        """Worker-seconds spent on tasks over the run, pools lost in crashes included."""
        return self.busy_lost + self.pool.busy_now()

    def _lose_volatile(self, reason: str) -> None:
        self.serving = False
        self.epoch += 1
        self.busy_lost += self.pool.busy_now()
        self.pool.stop()
        self.pool = WorkerPool(self.env, self.n_workers)
        self.pool.idle.clear()  # no worker runs until the node has restarted
        # appended but unacknowledged entries may be missing on the partner: resync them later
        self.unmirrored.extend(sorted(self.awaiting_ack))
        self.awaiting_ack.clear()
        self.nvlog_busy = self.env.now

    def _new_workers(self) -> None:
        self.pool = WorkerPool(self.env, self.n_workers)
