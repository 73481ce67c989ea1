"""The wait-for graph of the primary, for the framework's deadlock detector (evaluated at check intervals).

Transactions holding workers wait for send-queue slots (`write_transaction#k -> send_queue`);
slots are freed only by the completion handler (`send_queue -> completion_handler`); the
completion handler waits for a worker (`completion_handler -> workers`). The worker pool is an
OR-wait (any free worker will do), so `workers -> write_transaction#k` edges appear only when
every worker is held by a transaction that itself waits; they carry the time the last of them
started waiting (when the pool was lost), which is the deadlock's formation time.

Suspended transactions (the reservation's waiters, which hold no worker) wait for the send queue
too: the first `NAMED_SUSPENDED` are edges `write_transaction#k(suspended) -> send_queue`, the rest
one edge `suspended_write_transactions(+N) -> send_queue`, each with the time it suspended (the
oldest of the rest for the aggregate). They cannot close a cycle (nothing waits
for them), but they name what a stall (no cycle, no progress: a leaked slot) leaves waiting.
"""

from __future__ import annotations

from sim.systems.nvlog_mirror.write_transaction import Write

NAMED_SUSPENDED = 3


def wait_for_edges(primary, qp, completions, spw: int) -> list[tuple]:
    """The current wait-for edges `(waiter, resource[, since])` of the primary."""
    edges: list[tuple] = []
    if not primary.up:
        return edges
    pool = primary.pool
    sq = qp.sq
    tasks = [wk.task for wk in pool.workers]
    blocked = [w for w in tasks if isinstance(w, Write) and w.blocked_since is not None]
    for w in blocked:
        edges.append((f"write_transaction#{w.seq}", "send_queue", w.blocked_since))
    waiters = sq._res_waiters
    if waiters:
        for k, (_n, _cb, w) in enumerate(waiters):
            if k == NAMED_SUSPENDED:
                # the rest as one node, with the start of the oldest of them (FIFO: this one)
                edges.append((f"suspended_write_transactions(+{len(waiters) - k})", "send_queue",
                              w.suspended_since if isinstance(w, Write) else None))
                break
            name = f"write_transaction#{w.seq}(suspended)" if isinstance(w, Write) else "reservation_waiter"
            edges.append((name, "send_queue", w.suspended_since if isinstance(w, Write) else None))
    if sq.posted > 0 and sq.free < spw:
        edges.append(("send_queue", "completion_handler"))
    if completions.queued_since is not None and not pool.idle:
        edges.append(("completion_handler", "workers", completions.queued_since))
    if blocked and len(blocked) == len(tasks):
        since = max(w.blocked_since for w in blocked)
        for w in blocked:
            edges.append(("workers", f"write_transaction#{w.seq}", since))
    return edges
