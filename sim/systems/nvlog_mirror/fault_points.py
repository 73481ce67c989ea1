"""The named critical instants of `nvlog_mirror` (`sim.fault_point(name)`; `sim list faultpoints nvlog_mirror`).

A fault struck at a point pre-empts every other event at that instant (docs/faults.md, "Fault
points"); each call sits right after the step it names and before the event that would follow.
What each one guards is in its description; the figures are in docs/models/nvlog_mirror.md.
"""

from __future__ import annotations

from sim.core.system import FaultPoint

BOTH = ("primary", "partner")

FAULT_POINTS: tuple[FaultPoint, ...] = (
    FaultPoint("nvlog_mirror.reservation.granted",
               "a transaction holds its send-queue slots (granted at once or on restart), before its modify "
               "phase: a crash must not leave the slots counted or the transaction half-restarted", BOTH),
    FaultPoint("nvlog_mirror.reservation.released",
               "an unused reservation was handed back (abort path, or granted to a transaction of an older "
               "primary incarnation)", ("primary",)),
    FaultPoint("nvlog_mirror.txn.appended",
               "the entry is durable in the primary's NVLog, not yet posted to the partner nor acknowledged",
               BOTH),
    FaultPoint("nvlog_mirror.txn.mirror_posted",
               "the mirror transfer is posted (on the link), the partner does not have the entry yet: a "
               "write acknowledged by now (ack_before_mirror) is lost at a primary crash here", BOTH),
    FaultPoint("nvlog_mirror.txn.degraded_ack",
               "a write was acknowledged degraded (after the local append only, partner down or no slots)",
               BOTH),
    FaultPoint("nvlog_mirror.partner.received",
               "the entry reached the partner and is queued on its apply thread, not yet durable there", BOTH),
    FaultPoint("nvlog_mirror.partner.applied",
               "the entry is durable in the partner's NVLog and its acknowledgement is on the link", BOTH),
    FaultPoint("nvlog_mirror.primary.ack_arrived",
               "the partner's acknowledgement reached the primary's completion queue, not yet processed",
               BOTH),
    FaultPoint("nvlog_mirror.client.acked",
               "the client was told its write is done (mirrored or degraded): from here the oracle holds the "
               "pair to it", BOTH),
    FaultPoint("nvlog_mirror.takeover.checked",
               "the primary crashed and the partner took over (the oracle checked its NVLog): a partner crash "
               "now is a double fault", ("partner",)),
    FaultPoint("nvlog_mirror.takeover.serving",
               "the partner serves the primary's clients alone after a takeover: a partner crash now leaves "
               "nobody serving; its takeover entries exist on it only", BOTH),
    FaultPoint("nvlog_mirror.giveback.done",
               "the giveback is done (the partner's takeover entries are on disk): the primary serves again, "
               "its reconnect and resync just begun", BOTH),
    FaultPoint("nvlog_mirror.giveback.flushing",
               "the partner stopped serving and writes the entries only its NVLog holds to disk before "
               "handing the aggregates back: a crash of either node interrupts the giveback", BOTH),
    FaultPoint("nvlog_mirror.cp.flushing",
               "a consistency point froze an NVLog half and its flush to disk runs: a primary crash "
               "interrupts it (the half must stay in the NVLog, un-retired, and be flushed again)", BOTH),
    FaultPoint("nvlog_mirror.partner.restarted",
               "the partner is back and its resync is on the link: the pair is out of sync until it lands, "
               "so a primary crash here meets the takeover's out-of-sync rule", BOTH),
    FaultPoint("nvlog_mirror.partner.received_out_of_sync",
               "a mirrored entry reached the partner after its restart, before its resync has landed (hit "
               "once per entry in that window): a primary crash here is a takeover out of sync", BOTH),
    FaultPoint("nvlog_mirror.primary.restarted",
               "the primary serves again after a crash, before its resync", BOTH),
    FaultPoint("nvlog_mirror.degraded.entered",
               "the partner crashed: entries awaiting it were acknowledged degraded and queued for the resync",
               ("primary",)),
    FaultPoint("nvlog_mirror.resync.started",
               "a resync batch is on the link, removed from the primary's list of unmirrored entries", BOTH),
    FaultPoint("nvlog_mirror.resync.done",
               "a resync batch is durable on the partner, before the next batch is chosen", BOTH),
)
