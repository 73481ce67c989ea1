"""The oracle of `nvlog_mirror`: which writes the client was told are done, checked against the NVLogs.

It records the LSN (log sequence number) of every acknowledged write, apart for the two modes a
write may be acknowledged in (mirrored: after the partner's acknowledgement; degraded: after the
local append only, while the partner is down), and checks them against the LSNs durably in each
node's NVLog, which the nodes keep themselves. It knows nothing of the mechanism's bookkeeping
(reservations, send queue, the primary's list of entries awaiting acknowledgement): only what the
client saw and what the logs and the disk hold. A node's NVLog holds the LSNs appended to it less
those retired (their log space freed after a consistency point wrote them to disk, or discarded
after a giveback); the disk (the aggregate's drives, kept through any crash) holds what completed
CPs and the giveback's flush wrote. An acknowledged write is safe while one of them holds it. All
sets are `RangeSet`s (memory grows with the gaps, not with the writes).

Invariants:
- `acked_write_on_partner`, at each takeover by the partner while the pair is in sync: every
  acknowledged write, mirrored or degraded, is in the partner's NVLog or on disk. The rule that says when
  loss is allowed: only a takeover forced while out of sync (`takeover_out_of_sync: force`) may
  lose acknowledged writes; they are counted (`lost_acknowledged_writes`), not a violation.
  (Refused takeovers lose nothing: the primary keeps its NVLog.)
- `acked_mirrored_on_partner`, at each acknowledgement in mirrored mode and at each crash of the
  partner: the write is durable in the partner's NVLog (not merely received by its NIC; or, at a
  crash, already on disk): the client was told there are two copies.
- `in_sync_state`, whenever the pair's HA state turns in sync: every acknowledged write is in the
  partner's NVLog (or on disk) at that instant (the state a takeover relies on is true when it is set).
- `acked_write_durable`, at each crash of the primary and at the end of the run: every
  acknowledged write (mirrored, degraded or served by the partner during a takeover) is in an
  NVLog or on disk. No modelled fault loses an NVLog, so only a model error breaks it: entries
  retired before their consistency point is on disk (`retire_before_cp_done`) and a crash that
  interrupts that CP.
- `giveback_synced`, at each giveback: every acknowledged write — those the partner acknowledged
  while it served after a takeover included — is on disk or in an NVLog that still holds it once
  the partner has handed the aggregates back and the primary has discarded its own NVLog (a
  giveback without the partner's flush, `giveback_without_sync`, breaks it).
"""

from __future__ import annotations

from sim.check.rangeset import RangeSet
from sim.core.system import ViolationLog


class AckOracle:
    """Acknowledged LSNs (mirrored and degraded apart) and the checks against the nodes' NVLogs."""

    __slots__ = ("acked_mirrored", "acked_degraded", "log", "lost_acked", "early_acks", "disk", "retired")

    def __init__(self, log: ViolationLog) -> None:
        self.acked_mirrored = RangeSet()
        self.acked_degraded = RangeSet()
        self.log = log
        self.lost_acked = 0  # acknowledged writes missing on the partner, summed over takeovers
        self.early_acks = 0  # writes acknowledged as mirrored before they were durable on the partner
        self.disk = RangeSet()  # on disk (the consistency points' `disk`, bound by `bind_storage`)
        self.retired = RangeSet()  # log space freed: in no NVLog any more

    def bind_storage(self, disk: RangeSet, retired: RangeSet) -> None:
        """The disk's contents and the LSNs retired from the NVLogs (kept by `consistency_point`)."""
        self.disk = disk
        self.retired = retired

    def _held(self, *logs: RangeSet) -> RangeSet:
        """What the given NVLogs still hold (appended, not retired), plus the disk."""
        held = RangeSet()
        for log in logs:
            held.update(log.difference(self.retired) if len(self.retired) else log)
        held.update(self.disk)
        return held

    def _acked(self) -> RangeSet:
        acked = RangeSet()
        acked.update(self.acked_mirrored)
        acked.update(self.acked_degraded)
        return acked

    def _acked_missing(self, partner_log: RangeSet) -> RangeSet:
        return self._acked().difference(self._held(partner_log))

    def check_takeover(self, partner_log: RangeSet, now: float, kind: str) -> None:
        """The primary crashed (`kind`) and the partner, in sync, takes over with `partner_log`."""
        missing = self._acked_missing(partner_log)
        if len(missing):
            self.lost_acked += len(missing)
            self.log.add("acked_write_on_partner",
                         f"{len(missing)} acknowledged write(s) missing from the partner's NVLog at a takeover "
                         f"in sync (primary {kind})",
                         now, missing=len(missing), first_lsns=missing.first(5))

    def forced_takeover(self, partner_log: RangeSet, now: float) -> int:
        """A takeover forced while out of sync: the acknowledged writes the partner lacks are lost (allowed)."""
        missing = self._acked_missing(partner_log)
        n = len(missing)
        self.lost_acked += n
        if n:  # lost by the rule's leave: the pair is no longer held to them
            self.acked_mirrored = self.acked_mirrored.difference(missing)
            self.acked_degraded = self.acked_degraded.difference(missing)
        return n

    def check_in_sync(self, partner_log: RangeSet, now: float) -> None:
        """The pair declares itself in sync: every acknowledged write must be in the partner's NVLog now."""
        missing = self._acked_missing(partner_log)
        if len(missing):
            self.log.add("in_sync_state", f"the pair declared itself in sync while {len(missing)} acknowledged "
                         "write(s) are missing from the partner's NVLog", now, missing=len(missing),
                         first_lsns=missing.first(5))

    def check_partner_crash(self, partner_log: RangeSet, now: float, kind: str) -> None:
        """The partner crashed (`kind`): every write acknowledged as mirrored is durable in its NVLog."""
        missing = self.acked_mirrored.difference(self._held(partner_log))
        if len(missing):
            self.log.add("acked_mirrored_on_partner",
                         f"{len(missing)} write(s) acknowledged as mirrored were not durable on the partner at "
                         f"its {kind}", now, missing=len(missing), first_lsns=missing.first(5))

    def check_primary_crash(self, primary_log: RangeSet, partner_log: RangeSet, now: float, kind: str) -> None:
        """The primary crashed (`kind`): every acknowledged write is in an NVLog or on disk."""
        gone = self._acked().difference(self._held(primary_log, partner_log))
        if len(gone):
            self.log.add("acked_write_durable", f"{len(gone)} acknowledged write(s) are in no NVLog and not on disk "
                         f"at a {kind} of the primary", now, missing=len(gone), first_lsns=gone.first(5))

    def check_giveback(self, primary_log: RangeSet, partner_log: RangeSet, now: float) -> None:
        """The giveback is done: every acknowledged write is on disk or still in an NVLog."""
        gone = self._acked().difference(self._held(primary_log, partner_log))
        if len(gone):
            self.log.add("giveback_synced", f"{len(gone)} acknowledged write(s) are neither on disk nor in an NVLog "
                         "after the giveback", now, missing=len(gone), first_lsns=gone.first(5))

    def not_on_partner(self, lsn: int, now: float) -> None:
        """A write was acknowledged as mirrored while the partner's NVLog does not hold it. The first is
        recorded now; the rest (the same defect, once per write) are counted and recorded as one
        violation at the end of the run (`check_durable`), so they do not crowd out the others."""
        self.early_acks += 1
        if self.early_acks == 1:
            self.log.add("acked_mirrored_on_partner",
                         f"write {lsn} acknowledged as mirrored before it was durable on the partner", now, lsn=lsn)

    def check_durable(self, primary_log: RangeSet, partner_log: RangeSet, now: float) -> None:
        """End of run: every acknowledged write is in at least one NVLog, or on disk."""
        if self.early_acks > 1:
            self.log.add("acked_mirrored_on_partner",
                         f"{self.early_acks - 1} more write(s) acknowledged as mirrored before they were durable on "
                         "the partner", now, count=self.early_acks - 1)
        durable = self._held(primary_log, partner_log)
        for name, acked in (("mirrored", self.acked_mirrored), ("degraded", self.acked_degraded)):
            gone = acked.difference(durable)
            if len(gone):
                self.log.add("acked_write_durable", f"{len(gone)} write(s) acknowledged in {name} mode are in no NVLog "
                             "and not on disk",
                             now, missing=len(gone), first_lsns=gone.first(5))
