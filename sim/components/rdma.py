"""RDMA interconnect: a full-duplex link, a queue pair with a fixed-slot send queue, a completion queue.

What it stands for: a reliable-connected (RC) queue pair between two nodes over one RDMA link.
- `RdmaLink`: per direction, messages are serialised at the link bandwidth in FIFO order and
  arrive one one-way latency later (store-and-forward of the whole message; MTU segmentation,
  credits and switch queueing are abstracted away). Faults: `link_down` (nothing is delivered;
  messages that reach the far end while the link is down are retransmitted when it comes back,
  as RC retries would do, the QP error state after retry exhaustion is not modelled) and
  `slow_link` (latency and/or bandwidth degraded for messages sent while the fault lasts).
- `SendQueue`: `slots` work-request slots (device limit `max_qp_wr`, `ibv_query_device(3)`). A
  slot is held from posting until its completion is *processed*. Two ways in:
  `reserve(n)` / `send(reservation)` / `release(reservation)` (the reservation API: a caller that
  cannot get its slots is told so at once and is called back when they are granted), and a
  blocking `post(n)` (the plain verbs behaviour, where the caller has to wait for room).
- `CompletionQueue`: work completions waiting to be polled; notifies its owner when it goes
  from empty to non-empty (the interrupt that schedules a poller).
- `QueuePair`: ties a send queue and a completion queue to one direction of a link. A send's
  completion is generated when the far end's transport acknowledgement arrives back
  (one round trip after the message left); `disconnect()` flushes the outstanding work requests
  (`IBV_WC_WR_FLUSH_ERR`) and frees their slots at once. Optional selective signalling
  (`signal_interval` > 1: unsignalled sends generate no completion; a later signalled one
  accounts for their slots, rdmamojo "Working with Unsignaled completions", 2014).

Hot-path cost: one SimPy event per message delivery and one per send completion; no process is
created per message. Byte counts and times are SI floats.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from simpy.events import Event, Timeout

from sim.core.environment import call_later
from sim.core.fault_target import FaultTarget, fault_param
from sim.core.registry import register

LINK_FAULT_KINDS = ("link_down", "slow_link")


class Reservation:
    """Send-queue slots set aside for one caller; consumed by `send`, returned by `release`."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Reservation(n={self.n})"


class SendQueue:
    """A send queue of `slots` work-request slots with a reservation API and a blocking post.

    Slots are either free, reserved (set aside, not yet posted) or posted (in the queue until
    their completion is processed and `complete(n)` is called). Waiters of both kinds are
    served in FIFO order as slots free up; a waiter at the head that does not fit blocks those
    behind it (no overtaking, so a large request cannot starve).

    It keeps its own occupancy accounting, exact and O(1) per change: slot-seconds posted and
    reserved (`slot_seconds`: a change of a level by d at time t adds -d*t, so the integral up to
    now is that sum plus level*now) and the peaks of posted, reserved and their sum (`peaks`,
    `reset_peaks`). And it audits itself where slots change: `0 <= reserved` and
    `posted + reserved <= slots`; when a change breaks that (a send on a forged or reused
    reservation, say) `on_overrun(posted, reserved)` is called, once per episode (until the queue
    is back within its slots).
    """

    __slots__ = ("env", "slots", "posted", "reserved", "_res_waiters", "_post_waiters", "on_overrun",
                 "reservations_granted", "reservation_waits", "_posted_area", "_reserved_area",
                 "max_posted", "max_reserved", "max_taken", "_watch", "_bad")

    def __init__(self, env, slots: int, on_overrun: Callable[[int, int], None] | None = None) -> None:
        if slots < 1:
            raise ValueError("a send queue needs at least one slot")
        self.env = env
        self.slots = int(slots)
        self.posted = 0
        self.reserved = 0
        self._res_waiters: deque[list] = deque()  # [n, on_granted, ctx]
        self._post_waiters: deque[list] = deque()  # [n, event]
        self.on_overrun = on_overrun
        self.reservations_granted = 0
        self.reservation_waits = 0
        self._posted_area = 0.0  # sum of -change * time of the posted level (see slot_seconds)
        self._reserved_area = 0.0
        self._bad = False  # in an overrun episode
        self.reset_peaks()

    # --- state ------------------------------------------------------------------------------------
    @property
    def free(self) -> int:
        return self.slots - self.posted - self.reserved

    @property
    def waiting(self) -> int:
        """Requests (reservations and blocked posts) waiting for slots."""
        return len(self._res_waiters) + len(self._post_waiters)

    def _check(self, n: int) -> None:
        if n < 1 or n > self.slots:
            raise ValueError(f"cannot take {n} slots of a {self.slots}-slot send queue")

    # --- occupancy accounting ---------------------------------------------------------------------
    def slot_seconds(self) -> tuple[float, float]:
        """(posted, reserved) slot-seconds since the start: the integrals of the two levels."""
        now = self.env._now
        return self._posted_area + self.posted * now, self._reserved_area + self.reserved * now

    def peaks(self) -> tuple[int, int, int]:
        """Maxima of posted, reserved and posted + reserved since the last `reset_peaks`."""
        return self.max_posted, self.max_reserved, self.max_taken

    def reset_peaks(self) -> None:
        self.max_posted = self.posted
        self.max_reserved = self.reserved
        self.max_taken = self.posted + self.reserved
        self._watch = min(self.max_taken, self.slots)  # (a change looks closer only above this sum)

    def _audit(self) -> None:
        """After a change that may be a new peak, an overrun or the end of one (the rare path)."""
        posted, reserved = self.posted, self.reserved
        taken = posted + reserved
        if posted > self.max_posted:
            self.max_posted = posted
        if reserved > self.max_reserved:
            self.max_reserved = reserved
        if taken > self.max_taken:
            self.max_taken = taken
            self._watch = min(taken, self.slots)
        if taken > self.slots or reserved < 0:
            if not self._bad:
                self._bad = True
                if self.on_overrun is not None:
                    self.on_overrun(posted, reserved)
        else:
            self._bad = False

    # Each change below updates the areas, then calls `_audit` only when the new levels pass a peak
    # or the limits (or an overrun episode is open): one comparison chain on the common path.

    # --- reservation API --------------------------------------------------------------------------
    def reserve(self, n: int, on_granted: Callable[[Any, Reservation], None] | None = None,
                ctx: Any = None) -> Reservation | None:
        """Reserve `n` slots now, or return None and call `on_granted(ctx, reservation)` later.

        With `on_granted=None` this is a pure try: nothing is queued on failure.
        """
        if n < 1:
            self._check(n)
        if self.slots - self.posted - self.reserved >= n and not self._res_waiters and not self._post_waiters:
            self.reserved = r = self.reserved + n
            self._reserved_area -= n * self.env._now
            self.reservations_granted += 1
            if r > self.max_reserved or r + self.posted > self._watch or self._bad:
                self._audit()
            return Reservation(n)
        self._check(n)
        if on_granted is not None:
            self.reservation_waits += 1
            self._res_waiters.append([n, on_granted, ctx])
        return None

    def send(self, res: Reservation, n: int | None = None) -> None:
        """Post `n` work requests (default: the whole reservation) using reserved slots."""
        k = res.n if n is None else n
        if k < 1 or (n is not None and k > res.n):
            raise ValueError(f"cannot send {k} work requests on a reservation of {res.n}")
        res.n -= k
        now = self.env._now
        self.reserved = r = self.reserved - k
        self._reserved_area += k * now
        self.posted = p = self.posted + k
        self._posted_area -= k * now
        if p > self.max_posted or r < 0 or self._bad:
            self._audit()

    def release(self, res: Reservation) -> None:
        """Return the unused part of a reservation (abort path)."""
        if res.n:
            self.reserved -= res.n
            self._reserved_area += res.n * self.env._now
            res.n = 0
            if self.reserved < 0 or self._bad:
                self._audit()
            self._grant()

    # --- plain verbs path -------------------------------------------------------------------------
    def try_post(self, n: int) -> bool:
        """Post `n` work requests if there is room now (the `ibv_post_send` ENOMEM case is False)."""
        if n < 1:
            self._check(n)
        if self.slots - self.posted - self.reserved >= n and not self._post_waiters and not self._res_waiters:
            self.posted = p = self.posted + n
            self._posted_area -= n * self.env._now
            if p > self.max_posted or p + self.reserved > self._watch or self._bad:
                self._audit()
            return True
        self._check(n)
        return False

    def post(self, n: int) -> Event | None:
        """Post `n` work requests: None if posted at once, else an event fired when they are posted."""
        if self.try_post(n):
            return None
        ev = Event(self.env)
        self._post_waiters.append([n, ev])
        return ev

    # --- completions ------------------------------------------------------------------------------
    def complete(self, n: int) -> None:
        """`n` posted work requests' completions were processed: their slots are free again."""
        self.posted -= n
        if self.posted < 0:
            raise RuntimeError("send queue completed more work requests than were posted")
        self._posted_area += n * self.env._now
        if self._bad:
            self._audit()
        if self._res_waiters or self._post_waiters:
            self._grant()

    def _grant(self) -> None:
        # Serve waiters in FIFO order while the head fits (reservations and posts alternate by
        # arrival only within their own kind; a model uses one kind or the other).
        while True:
            free = self.slots - self.posted - self.reserved
            if self._post_waiters and self._post_waiters[0][0] <= free:
                n, ev = self._post_waiters.popleft()
                self.posted += n
                self._posted_area -= n * self.env._now
                self._audit()
                ev.succeed()
                continue
            if self._res_waiters and self._res_waiters[0][0] <= free:
                n, cb, ctx = self._res_waiters.popleft()
                self.reserved += n
                self._reserved_area -= n * self.env._now
                self._audit()
                self.reservations_granted += 1
                cb(ctx, Reservation(n))
                continue
            return

    def flush(self) -> None:
        """All posted work requests completed in error (QP reset): their slots are free."""
        self._posted_area += self.posted * self.env._now
        self.posted = 0
        self._audit()
        self._grant()

    def clear(self) -> None:
        """Forget everything (the node holding the queue lost its volatile state)."""
        now = self.env._now
        self._posted_area += self.posted * now
        self._reserved_area += self.reserved * now
        self.posted = 0
        self.reserved = 0
        self._res_waiters.clear()
        self._post_waiters.clear()
        self._audit()


class CompletionQueue:
    """Work completions waiting to be polled; `on_nonempty()` fires on the empty -> non-empty edge."""

    __slots__ = ("_q", "on_nonempty")

    def __init__(self, on_nonempty: Callable[[], None] | None = None) -> None:
        self._q: deque = deque()
        self.on_nonempty = on_nonempty

    def push(self, wc: Any) -> None:
        q = self._q
        q.append(wc)
        if len(q) == 1 and self.on_nonempty is not None:
            self.on_nonempty()

    def poll(self, max_n: int) -> list:
        """Up to `max_n` completions, oldest first (like `ibv_poll_cq`)."""
        q = self._q
        if len(q) <= max_n:
            out = list(q)
            q.clear()
            return out
        return [q.popleft() for _ in range(max_n)]

    def __len__(self) -> int:
        return len(self._q)

    def clear(self) -> None:
        self._q.clear()


@register("components", "rdma_link")
class RdmaLink(FaultTarget):
    """Full-duplex point-to-point RDMA link: FIFO serialisation at `bandwidth` plus one-way `latency`.

    Direction 0 carries traffic from end A to end B, direction 1 from B to A, each with its own
    bandwidth. Fault kinds: `link_down` (partition; retransmission on heal) and `slow_link`
    (params `latency`, `bandwidth`, `latency_factor`, `bandwidth_factor`; default 10x latency).
    Overlapping faults of one kind nest (`FaultTarget`): the link is up again, or back to its
    base settings, when the last of them heals; an overlapping `slow_link`'s settings replace the
    earlier one's while it lasts.
    """

    fault_kinds = LINK_FAULT_KINDS

    def __init__(self, env, latency: float, bandwidth: float, name: str = "interconnect") -> None:
        if latency < 0 or bandwidth <= 0:
            raise ValueError("link latency must be >= 0 and bandwidth > 0")
        self.env = env
        self.name = name
        self.base_latency = float(latency)
        self.base_bandwidth = float(bandwidth)
        self.latency = self.base_latency
        self._inv_bw = 1.0 / self.base_bandwidth
        self._busy = [0.0, 0.0]  # per direction: time the transmitter is free again
        self._down = False  # a link_down fault is active (its nesting is FaultTarget's)
        self._parked: list[tuple] = []  # messages that reached a downed link, in arrival order
        self.messages = 0
        self.bytes = 0.0
        self.retransmitted = 0

    @property
    def up(self) -> bool:
        return not self._down

    def transfer(self, direction: int, nbytes: float, deliver: Callable[[Any], None], payload: Any) -> None:
        """Send `nbytes` in `direction`; call `deliver(payload)` at the far end when it arrives."""
        env = self.env
        now = env._now
        busy = self._busy[direction]
        done = (now if now > busy else busy) + nbytes * self._inv_bw
        self._busy[direction] = done
        self.messages += 1
        self.bytes += nbytes
        call_later(env, done + self.latency - now, self._arrive, (direction, nbytes, deliver, payload))

    def delay(self, direction: int, nbytes: float) -> float:
        """Queue `nbytes` for transmission in `direction` now; the time until it reaches the far end.

        For callers that schedule their own arrival event (then check `up` on arrival and `park`
        the message if the link is down)."""
        now = self.env._now
        busy = self._busy[direction]
        done = (now if now > busy else busy) + nbytes * self._inv_bw
        self._busy[direction] = done
        self.messages += 1
        self.bytes += nbytes
        return done + self.latency - now

    def _arrive(self, ev) -> None:
        msg = ev._value
        if self._down:
            self._parked.append(msg)
        else:
            msg[2](msg[3])

    def park(self, direction: int, nbytes: float, deliver: Callable[[Any], None], payload: Any) -> None:
        """A message that reached the far end while the link is down: retransmitted after repair."""
        self._parked.append((direction, nbytes, deliver, payload))

    def one_way_time(self, nbytes: float) -> float:
        """Unloaded one-way time of an `nbytes` message with the current settings."""
        return self.latency + nbytes * self._inv_bw

    # --- faults ------------------------------------------------------------------------------------
    def inject(self, fault) -> None:
        if fault.kind == "slow_link":
            settings = self._slow_settings(fault)  # a bad setting is refused before anything changes
            if self.fault_depth("slow_link"):
                self.latency, self._inv_bw = settings  # overlapping: the later fault's settings hold
        super().inject(fault)

    def _slow_settings(self, fault) -> tuple[float, float]:
        """(latency, 1 / bandwidth) while `fault` (a `slow_link`) lasts."""
        lat = fault_param(fault, "latency")
        bw = fault_param(fault, "bandwidth")
        lf = fault_param(fault, "latency_factor")
        bf = fault_param(fault, "bandwidth_factor")
        if lat is None and bw is None and lf is None and bf is None:
            lf = 10.0
        latency = float(lat) if lat is not None else self.base_latency * float(lf if lf is not None else 1.0)
        bandwidth = float(bw) if bw is not None else self.base_bandwidth * float(bf if bf is not None else 1.0)
        if latency < 0 or bandwidth <= 0:
            raise ValueError("slow_link needs latency >= 0 and bandwidth > 0")
        return latency, 1.0 / bandwidth

    def _inject_link_down(self, fault) -> None:
        self._down = True

    def _heal_link_down(self, fault) -> None:
        self._down = False
        if self._parked:
            parked, self._parked = self._parked, []
            for direction, nbytes, deliver, payload in parked:
                self.retransmitted += 1
                self.transfer(direction, nbytes, deliver, payload)

    def _inject_slow_link(self, fault) -> None:
        self.latency, self._inv_bw = self._slow_settings(fault)

    def _heal_slow_link(self, fault) -> None:
        self.latency = self.base_latency
        self._inv_bw = 1.0 / self.base_bandwidth


class QueuePair:
    """One end of an RC queue pair: send queue + completion queue over one direction of a link.

    A send goes through the link to `deliver(payload)` at the far end; its work completion
    `(SEND, wc_payload, n_work_requests, epoch)` enters this end's completion queue when the far end's
    transport acknowledgement is back (one more one-way latency). The owner polls the completion
    queue and calls `complete(wc)` when it has processed a send completion, freeing its slots.
    """

    SEND = 0
    RECV = 1

    def __init__(self, env, link: RdmaLink, direction: int, send_queue_slots: int,
                 on_completion: Callable[[], None] | None = None, on_overrun=None,
                 signal_interval: int = 1, signal_below_free: int = 1) -> None:
        if signal_interval < 1:
            raise ValueError("signal_interval must be >= 1")
        self.env = env
        self.link = link
        self.direction = direction
        self.sq = SendQueue(env, send_queue_slots, on_overrun)
        self.cq = CompletionQueue(on_completion)
        self.connected = True
        self.epoch = 0  # bumped on disconnect: completions of older sends are dropped
        # selective signalling: one send in `signal_interval` asks for a completion, which then
        # accounts for the unsignalled ones before it; a send is also signalled whenever fewer
        # than `signal_below_free` slots stay free or a request waits, so slots never strand
        self.signal_interval = int(signal_interval)
        self.signal_below_free = int(signal_below_free)
        self._unsignalled = 0  # slots of sends posted since the last signalled one
        self._sends = 0
        self.signalled = 0

    # --- reservation API (delegated to the send queue) -----------------------------------------------
    def reserve(self, n: int, on_granted=None, ctx=None) -> Reservation | None:
        return self.sq.reserve(n, on_granted, ctx)

    def release(self, res: Reservation) -> None:
        self.sq.release(res)

    def send(self, res: Reservation, nbytes: float, deliver: Callable[[Any], None], payload: Any,
             wc_payload: Any = None) -> None:
        """Post the reserved work requests and transmit `nbytes` (never blocks)."""
        n = res.n
        self.sq.send(res)
        self._transmit(n, nbytes, deliver, payload, wc_payload)

    # --- blocking post -------------------------------------------------------------------------------
    def post(self, n: int) -> Event | None:
        """Take `n` slots: None if taken now, else an event fired once they are (then `transmit`)."""
        return self.sq.post(n)

    def transmit(self, n: int, nbytes: float, deliver: Callable[[Any], None], payload: Any,
                 wc_payload: Any = None) -> None:
        """Transmit a message whose `n` slots were taken with `post`."""
        self._transmit(n, nbytes, deliver, payload, wc_payload)

    def _transmit(self, n: int, nbytes: float, deliver, payload, wc_payload) -> None:
        if not self.connected:
            self.sq.complete(n)  # flushed at once: the QP is in error state
            return
        cover = self._unsignalled + n
        sends = self._sends + 1
        sq = self.sq
        if sends >= self.signal_interval or sq.slots - sq.posted - sq.reserved < self.signal_below_free \
                or sq._res_waiters or sq._post_waiters:
            self._unsignalled = 0
            self._sends = 0
            self.signalled += 1
        else:
            self._unsignalled = cover
            self._sends = sends
            cover = 0  # unsignalled: no work completion
        msg = (deliver, payload, cover, wc_payload, self.epoch, nbytes)
        call_later(self.env, self.link.delay(self.direction, nbytes), self._arrived, msg)

    def _arrived(self, ev) -> None:
        if self.link._down:  # reached a downed link: retransmitted after the repair
            msg = ev._value
            self.link.park(self.direction, msg[5], self._delivered, msg)
        else:
            self._delivered(ev._value)

    def _delivered(self, msg) -> None:
        deliver, payload, n, wc_payload, epoch, _nbytes = msg
        deliver(payload)
        if n:
            # the far end's transport ACK travels back (a control packet: latency only); on
            # arrival the signalled send completes, covering the unsignalled ones before it
            call_later(self.env, self.link.latency, self._acked, (QueuePair.SEND, wc_payload, n, epoch))

    def _acked(self, ev) -> None:
        wc = ev._value
        if self.link._down:  # the ACK met a downed link: it comes back after the repair
            self.link.park(1 - self.direction, 0.0, self._acked_late, wc)
        elif wc[3] == self.epoch:
            cq = self.cq
            q = cq._q
            q.append(wc)  # CompletionQueue.push, inlined on this hot path
            if len(q) == 1 and cq.on_nonempty is not None:
                cq.on_nonempty()

    def _acked_late(self, wc) -> None:
        if wc[3] == self.epoch:
            self.cq.push(wc)

    def complete(self, wc) -> None:
        """A send completion was processed: free its slots (unless the connection it belongs to was
        flushed meanwhile: those slots are already free)."""
        if wc[3] == self.epoch:
            self.sq.complete(wc[2])

    # --- connection state ----------------------------------------------------------------------------
    def disconnect(self) -> None:
        """Remote end lost: outstanding work requests complete in error and free their slots."""
        self.connected = False
        self.epoch += 1
        self._unsignalled = 0
        self._sends = 0
        # drop queued send completions of the old connection; keep receive completions
        keep = [wc for wc in self.cq._q if wc[0] != QueuePair.SEND]
        self.cq._q.clear()
        self.cq._q.extend(keep)
        self.sq.flush()

    def connect(self) -> None:
        self.connected = True

    def reset(self) -> None:
        """This end lost its volatile state (node crash): empty queues, a new connection epoch."""
        self.epoch += 1
        self._unsignalled = 0
        self._sends = 0
        self.sq.clear()
        self.cq.clear()
        self.connected = True


# --- generalisation: several queue pairs per connection, one-sided WRITE and READ ----------------------
# Additive: the classes above keep their API (the NVLog model uses them); the ones below build on them.


class MemoryRegion:
    """Registered memory at the far end of a connection: what one-sided operations read and write.

    Any object with `put_many(items)` and `get(key)` serves (a `sim.components.memory.Memory`, i.e.
    the partner's DRAM or PMEM, is the usual choice); this class is a plain dict-backed region.
    """

    __slots__ = ("name", "data")

    def __init__(self, name: str = "region") -> None:
        self.name = name
        self.data: dict[Any, Any] = {}

    def put_many(self, items: dict[Any, Any]) -> None:
        self.data.update(items)

    def get(self, key: Any, default: Any = None) -> Any:
        return self.data.get(key, default)


class VerbsQueuePair(QueuePair):
    """A queue pair that also posts one-sided RDMA WRITE and READ work requests.

    - WRITE places `items` into the remote region when the data arrives (no remote CPU; with
      `persist=True` the region's `persist_now()` is called as well, standing for a write followed
      by a remote flush); its work completion `(WRITE, wc_payload, n, epoch)` enters this end's
      completion queue when the transport ACK is back, one latency later.
    - READ sends a small request (`read_request_bytes`); the remote NIC snapshots `keys` from the
      region when the request arrives and returns `nbytes` in the other direction; the completion
      `(READ, wc_payload, n, epoch, values)` enters the completion queue when the data is back.
    One-sided work requests are always signalled. Slots are taken through the same send queue
    (`reserve` then `write`/`read`, or `post` then `post_write`/`post_read`) and freed by
    `complete(wc)` when the owner has processed the completion.
    """

    WRITE = 2
    READ = 3

    def __init__(self, *args: Any, read_request_bytes: float = 64.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_request_bytes = float(read_request_bytes)
        self.writes = 0
        self.reads = 0

    # reservation path
    def write(self, res: Reservation, nbytes: float, region: Any, items: dict[Any, Any],
              wc_payload: Any = None, persist: bool = False) -> None:
        """RDMA WRITE of `nbytes` carrying `items` into `region`, using reserved slots (never blocks)."""
        n = res.n
        self.sq.send(res)
        self.post_write(n, nbytes, region, items, wc_payload, persist)

    def read(self, res: Reservation, nbytes: float, region: Any, keys: list[Any], wc_payload: Any = None) -> None:
        """RDMA READ of `keys` (`nbytes` returned) from `region`, using reserved slots."""
        n = res.n
        self.sq.send(res)
        self.post_read(n, nbytes, region, keys, wc_payload)

    # after a blocking `post(n)` (or `try_post`)
    def post_write(self, n: int, nbytes: float, region: Any, items: dict[Any, Any],
                   wc_payload: Any = None, persist: bool = False) -> None:
        if not self.connected:
            self.sq.complete(n)
            return
        self.writes += 1
        self.link.transfer(self.direction, nbytes, self._write_placed,
                           (region, items, persist, n, wc_payload, self.epoch))

    def post_read(self, n: int, nbytes: float, region: Any, keys: list[Any], wc_payload: Any = None) -> None:
        if not self.connected:
            self.sq.complete(n)
            return
        self.reads += 1
        self.link.transfer(self.direction, self.read_request_bytes, self._read_served,
                           (region, list(keys), nbytes, n, wc_payload, self.epoch))

    def _write_placed(self, msg) -> None:
        region, items, persist, n, wc_payload, epoch = msg
        region.put_many(items)
        if persist:
            region.persist_now()
        Timeout(self.env, self.link.latency, (VerbsQueuePair.WRITE, wc_payload, n, epoch)).callbacks.append(self._acked)

    def _read_served(self, msg) -> None:
        region, keys, nbytes, n, wc_payload, epoch = msg
        values = {k: region.get(k) for k in keys}
        self.link.transfer(1 - self.direction, nbytes, self._read_returned,
                           (VerbsQueuePair.READ, wc_payload, n, epoch, values))

    def _read_returned(self, wc) -> None:
        if wc[3] == self.epoch:
            self.cq.push(wc)

    def disconnect(self) -> None:
        """As `QueuePair.disconnect`, also dropping queued one-sided completions of the old connection."""
        super().disconnect()
        keep = [wc for wc in self.cq._q if wc[0] not in (VerbsQueuePair.WRITE, VerbsQueuePair.READ)]
        self.cq._q.clear()
        self.cq._q.extend(keep)


@register("components", "rdma_connection")
class RdmaConnection:
    """Several queue pairs between two nodes sharing one RDMA link (one per direction of traffic).

    `qp_a[i]` sends from end A to end B (link direction 0), `qp_b[i]` from B to A (direction 1);
    each has its own fixed-slot send queue and completion queue, and all of one direction share
    the link's bandwidth in FIFO order. Faults `link_down` / `slow_link` go to the link.
    """

    fault_kinds = LINK_FAULT_KINDS

    def __init__(self, env, latency: float, bandwidth: float, queue_pairs: int = 1, send_queue_slots: int = 128,
                 read_request_bytes: float = 64.0, name: str = "rdma") -> None:
        if queue_pairs < 1:
            raise ValueError("an RDMA connection needs at least one queue pair")
        self.env = env
        self.name = name
        self.link = RdmaLink(env, latency, bandwidth, name=name)
        self.qp_a = [VerbsQueuePair(env, self.link, 0, send_queue_slots, read_request_bytes=read_request_bytes)
                     for _ in range(queue_pairs)]
        self.qp_b = [VerbsQueuePair(env, self.link, 1, send_queue_slots, read_request_bytes=read_request_bytes)
                     for _ in range(queue_pairs)]

    def queue_pairs(self) -> list[VerbsQueuePair]:
        return self.qp_a + self.qp_b

    def disconnect(self) -> None:
        for qp in self.queue_pairs():
            qp.disconnect()

    def connect(self) -> None:
        for qp in self.queue_pairs():
            qp.connect()

    def inject(self, fault) -> None:
        self.link.inject(fault)

    def heal(self, fault) -> None:
        self.link.heal(fault)
