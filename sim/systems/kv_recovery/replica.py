"""Read-only replicas: the file stream opened read-only, refreshed from the system log.

A replica runs on the store's node (`store.node`, a Host): a node crash interrupts its processes
and loses its snapshot; when the node restarts it forms again. A crash of the primary alone leaves
it serving.

- `Replica.form`: opens the file stream (metadata log, checkpoint, system log: no user-log replay)
  and serves reads at the latest flush boundary, during recovery and in normal operation.
- `Replica.refresher`: every `replica_refresh_interval`, reads and applies the system log written
  since the last refresh (lagging the primary).

Abstracted away: CPU contention between recovery and replicas (only the SSD is shared), a
replica's own page reads (it serves the images the mapping points at).
"""

from __future__ import annotations

import numpy as np

from sim.systems.kv_recovery.log_follower import LogFollower, catch_up, follow
from sim.systems.kv_recovery.restart_recovery import open_read_only


class Replica:
    """A read-only replica: the file stream opened read-only, at the latest flush boundary."""

    __slots__ = ("store", "index", "env", "ready", "mapping", "sys_pos", "snapshot_ts", "snapshot_time", "follower")

    def __init__(self, store, index: int) -> None:
        self.store = store
        self.index = index
        self.env = store.env
        self.ready = False
        self.mapping: np.ndarray | None = None
        self.sys_pos = 0
        self.snapshot_ts = -1
        self.snapshot_time = 0.0
        self.follower: LogFollower | None = None  # replica_follow_user_log: values kept from the user log

    def start(self) -> None:
        self.store.node.process(self.form())

    def lose_volatile(self) -> None:
        """The node crashed: the snapshot is gone (its processes are interrupted by the node)."""
        self.ready = False
        self.mapping = None
        self.follower = None

    def form(self):
        """Open the file stream read-only: metadata log, checkpoint, system log; then serve reads."""
        store = self.store
        self.mapping, self.sys_pos, boundary, _ck = yield from open_read_only(store, recovering=False)
        if store.params.replica_follow_user_log:
            t = self.env.now
            self.follower, snap = yield from catch_up(store, self.mapping, boundary)
            self._adopt(snap, t)
        else:
            self._adopt(boundary[0], boundary[2])
        self.ready = True
        store.read_server_ready()
        store.node.process(self.refresher())

    def _adopt(self, ts: int, t: float) -> None:
        if ts < self.snapshot_ts:
            self.store.violation_log.add("replica_monotonic", f"replica {self.index} snapshot went back from "
                                         f"{self.snapshot_ts} to {ts}", self.env.now, replica=self.index)
        self.snapshot_ts = ts
        self.snapshot_time = t

    def refresher(self):
        """Every refresh interval, read and apply the system log written since the last refresh."""
        store = self.store
        env = self.env
        syslog = store.syslog
        media = store.media
        p = store.params
        fp = store.sim.fault_point
        while True:
            yield env.timeout(p.replica_refresh_interval)
            if self.follower is not None:  # following the user log: the snapshot is its durable end
                t = env.now
                fp("kv.replica.refresh_read")
                snap = yield from follow(store, self.follower)
                if snap is not None:
                    self._adopt(snap, t)
                    fp("kv.replica.refresh_adopted")
                continue
            end = len(syslog)
            if end <= self.sys_pos:
                continue
            nbytes = syslog.end[end - 1] - syslog.offset(self.sys_pos)
            fp("kv.replica.refresh_read")
            yield from store.ssd.read(nbytes)
            cost = p.system_apply_cost * (end - self.sys_pos)
            if cost > 0:
                yield env.timeout(cost)
            found, self.sys_pos = media.apply_system_log(self.mapping, self.sys_pos, end)
            if found is not None:
                self._adopt(found[0], found[2])
                fp("kv.replica.refresh_adopted")

    def read(self, key: int) -> int:
        if self.follower is not None:
            return self.follower.read(key)
        store = self.store
        loc = self.mapping[key // store.kpp]
        return int(store.fstream.data[loc, key % store.kpp]) if loc >= 0 else 0
