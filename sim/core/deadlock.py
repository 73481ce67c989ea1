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
