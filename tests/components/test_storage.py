"""Block devices: latency, IOPS and bandwidth limits, device queue depth, data faults."""

from __future__ import annotations

import pytest

from sim.components.memory import Corrupted
from sim.components.storage import HDD, SSD, SsdParams
from tests.components.conftest import fault, run


def test_single_read_is_latency_plus_transfer(sim):
    ssd = SSD(sim)

    def go():
        yield from ssd.read(4096)
        return sim.now

    assert run(sim, go()) == pytest.approx(85e-6 + 4096 / 3.2e9)


def _throughput(sim, dev, n_ops, nbytes, concurrency):
    done = [0]

    def worker(k):
        for _ in range(k):
            yield from dev.read(nbytes)
            done[0] += 1

    for _ in range(concurrency):
        sim.env.process(worker(n_ops // concurrency))
    sim.env.run()
    return done[0] / sim.now


def test_iops_limit_binds_at_high_queue_depth(sim):
    ssd = SSD(sim, SsdParams(read_iops="10k/s"))
    iops = _throughput(sim, ssd, 20_000, 4096, 64)
    assert iops == pytest.approx(10_000, rel=0.01)


def test_bandwidth_limit_binds_for_large_reads(sim):
    ssd = SSD(sim)
    ops = _throughput(sim, ssd, 2000, 1 << 20, 32)
    assert ops * (1 << 20) == pytest.approx(3.2e9, rel=0.02)


def test_queue_depth_one_serialises_hdd(sim):
    hdd = HDD(sim)
    ops = _throughput(sim, hdd, 200, 4096, 8)
    per_op = hdd.params.read_latency + 4096 / hdd.params.read_bandwidth
    assert ops == pytest.approx(1 / per_op, rel=0.01)  # one command in service: 8 callers queue


def test_writes_store_items_and_track_changed_blocks(sim):
    ssd = SSD(sim)
    run(sim, ssd.write(8192, {1: "a", 2: "b"}))
    assert ssd.data == {1: "a", 2: "b"}
    assert ssd.changed_bytes() == 2 * 4096
    ssd.inject(fault("lose_data", key=1))
    ssd.inject(fault("corrupt_data", key=2))
    assert 1 not in ssd.data and isinstance(ssd.data[2], Corrupted)


def test_slow_device_fault_and_heal(sim):
    ssd = SSD(sim)
    ssd.inject(fault("slow_link", latency_factor=10.0))
    t = run(sim, ssd.read(0))
    assert t is None and sim.now == pytest.approx(850e-6)
    ssd.heal(fault("slow_link"))
    t0 = sim.now
    run(sim, ssd.read(0))
    assert sim.now - t0 == pytest.approx(85e-6)
