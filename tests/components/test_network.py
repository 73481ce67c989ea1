"""Network link: latency + shared bandwidth, loss, partition and degradation."""

from __future__ import annotations

import pytest

from sim.components.network import Link, LinkParams
from tests.components.conftest import fault, run


def test_transfer_time_and_duplex(sim):
    link = Link(sim, LinkParams(latency="1ms", bandwidth="1MB/s"))
    ends = {}

    def send(name, reverse):
        ok = yield from link.transfer(1e6, reverse=reverse)
        ends[name] = (ok, sim.now)

    sim.env.process(send("fwd", False))
    sim.env.process(send("back", True))
    sim.env.run()
    assert ends["fwd"] == (True, pytest.approx(1.001))
    assert ends["back"] == (True, pytest.approx(1.001))  # the other direction has its own bandwidth


def test_partition_drops_in_flight_and_new_transfers_until_healed(sim):
    link = Link(sim, LinkParams(latency="1ms", bandwidth="1MB/s"))
    results = []

    def sender():
        ok = yield from link.transfer(1e6)
        results.append(ok)
        ok = yield from link.transfer(10)
        results.append(ok)
        yield link.wait_up()
        results.append(("up at", sim.now))
        ok = yield from link.transfer(10)
        results.append(ok)

    def cutter():
        yield sim.env.timeout(0.5)
        link.inject(fault("link_down"))
        yield sim.env.timeout(2.0)
        link.heal(fault("link_down"))

    sim.env.process(sender())
    sim.env.process(cutter())
    sim.env.run()
    assert results == [False, False, ("up at", 2.5), True]


def test_slow_link_degrades_then_heals(sim):
    link = Link(sim, LinkParams(latency="1ms", bandwidth="1MB/s"))
    link.inject(fault("slow_link", latency_factor=10, bandwidth_factor=0.5))
    run(sim, link.transfer(1e6))
    assert sim.now == pytest.approx(2.01)
    link.heal(fault("slow_link"))
    t0 = sim.now
    run(sim, link.transfer(1e6))
    assert sim.now - t0 == pytest.approx(1.001)


def test_loss_probability(sim):
    link = Link(sim, LinkParams(latency=0, bandwidth="1GB/s", loss=0.2))

    def many():
        ok = 0
        for _ in range(5000):
            ok += yield from link.transfer(100)
        return ok

    delivered = run(sim, many())
    assert delivered / 5000 == pytest.approx(0.8, abs=0.02)
