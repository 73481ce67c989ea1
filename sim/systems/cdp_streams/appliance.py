"""The always-on appliance of the baseline (classic CDP, e.g. Zerto): it receives the writes from
the splitter, journals them on a journal volume and every checkpoint interval applies them to a
replica volume, keeping the overwritten versions in the journal for `journal_window`.

The journal's capacity (`params.journal.capacity`, Zerto's "journal size hard limit") is enforced:
it holds the do data received and not yet applied (plus what a running recovery still needs) and
the undo history of the checkpoints. When new data would not fit, the oldest checkpoints leave the
journal (their undo is dropped: the replica keeps their writes), so the history — the recovery
window — shrinks below `journal_window`, with an alert (`journal_hard_limit_reached`). If even with
no history left the writes received cannot be journaled, the appliance refuses them: the splitter
holds them and resends (RPO grows) until checkpoints free the space.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from sim.components.base import NotRunning
from sim.components.cloud import ComputeInstance
from sim.systems.cdp_streams.apply import bulk_io, io_cmds_of, start_instance
from sim.systems.cdp_streams.data import DoRecord, UndoChunk, capture_undo, do_payload
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
                m.journal_undo_bytes += undo_bytes(m, undo)
            m.applied = hi
            fp("cdp.appliance.after_replica_write")
        trim_journal(m)
        make_room(m, 0.0)  # over the hard limit: the oldest checkpoints go
        sample_window(m)


def journal_records(m: CdpStreams, lo: int) -> list[DoRecord]:
    """The journalled do records holding writes from `lo` on (oldest first)."""
    j = m.do_journal
    i = len(j)
    while i > 0 and j[i - 1].hi >= lo:
        i -= 1
    return j[i:]


def do_bytes(m: CdpStreams, r: DoRecord) -> float:
    """Journal bytes of a do record as received: its writes plus a header each."""
    return float(r.sizes.sum()) + m.params.record_header * (r.hi - r.lo + 1)


def undo_bytes(m: CdpStreams, c: UndoChunk) -> float:
    """Journal bytes of a checkpoint's undo data: one block per overwritten block entry."""
    return float(len(c.blocks) * m.params.block_size)


def journal_used(m: CdpStreams) -> float:
    return m.journal_do_bytes + m.journal_undo_bytes


def note_usage(m: CdpStreams) -> None:
    used = journal_used(m)
    if used > m.journal_peak_bytes:
        m.journal_peak_bytes = used


def make_room(m: CdpStreams, need: float) -> bool:
    """Drop the oldest checkpoints (their undo) until `need` more bytes fit under the hard limit;
    False if they do not fit even with no history left. Alerts once per episode (until the history
    is back to `journal_window`)."""
    cap = m.params.journal.capacity
    j = m.journal
    dropped = 0
    while j and journal_used(m) + need > cap:
        m.journal_undo_bytes -= undo_bytes(m, j.pop(0))
        dropped += 1
    if dropped:
        m.journal_checkpoints_dropped += dropped
        if not m.journal_limited:
            m.journal_limited = True
            m.journal_full_alerts += 1
            m.sim.note("journal_hard_limit_reached", capacity_bytes=cap,
                       history_s=round(m.log.time_of(m.durable) - m.log.time_of(oldest_point(m)), 1))
    return journal_used(m) + need <= cap


def oldest_point(m: CdpStreams) -> int:
    """The oldest write position the journal can still roll the replica back to (the applied position
    if no undo history is left)."""
    return m.journal[0].lo - 1 if m.journal else m.applied


def sample_window(m: CdpStreams) -> None:
    """The recovery window the journal holds now (from its oldest recoverable point to the latest
    durable one: Zerto's journal history), sampled at each checkpoint once the run has lasted
    `journal_window` or the hard limit first dropped history (before that the history is short only
    because the run is: the initial fill, during which Zerto raises no history alert either)."""
    now = m.env.now
    if now < m.params.journal_window and not m.journal_checkpoints_dropped:
        return
    held = m.log.time_of(m.durable) - m.log.time_of(oldest_point(m))
    m.journal_window_n += 1
    m.journal_window_sum += held
    if held < m.journal_window_min:
        m.journal_window_min = held
    if held < 0.75 * m.params.journal_window and not m.journal_below_sla:
        m.journal_below_sla = True  # Zerto: an error-level alert below 75 % of the configured history
        m.sim.note("journal_history_below_75_percent", history_s=round(held, 1))


def trim_journal(m: CdpStreams) -> None:
    """Undo history older than `journal_window` leaves the journal; do records leave it once applied
    (the replica holds them), except those a running recovery's roll forward still needs (from the
    position it took the replica over at, `journal_pin`)."""
    horizon = m.env.now - m.params.journal_window
    j = m.journal
    while j and m.log.time_of(j[0].hi) < horizon:
        m.journal_undo_bytes -= undo_bytes(m, j.pop(0))
        m.journal_limited = False  # the history is back to journal_window: the hard-limit episode ends
    d = m.do_journal
    upto = m.applied if m.journal_pin is None else min(m.applied, m.journal_pin - 1)
    k = 0
    while k < len(d) and d[k].hi <= upto:
        m.journal_do_bytes -= do_bytes(m, d[k])
        k += 1
    if k:
        del d[:k]
