"""The RDMA component: send-queue slot accounting and reservations, link timing and faults, queue pair."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import simpy

from sim.components.rdma import CompletionQueue, QueuePair, RdmaLink, Reservation, SendQueue


def fault(kind, target="interconnect", **params):
    return SimpleNamespace(kind=kind, target=target, params=params)


# --- send queue ----------------------------------------------------------------------------------
def test_reserve_send_complete_accounting():
    env = simpy.Environment()
    sq = SendQueue(env, 8)
    r = sq.reserve(3)
    assert r is not None and r.n == 3 and sq.reserved == 3 and sq.free == 5
    sq.send(r)
    assert (sq.reserved, sq.posted, sq.free, r.n) == (0, 3, 5, 0)
    sq.complete(3)
    assert (sq.posted, sq.free) == (0, 8)


def test_reservation_waits_are_granted_in_fifo_order_when_slots_free():
    env = simpy.Environment()
    sq = SendQueue(env, 6)
    a = sq.reserve(3)
    b = sq.reserve(3)
    sq.send(a)
    sq.send(b)
    granted = []
    assert sq.reserve(3, lambda ctx, res: granted.append((ctx, res.n)), "t1") is None
    assert sq.reserve(2, lambda ctx, res: granted.append((ctx, res.n)), "t2") is None
    assert sq.reservation_waits == 2 and sq.waiting == 2
    sq.complete(2)  # 2 free: head needs 3 -> nobody (no overtaking by the 2-slot request)
    assert granted == []
    sq.complete(1)  # 3 free: t1 granted; 0 left for t2
    assert granted == [("t1", 3)]
    sq.complete(3)
    assert granted == [("t1", 3), ("t2", 2)]
    assert sq.reserved == 5 and sq.posted == 0


def test_a_new_reservation_does_not_overtake_waiting_ones():
    env = simpy.Environment()
    sq = SendQueue(env, 4)
    r = sq.reserve(3)
    sq.send(r)
    assert sq.reserve(3, lambda c, res: None) is None
    # one slot is free, a 1-slot request would fit, but a waiter is ahead of it
    assert sq.reserve(1) is None


def test_release_returns_unused_slots_and_wakes_waiters():
    env = simpy.Environment()
    sq = SendQueue(env, 3)
    r = sq.reserve(3)
    got = []
    sq.reserve(2, lambda c, res: got.append(res.n))
    sq.release(r)
    assert got == [2] and sq.reserved == 2 and r.n == 0


def test_partial_send_and_bad_sizes():
    env = simpy.Environment()
    sq = SendQueue(env, 4)
    r = sq.reserve(3)
    sq.send(r, 1)
    assert r.n == 2 and sq.posted == 1 and sq.reserved == 2
    with pytest.raises(ValueError):
        sq.send(r, 3)
    with pytest.raises(ValueError):
        sq.reserve(5)  # larger than the queue: could never be granted
    with pytest.raises(ValueError):
        SendQueue(env, 0)
    with pytest.raises(RuntimeError):
        sq.complete(2)  # more than posted
    for n in (0, -1):  # zero or negative work requests are a caller bug, even with room to spare
        with pytest.raises(ValueError):
            sq.reserve(n)
        with pytest.raises(ValueError):
            sq.try_post(n)


def test_blocking_post_waits_for_a_completion():
    env = simpy.Environment()
    sq = SendQueue(env, 3)
    assert sq.post(3) is None
    log = []

    def poster():
        ev = sq.post(2)
        assert ev is not None
        yield ev
        log.append(("posted", env.now))

    def completer():
        yield env.timeout(5)
        sq.complete(3)

    env.process(poster())
    env.process(completer())
    env.run()
    assert log == [("posted", 5)]
    assert sq.posted == 2


def test_try_post_is_the_enomem_case_and_flush_frees_everything():
    env = simpy.Environment()
    sq = SendQueue(env, 2)
    assert sq.try_post(2) is True
    assert sq.try_post(1) is False
    sq.flush()
    assert sq.posted == 0 and sq.free == 2


def test_slot_seconds_and_peaks_follow_posted_and_reserved_slots():
    env = simpy.Environment()
    sq = SendQueue(env, 4)

    def proc():
        r = sq.reserve(2)  # t=0: 2 reserved
        yield env.timeout(1)
        sq.send(r)  # t=1: 2 posted
        assert sq.try_post(1)  # 3 posted
        yield env.timeout(2)
        sq.complete(3)  # t=3: none
        yield env.timeout(1)

    env.process(proc())
    env.run()
    assert sq.slot_seconds() == (6.0, 2.0)
    assert sq.peaks() == (3, 2, 3)
    sq.reset_peaks()
    assert sq.peaks() == (0, 0, 0)


def test_an_overrun_is_reported_once_per_episode():
    env = simpy.Environment()
    seen = []
    sq = SendQueue(env, 4, on_overrun=lambda p, r: seen.append((p, r)))
    sq.send(Reservation(3))  # a forged reservation: 3 posted, -3 reserved
    sq.send(Reservation(1))  # the same episode
    assert seen == [(3, -3)]
    sq.reserve(4)  # 4 posted, 0 reserved: back within its slots, the episode ended ...
    sq.send(Reservation(1))  # ... so a new one is reported
    assert seen == [(3, -3), (5, -1)]


def test_completion_queue_signals_only_on_empty_to_nonempty():
    calls = []
    cq = CompletionQueue(lambda: calls.append(1))
    cq.push("a")
    cq.push("b")
    assert calls == [1]
    assert cq.poll(1) == ["a"] and len(cq) == 1
    assert cq.poll(10) == ["b"] and len(cq) == 0
    cq.push("c")
    assert calls == [1, 1]


# --- link ----------------------------------------------------------------------------------------
def test_link_delivers_after_serialisation_plus_latency_fifo():
    env = simpy.Environment()
    link = RdmaLink(env, latency=2e-6, bandwidth=1e9)
    seen = []
    link.transfer(0, 1000, lambda p: seen.append((p, env.now)), "a")
    link.transfer(0, 1000, lambda p: seen.append((p, env.now)), "b")
    link.transfer(1, 1000, lambda p: seen.append((p, env.now)), "c")  # other direction: not queued
    env.run()
    got = {p: t for p, t in seen}
    assert got["a"] == pytest.approx(1e-6 + 2e-6)
    assert got["b"] == pytest.approx(2e-6 + 2e-6)  # waited for "a" to leave the transmitter
    assert got["c"] == pytest.approx(1e-6 + 2e-6)
    assert link.one_way_time(1000) == pytest.approx(3e-6)


def test_link_down_parks_messages_and_retransmits_on_heal():
    env = simpy.Environment()
    link = RdmaLink(env, latency=1e-6, bandwidth=1e9)
    seen = []
    f = fault("link_down")

    def scenario():
        link.inject(f)
        link.transfer(0, 1000, lambda p: seen.append((p, env.now)), "x")
        yield env.timeout(1e-3)
        assert seen == []
        link.heal(f)

    env.process(scenario())
    env.run()
    assert len(seen) == 1 and seen[0][1] == pytest.approx(1e-3 + 2e-6)
    assert link.retransmitted == 1


def test_slow_link_degrades_then_restores():
    env = simpy.Environment()
    link = RdmaLink(env, latency=1e-6, bandwidth=1e9)
    f = fault("slow_link", latency_factor=10, bandwidth_factor=0.5)
    link.inject(f)
    assert link.one_way_time(1000) == pytest.approx(10e-6 + 2e-6)
    link.heal(f)
    assert link.one_way_time(1000) == pytest.approx(2e-6)
    link.inject(fault("slow_link"))  # default: 10x latency
    assert link.latency == pytest.approx(10e-6)


def test_link_rejects_fault_kinds_it_cannot_take():
    env = simpy.Environment()
    link = RdmaLink(env, latency=1e-6, bandwidth=1e9)
    with pytest.raises(ValueError, match="cannot take"):
        link.inject(fault("crash"))
    with pytest.raises(ValueError):
        link.inject(fault("slow_link", bandwidth=0))
    with pytest.raises(ValueError):
        RdmaLink(env, latency=-1, bandwidth=1)


# --- queue pair ----------------------------------------------------------------------------------
def make_qp(env, slots=6):
    link = RdmaLink(env, latency=1e-6, bandwidth=1e9)
    calls = []
    qp = QueuePair(env, link, 0, slots, on_completion=lambda: calls.append(env.now))
    return qp, calls


def test_send_completes_one_round_trip_after_posting_and_frees_slots_when_processed():
    env = simpy.Environment()
    qp, calls = make_qp(env)
    got = []
    r = qp.reserve(3)
    qp.send(r, 1000, got.append, "entry", wc_payload="w1")
    env.run()
    assert got == ["entry"]
    assert calls == [pytest.approx(1e-6 + 1e-6 + 1e-6)]  # serialise + latency there + ACK latency back
    assert qp.sq.posted == 3  # held until the completion is processed
    (wc,) = qp.cq.poll(8)
    assert wc[0] == QueuePair.SEND and wc[1] == "w1" and wc[2] == 3
    qp.complete(wc)
    assert qp.sq.posted == 0


def test_disconnect_flushes_and_ignores_completions_of_the_old_connection():
    env = simpy.Environment()
    qp, _ = make_qp(env)
    r = qp.reserve(3)
    qp.send(r, 1000, lambda p: None, None)
    env.run()
    (wc,) = qp.cq.poll(8)  # polled before the disconnect, processed after it
    qp.disconnect()
    assert qp.sq.posted == 0
    qp.complete(wc)  # must not free the slots a second time
    assert qp.sq.posted == 0
    # while disconnected a post is flushed at once and nothing is delivered
    got = []
    r = qp.reserve(3)
    qp.send(r, 1000, got.append, "lost")
    env.run()
    assert got == [] and qp.sq.posted == 0 and len(qp.cq) == 0
    qp.connect()
    r = qp.reserve(3)
    qp.send(r, 1000, got.append, "ok")
    env.run()
    assert got == ["ok"] and len(qp.cq) == 1


def test_completion_ack_waits_for_a_downed_link():
    env = simpy.Environment()
    qp, calls = make_qp(env)
    f = fault("link_down")

    def scenario():
        r = qp.reserve(3)
        qp.send(r, 1000, lambda p: None, None)
        yield env.timeout(2.5e-6)  # delivered at 2 us; its ACK is on the way back
        qp.link.inject(f)
        yield env.timeout(1e-3)
        assert calls == []
        qp.link.heal(f)

    env.process(scenario())
    env.run()
    assert len(calls) == 1 and calls[0] == pytest.approx(2.5e-6 + 1e-3 + 1e-6)


def test_selective_signalling_covers_unsignalled_sends_and_never_strands_slots():
    env = simpy.Environment()
    link = RdmaLink(env, latency=1e-6, bandwidth=1e9)
    qp = QueuePair(env, link, 0, 12, signal_interval=4, signal_below_free=3)
    for _ in range(3):
        qp.send(qp.reserve(1), 100, lambda p: None, None)
    env.run()
    assert len(qp.cq) == 0 and qp.sq.posted == 3  # unsignalled: no completion yet, slots held
    qp.send(qp.reserve(1), 100, lambda p: None, None)  # the 4th send is signalled
    env.run()
    (wc,) = qp.cq.poll(8)
    assert wc[2] == 4  # accounts for the 3 unsignalled sends before it
    qp.complete(wc)
    assert qp.sq.posted == 0
    # nearly full: a send that leaves fewer than 3 slots free is signalled at once
    qp.send(qp.reserve(10), 100, lambda p: None, None)  # 2 of 12 slots stay free
    env.run()
    assert len(qp.cq) == 1 and qp.cq.poll(8)[0][2] == 10
    with pytest.raises(ValueError):
        QueuePair(env, link, 0, 4, signal_interval=0)
