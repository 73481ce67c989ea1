"""Deadlock detection with a wait-for graph (networkx).

Models declare where waiting happens by registering edge sources: functions that return the
current edges `(waiter, resource)` and `(resource, holder)`, optionally with a third element,
the simulated time the edge appeared. A cycle means every process on it waits for another one
on it: nothing on the cycle can ever proceed. The time the deadlock formed is the latest
`since` on the cycle (so detection granularity does not bias `time_to_deadlock_s`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import networkx as nx

Edge = tuple[str, str] | tuple[str, str, float]
EdgeSource = Callable[[], Iterable[Edge]]


@dataclass(frozen=True)
class Deadlock:
    cycle: list[str]
    formed_at: float
    detected_at: float

    def describe(self) -> str:
        return " -> ".join(self.cycle + self.cycle[:1])


class DeadlockDetector:
    """Collects edge sources and finds a cycle in the graph they describe."""

    def __init__(self) -> None:
        self._sources: list[EdgeSource] = []

    def watch(self, source: EdgeSource) -> None:
        self._sources.append(source)

    @property
    def active(self) -> bool:
        return bool(self._sources)

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for src in self._sources:
            for e in src():
                if len(e) == 3:
                    g.add_edge(e[0], e[1], since=e[2])
                else:
                    g.add_edge(e[0], e[1], since=None)
        return g

    def find(self, now: float) -> Deadlock | None:
        """The first cycle found (deterministic for a deterministic graph), or None."""
        if not self._sources:
            return None
        g = self.graph()
        try:
            edges = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return None
        cycle = [u for u, _v in edges]
        times = [g.edges[u, v]["since"] for u, v in edges]
        known = [t for t in times if t is not None]
        return Deadlock(cycle=cycle, formed_at=max(known) if known else now, detected_at=now)


def resource_edges(name: str, resource, label: Callable[[object], str]) -> list[Edge]:
    """Edges for a simpy Resource: each queued request's process waits for `name`; each user holds it."""
    edges: list[Edge] = []
    for req in resource.queue:
        edges.append((label(req.proc), name))
    for req in resource.users:
        edges.append((name, label(req.proc)))
    return edges


@dataclass
class Stall:
    """Work was in progress but nothing completed for a whole window: the run can make no headway.

    Unlike a deadlock there need be no cycle (a leaked send-queue slot, a lost wake-up): `waiting`
    names what the wait-for graph shows waiting when the stall was declared."""

    since: float
    detected_at: float
    in_progress: int
    waiting: list[str]

    def describe(self) -> str:
        who = ", ".join(self.waiting[:8]) + (f" (+{len(self.waiting) - 8} more)" if len(self.waiting) > 8 else "")
        return (f"{self.in_progress} operation(s) in progress and none completed since {self.since:.6g} s"
                + (f"; waiting: {who}" if who else ""))


class StallDetector:
    """Declares a stall when `progress()` reports work in progress and no completion for `window` s.

    `progress()` returns (completions so far, operations in progress) or None (not measured)."""

    def __init__(self, window: float, progress: Callable[[], tuple[float, int] | None]) -> None:
        self.window = window
        self.progress = progress
        self._done: float | None = None
        self._since = 0.0

    def check(self, now: float, deadlock: DeadlockDetector) -> Stall | None:
        got = self.progress()
        if got is None:
            return None
        done, pending = got
        if pending <= 0 or done != self._done:
            self._done = done
            self._since = now
            return None
        if now - self._since < self.window:
            return None
        waiting = sorted({str(u) for u, _v in deadlock.graph().edges}) if deadlock.active else []
        return Stall(self._since, now, int(pending), waiting)
