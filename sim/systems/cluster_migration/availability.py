"""Service downtime: a service is down from its cut-over start until it and everything it depends on run.

A component not yet cut over serves from the source. Once cut over (the source copy stopped) it is
available when it runs (on the target, or back on the source after a rollback) and every one of
its dependencies is available, recursively: the true source topology's edges, not the planner's
map. A target node crash makes its components unavailable again, and with them their cut-over
dependents. Updates propagate along the dependents only when a state changes (O(edges) per change).
"""

from __future__ import annotations

import math

import networkx as nx


class Availability:
    """Per-component availability and accumulated downtime."""

    def __init__(self, env, graph: nx.DiGraph, n: int) -> None:
        self.env = env
        self.deps = [tuple(graph.successors(i)) for i in range(n)]
        self.dependents = [tuple(graph.predecessors(i)) for i in range(n)]
        self.cut = [False] * n  # cut over: the source copy no longer serves it
        self.running = [False] * n  # running (target, or source after a rollback)
        self.available = [True] * n
        self.down_since: list[float | None] = [None] * n
        self.downtime = [0.0] * n

    def cut_over(self, c: int) -> None:
        self.cut[c] = True
        self._update(c)

    def set_running(self, c: int, running: bool) -> None:
        if self.running[c] != running:
            self.running[c] = running
            self._update(c)

    def _compute(self, c: int) -> bool:
        if not self.cut[c]:
            return True
        if not self.running[c]:
            return False
        av = self.available
        return all(av[d] for d in self.deps[c])

    def _update(self, c: int) -> None:
        now = self.env.now
        stack = [c]
        while stack:
            x = stack.pop()
            new = self._compute(x)
            if new == self.available[x]:
                continue
            self.available[x] = new
            if new:
                self.downtime[x] += now - self.down_since[x]
                self.down_since[x] = None
            else:
                self.down_since[x] = now
            stack.extend(d for d in self.dependents[x] if self.cut[d])

    def totals(self) -> tuple[float, float]:
        """(sum over services, max over services) of the downtime so far."""
        now = self.env.now
        per = [t + (now - s if s is not None else 0.0) for t, s in zip(self.downtime, self.down_since, strict=True)]
        return (float(sum(per)), float(max(per)) if per else math.nan)
