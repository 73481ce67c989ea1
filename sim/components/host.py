"""A host: the unit that crashes and restarts, owning the processes that run on it.

One idiom for every node, site or instance a model crashes:

- `host.process(gen)` runs `gen` on the host; a crash interrupts it with `simpy.Interrupt(HostDown)`,
  which ends it quietly unless the generator catches it to model its own cleanup;
- `go_down(reason)` / `come_up()` nest: the host is down while any cause keeps it down (a crash
  of the node and a crash of one of its roles, two overlapping faults), and it restarts only when
  the last cause heals, after `restart_time`;
- on going down the host loses its volatile state (`on_crash` callbacks, `_lose_volatile`); after
  restarting it runs its `on_restart` callbacks, where a model starts its recovery.

The fault kinds `crash` and `power_loss` map onto `go_down` / `come_up`; a model-level target that
denotes the same host (for example a role of it) calls them too, so its faults share the depth.
Abstracted away: partial failures (a failing device is a fault on that device), boot stages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from sim.components.base import Component, NotRunning


class HostDown:
    """The cause of the `simpy.Interrupt` delivered to a host's processes when it crashes or stops."""

    __slots__ = ("host", "reason")

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason

    def __repr__(self) -> str:
        return f"HostDown({self.host!r}, {self.reason!r})"


class ProcessGroup:
    """Processes running on one host (node, instance): a crash interrupts them all.

    `start(gen)` runs `gen` guarded: an interrupt whose cause is `HostDown` ends it quietly (its
    volatile state is gone), unless the generator catches it itself to model cleanup.
    """

    __slots__ = ("env", "_procs", "_limit")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._procs: list[simpy.Process] = []
        self._limit = 64

    def start(self, gen) -> simpy.Process:
        if len(self._procs) > self._limit:  # drop finished ones; amortised O(1) per start
            self._procs = [p for p in self._procs if p.is_alive]
            self._limit = max(64, 2 * len(self._procs))
        proc = self.env.process(_guarded(gen))
        self._procs.append(proc)
        return proc

    def interrupt_all(self, cause: HostDown) -> int:
        alive = [p for p in self._procs if p.is_alive]
        self._procs = []
        for p in alive:
            if p is not self.env.active_process:
                p.interrupt(cause)
        return len(alive)

    @property
    def alive(self) -> int:
        return sum(1 for p in self._procs if p.is_alive)


def _guarded(gen):
    try:
        return (yield from gen)
    except simpy.Interrupt as intr:
        if isinstance(intr.cause, HostDown):
            return None
        raise


class Host(Component):
    """Something that crashes and restarts: owns its processes, nests its down causes."""

    fault_kinds = ("crash", "power_loss")

    def __init__(self, sim, params: Any, name: str, restart_time: float = 0.0) -> None:
        super().__init__(sim, params, name)
        self.restart_time = float(restart_time)
        self.procs = ProcessGroup(self.env)
        self.up = True
        self.crashes = 0
        self.down_since: float | None = None
        self.downtime_s = 0.0
        self.down_depth = 0
        self.on_crash: list[Callable[[str], None]] = []
        self.on_restart: list[Callable[[], None]] = []
        self._up_event = self.env.event()
        self._incarnation = 0

    # --- running work --------------------------------------------------------------------------
    def process(self, gen) -> simpy.Process:
        """Run `gen` on this host: it is interrupted (HostDown) if the host goes down."""
        if not self.up:
            raise NotRunning(f"{self.name} is down")
        return self.procs.start(gen)

    def wait_up(self) -> simpy.Event:
        """An event that triggers when the host is (or becomes) up."""
        if self.up:
            ev = self.env.event()
            ev.succeed()
            return ev
        return self._up_event

    # --- going down and coming back --------------------------------------------------------------
    def go_down(self, reason: str = "crash") -> None:
        """One more cause keeps the host down; the first one crashes it."""
        self.down_depth += 1
        if self.down_depth == 1:
            self.crash(reason)

    def come_up(self) -> None:
        """One cause healed; when it was the last, the host restarts (after `restart_time`)."""
        if self.down_depth == 0:
            return
        self.down_depth -= 1
        if self.down_depth == 0:
            self.env.process(self._reboot(self._incarnation))

    def crash(self, reason: str = "crash") -> None:
        """Stop now: processes interrupted, volatile state lost, durable media kept."""
        was_up = self.up
        self.up = False
        self._incarnation += 1  # a reboot in progress is abandoned
        if not was_up:
            return
        self.crashes += 1
        self.down_since = self.env.now
        self.procs.interrupt_all(HostDown(self.name, reason))
        self._lose_volatile(reason)
        for cb in self.on_crash:
            cb(reason)

    def _lose_volatile(self, reason: str) -> None:
        """What a crash loses besides the processes (subclasses: DRAM, caches, queues)."""
        return None

    def power_loss_is_crash(self) -> bool:
        """A host loses the same on a power loss as on a crash, unless a subclass's `_lose_volatile`
        tells the two reasons apart (then it overrides this)."""
        return True

    def _reboot(self, incarnation: int):
        if self.restart_time:
            yield self.env.timeout(self.restart_time)
        if self.up or incarnation != self._incarnation or self.down_depth:
            return  # already up, or down again meanwhile
        self.up = True
        if self.down_since is not None:
            self.downtime_s += self.env.now - self.down_since
            self.down_since = None
        ev, self._up_event = self._up_event, self.env.event()
        ev.succeed()
        for cb in self.on_restart:
            cb()

    def _inject_crash(self, fault: Any) -> None:
        self.go_down("crash")

    def _heal_crash(self, fault: Any) -> None:
        self.come_up()

    def _inject_power_loss(self, fault: Any) -> None:
        self.go_down("power_loss")

    def _heal_power_loss(self, fault: Any) -> None:
        self.come_up()
