"""The always-on appliance of the baseline (classic CDP, e.g. Zerto): it receives the writes from
the splitter, journals them on a journal volume and every checkpoint interval applies them to a
replica volume, keeping the overwritten versions in the journal for `journal_window`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from sim.components.base import NotRunning
from sim.components.cloud import ComputeInstance
from sim.systems.cdp_streams.apply import bulk_io, io_cmds_of, start_instance
from sim.systems.cdp_streams.data import DoRecord, capture_undo, do_payload
from sim.systems.cdp_streams.oracle import check_replica

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams


class ApplianceInstance(ComputeInstance):
    """The appliance VM: a `crash` stops it (writes wait at the splitter); healing boots it again."""

    fault_kinds = ("crash",)

    def __init__(self, sim, params: Any, model: CdpStreams) -> None:
        super().__init__(sim, params, "appliance")
        self.model = model

    def _inject_crash(self, fault: Any) -> None:
        self.stop("crash")

    def _heal_crash(self, fault: Any) -> None:
        self.env.process(appliance_boot(self.model))


def appliance_boot(m: CdpStreams) -> Generator:
    """Power the appliance on (again after a crash) and run its apply loop on it."""
    if m.appliance.starts:  # a reboot after a crash: the replica must hold what `applied` claims
        check_replica(m, "after a crash of the appliance")
    yield from start_instance(m, m.appliance)
    m.appliance.process(appliance_apply(m))


def appliance_apply(m: CdpStreams) -> Generator:
    """Every checkpoint interval: apply journalled writes to the replica, keeping undo in the journal."""
    env = m.env
    p = m.params
    while True:
        yield env.timeout(p.appliance_apply_interval)
        lo, hi = m.applied + 1, m.durable
        if hi >= lo:
            blocks, versions, sizes = do_payload(journal_records(m, lo), lo, hi)
            nbytes = float(sizes.sum())
            cmds = io_cmds_of(sizes)
            fp = m.sim.fault_point
            try:
                yield from bulk_io(m, m.replica, cmds, nbytes, read=True)
                undo = capture_undo(lo, hi, blocks, versions, m.replica.data)
                fp("cdp.appliance.before_journal_write")
                yield from m.journal_volume.write(len(blocks) * p.block_size)
                if p.advance_applied_early:  # BROKEN on purpose: the position runs ahead of the replica
                    m.applied = hi
                fp("cdp.appliance.before_replica_write")
                yield from bulk_io(m, m.replica, cmds, nbytes,
                                   items=dict(zip(blocks.tolist(), versions.tolist(), strict=True)))
            except NotRunning:
                continue
            if p.undo_capture:
                m.journal.append(undo)
            m.applied = hi
            fp("cdp.appliance.after_replica_write")
        trim_journal(m)


def journal_records(m: CdpStreams, lo: int) -> list[DoRecord]:
    """The journalled do records holding writes from `lo` on (oldest first)."""
    j = m.do_journal
    i = len(j)
    while i > 0 and j[i - 1].hi >= lo:
        i -= 1
    return j[i:]


def trim_journal(m: CdpStreams) -> None:
    """Undo history older than `journal_window` leaves the journal, and so do applied do records
    older than it (kept that long for recoveries that took the replica over before they were applied)."""
    horizon = m.env.now - m.params.journal_window
    j = m.journal
    while j and m.log.time_of(j[0].hi) < horizon:
        j.pop(0)
    d = m.do_journal
    k = 0
    while k < len(d) and d[k].hi <= m.applied and m.log.time_of(d[k].hi) < horizon:
        k += 1
    if k:
        del d[:k]
