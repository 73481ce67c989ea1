"""The backup host: applies replicated writes to a durable log, snapshots its table, recovers.

Real behaviour it stands for: a standby that appends each replicated write to a write-ahead log
before acknowledging it, keeps the current table in memory, and periodically writes a
point-in-time snapshot of the table out, after which the log entries the snapshot covers are
truncated. A crash loses the table (memory) and any snapshot being written; on restart the table
is rebuilt from the latest snapshot plus the log. Left out: log compaction costs, torn writes,
the time to replay the log (the host's `restart_time` stands for boot and replay).
"""

from __future__ import annotations

from sim.components.host import Host


class BackupHost(Host):
    """A `Host` whose volatile state is its in-memory table; durable: `log` and `snapshot`."""

    def __init__(self, sim, params, name: str = "backup") -> None:
        super().__init__(sim, None, name, restart_time=params.restart_time)
        self.cfg = params
        self.table: dict[int, int] = {}  # volatile: key -> newest version applied
        self.log: dict[int, int] = {}  # durable: writes logged since the latest snapshot
        self.snapshot: dict[int, int] = {}  # durable: the latest committed snapshot
        self.snapshots = 0
        self.on_restart.append(self.recover)

    def _lose_volatile(self, reason: str) -> None:
        self.table = {}

    def apply_write(self, key: int, version: int):
        """Log one replicated write durably, then apply it to the table (runs on this host).

        Returns True once logged; a crash during the append ends it with None (nothing logged)."""
        yield self.env.timeout(self.cfg.log_append)
        if version > self.log.get(key, 0):
            self.log[key] = version
        if version > self.table.get(key, 0):
            self.table[key] = version
        return True

    def snapshotter(self):
        """Every `snapshot_interval`: copy the table, write it out, then truncate the log it covers."""
        env = self.env
        while True:
            yield env.timeout(self.cfg.snapshot_interval)
            image = dict(self.table)  # point-in-time copy
            yield env.timeout(self.cfg.snapshot_time)  # a crash here abandons the snapshot
            self.snapshot = image
            self.snapshots += 1
            self.log = {k: v for k, v in self.log.items() if v > image.get(k, 0)}

    def recover(self) -> None:
        """Restart recovery: the table is the latest snapshot with the log replayed over it."""
        table = dict(self.snapshot)
        for key, version in self.log.items():
            if version > table.get(key, 0):
                table[key] = version
        self.table = table
        self.process(self.snapshotter())
