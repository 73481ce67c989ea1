"""The real-time split-write backup path (the mechanism's filter in the primary's write path).

Real behaviour it stands for: every write to a file on the primary also passes through a filter
that knows each file's critical fields (found by the classifier when the file was examined). It
writes the critical fields of the written records to the isolated critical store (over its own
network path), then the rest of each record, with a tag substituted for each critical field, to
the context store; the write is acknowledged to the application once both are durable. Charged:
the critical store's and the context store's device time for the batch (one command per record
on each) and the round trip to the critical store. Left out: the filter's CPU cost, compression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.systems.ransomware_recovery.nodes import batch_io

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery

#: the fault points of the split write, by where it runs (model.FAULT_POINTS): (classified, after the first
#: store, both durable)
POINTS = {where: tuple(f"ransomware_recovery.{where}.{step}" for step in ("classified", "after_first_store",
                                                                          "both_durable"))
          for where in ("split_write", "split_write_attacked", "failover_write")}


def split_write(system: RansomwareRecovery, ids: np.ndarray, vers: np.ndarray, where: str = "split_write"):
    """Classify, substitute tags, write critical fields, then the tagged context entries; `where`
    names the fault points passed (the primary, the primary under attack, the agent in failover)."""
    env, p, stores = system.env, system.params, system.stores
    classified, after_first, both = POINTS[where]
    broken = p.broken
    if broken == "skip_split_write":  # BROKEN on purpose: the backup path never sees the write
        return
    n = len(ids)
    crit_bytes = stores.critical_bytes_of(ids)  # classify: the classified fields of these records
    substituted = broken != "skip_tag_substitution"  # substitute a tag for each classified field
    ctx_bytes = n * system.layout.record_size - crit_bytes
    if substituted:
        ctx_bytes += crit_bytes / system.layout.field_size * p.tag_size
    system.sim.fault_point(classified)
    if broken == "context_before_critical":  # BROKEN on purpose: the order reversed
        yield from _context(system, ids, vers, ctx_bytes, n, substituted)
        system.sim.fault_point(after_first)
        yield from _critical(system, ids, vers, crit_bytes, n)
    else:
        key = stores.critical_begin(ids)
        yield from _critical(system, ids, vers, crit_bytes, n)
        system.sim.fault_point(after_first)
        yield from _context(system, ids, vers, ctx_bytes, n, substituted)
        stores.release(key)
    system.sim.fault_point(both)
    yield env.timeout(0)


def _critical(system, ids, vers, nbytes: float, n: int):
    env, vault = system.env, system.vault
    if not vault.up:
        yield vault.wait_up()
    if system.params.vault_rtt:
        yield env.timeout(system.params.vault_rtt)
    yield from batch_io(env, vault.disk, nbytes + n * system.params.critical_key_size, n, write=True)
    system.stores.critical_commit(ids, vers)


def _context(system, ids, vers, nbytes: float, n: int, substituted: bool):
    env, ctx = system.env, system.context_store
    if not ctx.up:
        yield ctx.wait_up()
    yield from batch_io(env, ctx.disk, nbytes, n, write=True)
    system.stores.context_commit(ids, vers, substituted)
