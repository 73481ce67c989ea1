"""When the primary acknowledges a write: the mechanism and a broken baseline, chosen from `ACK`."""

from __future__ import annotations


class SyncAck:
    """Acknowledge once the backup has logged the write (the mechanism)."""

    name = "sync"
    before_replication = False


class AsyncAck:
    """Acknowledge as soon as the write is sent: a primary crash can lose acknowledged writes."""

    name = "async"
    before_replication = True


ACK: dict[str, type] = {"sync": SyncAck, "async": AsyncAck}
