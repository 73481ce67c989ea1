"""The applications writing records, and the write path on the primary (every variant).

Real behaviour it stands for: applications update records of their files at `write_rate`
(Poisson), `hot_write_share` of the writes going to the `hot_fraction` of files that are hot.
The writes arriving in one `write_batch` window are issued together (a simulation granularity:
a record written twice in a window is written once, with the later value) and applied in order
(one batch at a time: the file system's ordering). Where they go depends on the service mode:
the primary (its device, plus the variant's backup path), the context store during failover
(split_backup), or nowhere while service is down (refused). A write is acknowledged (committed
to the oracle) when its path completes; a crash of the host running it abandons it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.systems.ransomware_recovery.layout import sorted_unique
from sim.systems.ransomware_recovery.nodes import batch_io

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery


def application(system: RansomwareRecovery):
    """Batches of Poisson record writes, routed by the current service mode."""
    env, p = system.env, system.params
    rng = system.sim.rng("ransomware_recovery.application")
    hot = system.hot_files
    rpf = p.records_per_file
    mean = p.write_rate * p.write_batch
    while True:
        yield env.timeout(p.write_batch)
        n = int(rng.poisson(mean))
        if n == 0:
            continue
        k = int(rng.binomial(n, p.hot_write_share)) if len(hot) < p.files else n
        files = np.concatenate([hot[rng.integers(0, len(hot), k)], rng.integers(0, p.files, n - k)])
        ids = files.astype(np.int64) * rpf + rng.integers(0, rpf, n)
        ids.sort()
        ids = sorted_unique(ids)
        host = system.write_host()
        if host is None or not host.up:
            system.c["writes_refused"].inc(len(ids))
            continue
        vers = system.oracle.issue(len(ids))
        host.process(write_batch(system, ids, vers, host is system.primary))


def write_batch(system: RansomwareRecovery, ids: np.ndarray, vers: np.ndarray, on_primary: bool):
    """One batch, in order after the previous one: the primary write and the variant's backup path
    (or, during failover, the split write alone), then the acknowledgement."""
    env = system.env
    with system.write_lock.request() as req:
        try:
            yield req
            if on_primary:
                yield from batch_io(env, system.primary.disk, len(ids) * system.layout.record_size, len(ids), True)
                system.prim_ver[ids] = vers
                acked = yield from system.variant.after_primary_write(system, ids, vers)
            else:
                acked = yield from system.variant.failover_write(system, ids, vers)
        except simpy.Interrupt:
            system.oracle.abandon(ids, vers)
            raise
    if not acked:
        system.acknowledge(ids, vers)
