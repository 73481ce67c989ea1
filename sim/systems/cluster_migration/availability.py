"""Service downtime: a service is down from its cut-over start until it and everything it depends on run.

A component not yet cut over serves from the source. Once cut over (the source copy stopped) it is
available when it runs (on the target, or back on the source after a rollback) and every one of
its dependencies is available, recursively: the true source topology's edges, not the planner's
map. A target node crash makes its components unavailable again, and with them their cut-over
dependents. Updates propagate along the dependents only when a state changes (O(edges) per change).

With `through_source` (the user-visible outage, metrics `outage_*`) a component not yet cut over is
also down while any of its dependencies is down: a web front end still on the source whose
database is being cut over does not serve either. Without it (the issue's `downtime_*`) a component
is charged only from its own cut-over start, so a bottom-up order hides its dependents' outage
during each dependency's cut-over: both are reported so that neither can be gamed.
"""

from __future__ import annotations

import math

import networkx as nx


class Availability:
    """Per-component availability and accumulated downtime."""

    def __init__(self, env, graph: nx.DiGraph, n: int, through_source: bool = False) -> None:
        self.env = env
        self.through_source = through_source
        self.twin: Availability | None = None  # kept in step (the outage view of the same states)
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
        if self.twin is not None:
            self.twin.cut_over(c)

    def set_running(self, c: int, running: bool) -> None:
        if self.running[c] != running:
            self.running[c] = running
            self._update(c)
        if self.twin is not None:
            self.twin.set_running(c, running)

    def _compute(self, c: int) -> bool:
        av = self.available
        if not self.cut[c]:
            return not self.through_source or all(av[d] for d in self.deps[c])
        if not self.running[c]:
            return False
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
            stack.extend(d for d in self.dependents[x] if self.through_source or self.cut[d])

    def totals(self) -> tuple[float, float]:
        """(sum over services, max over services) of the downtime so far."""
        now = self.env.now
        per = [t + (now - s if s is not None else 0.0) for t, s in zip(self.downtime, self.down_since, strict=True)]
        return (float(sum(per)), float(max(per)) if per else math.nan)
