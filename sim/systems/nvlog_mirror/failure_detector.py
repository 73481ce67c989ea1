"""Failure detection in the HA pair: each node learns of the other's crash from missing heartbeats.

What it stands for: the nodes exchange a heartbeat every `heartbeat_interval` (over the HA
interconnect and the mailbox disks, so a downed interconnect alone is not a node failure) and
declare the other dead after `missed_heartbeats` intervals without one. The last heartbeat
arrived at a uniformly random phase of the interval before the crash, so the survivor notices
`missed_heartbeats x interval - U(0, interval)` after it (stream `nvlog_mirror.heartbeat`).
Until then it acts as if the other were up: the primary keeps posting to a dead partner (no
transport ACK comes back, the send queue fills), the partner does not take over.
"""

from __future__ import annotations

from collections.abc import Callable

from simpy.events import Timeout


class FailureDetector:
    """Heartbeat failure detection: `notice(fn, *args)` runs `fn(*args)` one detection delay from now."""

    def __init__(self, sim, params) -> None:
        self.env = sim.env
        self.interval = float(params.heartbeat_interval)
        self.missed = int(params.missed_heartbeats)
        self._rng = sim.rng("nvlog_mirror.heartbeat")

    def delay(self) -> float:
        """Crash to detection: `missed` intervals after the last heartbeat, which came U(0, interval) before."""
        return self.missed * self.interval - float(self._rng.uniform(0.0, self.interval))

    def notice(self, fn: Callable, *args) -> float:
        """Schedule `fn(*args)` at the detection instant; returns the delay."""
        d = self.delay()
        Timeout(self.env, d, args).callbacks.append(lambda ev: fn(*ev._value))
        return d
