"""The production site: the host running the application whose volume is protected, and its writes.

`ProductionSite` is a kit `Host`: the production writer and the splitter run on it, a `crash`
interrupts both (faults nest: the site comes back when the last crash heals) and the writes the
writer had drawn ahead of the crash instant are forgotten (never issued). A crash without
`restart_after` is the loss of the site: the disaster is recorded and recovery starts at once.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.components.host import Host
from sim.core.fault_target import fault_param
from sim.systems.cdp_streams.params import WRITER_TICK
from sim.workloads import PoissonArrivals

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


class ProductionSite(Host):
    """The production host (application + splitter): `crash` stops its writes; without `restart_after` it is lost."""

    fault_kinds = ("crash",)

    def __init__(self, sim, model: CdpStreams) -> None:
        super().__init__(sim, None, "production")
        self.model = model

    def inject(self, fault: Any) -> None:
        super().inject(fault)  # nests; the first cause crashes the host
        if fault.kind == "crash" and fault_param(fault, "restart_after") is None:
            self.model.site_lost()

    def _lose_volatile(self, reason: str) -> None:
        self.model.log.truncate_after(self.env.now)  # writes drawn ahead of the crash were never issued


def production_writer(m: CdpStreams) -> Generator:
    """The application writing to the production volume: Poisson (or periodic) writes of random
    size and locality, drawn `WRITER_TICK` seconds at a time into the oracle log."""
    env = m.env
    w = m.workload
    rng = m._rng_prod
    bs = m.params.block_size
    nblocks = m.nblocks
    log = m.log
    while True:
        t0 = env.now
        if isinstance(w.arrivals, PoissonArrivals):
            n = int(rng.poisson(w.arrivals.rate * WRITER_TICK))
            times = np.sort(t0 + rng.uniform(0.0, WRITER_TICK, n))
        else:
            gap = 1.0 / w.arrivals.rate
            times = t0 + gap * np.arange(1, int(WRITER_TICK / gap + 1e-9) + 1)
            n = len(times)
        if n:
            size = m._size
            sizes = np.fromiter((size() for _ in range(n)), dtype=float, count=n)
            nblk = np.clip(np.ceil(np.minimum(sizes, w.max_size) / bs), 1, nblocks).astype(np.int64)
            key = m._key
            starts = np.fromiter((key() for _ in range(n)), dtype=np.int64, count=n)
            starts = np.minimum(starts, nblocks - nblk)
            log.append(times, starts, nblk, nblk * float(bs))
            ev, m.writes_drawn = m.writes_drawn, env.event()
            ev.succeed()
        yield env.timeout(WRITER_TICK)
