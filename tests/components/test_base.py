"""Shared building blocks: bandwidth sharing, token buckets, rate gates, process groups, faults."""

from __future__ import annotations

import pytest
import simpy

from sim.components.base import SharedBandwidth, TokenBucket
from sim.components.host import HostDown, ProcessGroup
from sim.components.memory import DRAM
from sim.core.process import Pacer as RateGate
from tests.components.conftest import fault


def test_two_equal_transfers_share_capacity():
    env = simpy.Environment()
    bw = SharedBandwidth(env, 100.0)
    a, b = bw.transfer(100), bw.transfer(100)
    env.run()
    assert a.value is True and b.value is True
    assert env.now == pytest.approx(2.0)


def test_late_arrival_and_fluid_finish_times():
    env = simpy.Environment()
    bw = SharedBandwidth(env, 1.0)
    done = {}

    def flow(name, start, size):
        yield env.timeout(start)
        yield bw.transfer(size)
        done[name] = env.now

    env.process(flow("a", 0.0, 1.0))
    env.process(flow("b", 0.5, 1.0))
    env.run()
    # a alone 0.5 s (0.5 B), then both at 0.5 B/s: a needs 1 s more; b then alone
    assert done["a"] == pytest.approx(1.5)
    assert done["b"] == pytest.approx(2.0)
    assert bw.bytes_done == pytest.approx(2.0)


def test_per_flow_cap_and_capacity_change_and_abort():
    env = simpy.Environment()
    bw = SharedBandwidth(env, 10.0, per_flow_cap=2.0)
    ev = bw.transfer(4.0)  # capped at 2 B/s: 2 s
    env.run()
    assert env.now == pytest.approx(2.0) and ev.value is True
    ev = bw.transfer(10.0)
    env.run(until=3.0)  # 2 B done at the cap
    bw.set_capacity(1.0)  # now 1 B/s: 8 B left -> 8 s
    env.run()
    assert env.now == pytest.approx(11.0)
    ev = bw.transfer(5.0)
    env.run(until=12.0)
    assert bw.abort_all() == 1
    env.run()
    assert ev.value is False and bw.active == 0


def test_token_bucket_rate_and_burst():
    b = TokenBucket(rate=10.0, burst=5.0, now=0.0)
    assert sum(b.try_take(0.0) for _ in range(8)) == 5  # burst only
    assert not b.try_take(0.05)  # half a token
    assert b.try_take(0.1)
    b.factor = 0.0
    assert not b.try_take(100.0)


def test_rate_gate_spaces_admissions():
    g = RateGate(4.0)
    assert [g.delay(0.0) for _ in range(3)] == pytest.approx([0.0, 0.25, 0.5])
    assert g.delay(10.0) == 0.0


def test_process_group_interrupts_quietly():
    env = simpy.Environment()
    group = ProcessGroup(env)
    log = []

    def worker():
        yield env.timeout(10)
        log.append("finished")

    def careful():
        try:
            yield env.timeout(10)
        except simpy.Interrupt as i:
            log.append(("cleanup", i.cause.reason))

    group.start(worker())
    group.start(careful())
    env.run(until=1)
    assert group.interrupt_all(HostDown("n", "crash")) == 2
    env.run()
    assert log == [("cleanup", "crash")]


def test_unsupported_fault_kind_is_a_clear_value_error(sim):
    mem = DRAM(sim)
    with pytest.raises(ValueError, match="cannot take fault 'link_down'.*supported: power_loss"):
        mem.inject(fault("link_down"))
    mem.check_fault("power_loss")


def test_random_subset_is_distinct_in_pool_order_and_capped():
    import numpy as np

    from sim.components.base import random_subset

    pool = list("abcdefgh")
    got = random_subset(np.random.default_rng(1), pool, 3)
    assert len(set(got)) == 3 and got == sorted(got, key=pool.index)
    assert sorted(random_subset(np.random.default_rng(1), pool, 50)) == pool
    assert random_subset(np.random.default_rng(1), [], 2) == []
