"""A host's write-ahead log with group commit (`Log`) and its record kinds.

Records are appended to a volatile buffer; the log writer (`Log.writer`, a process on the host)
forces everything buffered in one fsync (`log_force_time`) and stamps it durable at the instant the
force completes. A crash loses the buffer and the force in flight; processes waiting for them get
False. A durable record is a tuple `(t, kind, txn, info, nbytes)`.
"""

from __future__ import annotations

from collections.abc import Callable

# record kinds: data partitions write W, P, C, A; coordinators write B, D, E
W, P, C, A, B, D, E = range(7)
KIND_NAMES = ("write", "prepare", "commit", "abort", "begin", "decision", "end")
#: `info` of a commit record at a data partition: the commit point of a single-partition transaction
SINGLE = -1


class Log:
    """One log device: a volatile buffer, group-commit forces, the durable records."""

    def __init__(self, host, force_time: float, on_durable: Callable[[tuple], None] | None = None) -> None:
        self.host = host
        self.env = host.env
        self.force_time = force_time
        self.durable: list[tuple] = []
        self.durable_bytes = 0.0
        self.buffer: list[tuple] = []
        self.waiters: list = []
        self.inflight: list = []
        self.kick = None
        self.forces = 0
        self.on_durable = on_durable

    def append(self, kind: int, txn: int, info: int, nbytes: float, wait: bool = False):
        """Buffer a record; with `wait`, return an event that fires True when it is durable (False: lost)."""
        self.buffer.append((kind, txn, info, nbytes))
        ev = None
        if wait:
            ev = self.env.event()
            self.waiters.append(ev)
        kick = self.kick
        if kick is not None:
            self.kick = None
            kick.succeed()
        return ev

    def writer(self):
        """The log writer: force whatever is buffered (group commit), stamp it durable, wake the waiters."""
        env = self.env
        while True:
            if not self.buffer:
                self.kick = env.event()
                yield self.kick
            batch, self.buffer = self.buffer, []
            self.inflight, self.waiters = self.waiters, []
            yield env.timeout(self.force_time)
            t = env.now
            self.forces += 1
            durable, hook = self.durable, self.on_durable
            for kind, txn, info, nbytes in batch:
                rec = (t, kind, txn, info, nbytes)
                durable.append(rec)
                self.durable_bytes += nbytes
                if hook is not None:
                    hook(rec)
            waiters, self.inflight = self.inflight, []
            for ev in waiters:
                ev.succeed(True)

    def lose_volatile(self) -> None:
        """A crash: the buffer and the force in flight are gone; their waiters learn it (False)."""
        for ev in self.inflight + self.waiters:
            if not ev.triggered:
                ev.succeed(False)
        self.buffer, self.waiters, self.inflight, self.kick = [], [], [], None
