"""DRAM and PMEM: timing, bandwidth sharing, and the persistence domain on power loss."""

from __future__ import annotations

import pytest

from sim.components.memory import DRAM, PMEM, Corrupted, PmemParams
from tests.components.conftest import fault, run


def test_read_write_times_follow_latency_and_bandwidth(sim):
    pm = PMEM(sim)
    p = pm.params

    def go():
        t0 = sim.now
        yield from pm.read(4096)
        t1 = sim.now
        yield from pm.write(4096)
        return t1 - t0, sim.now - t1

    r, w = run(sim, go())
    assert r == pytest.approx(p.read_latency + 4096 / p.read_bandwidth)
    assert w == pytest.approx(p.write_latency + 4096 / p.write_bandwidth)


def test_concurrent_readers_share_bandwidth(sim):
    dram = DRAM(sim)
    n = 1e9  # large: bandwidth dominates latency
    ends = []

    def reader():
        yield from dram.read(n)
        ends.append(sim.now)

    for _ in range(4):
        sim.env.process(reader())
    sim.env.run()
    assert ends[-1] == pytest.approx(dram.params.read_latency + 4 * n / dram.params.read_bandwidth)


def test_power_loss_dram_cleared_pmem_keeps_persisted_only(sim):
    dram, pm = DRAM(sim), PMEM(sim)

    def go():
        yield from dram.write(64, {"a": 1})
        yield from pm.write(64, {"a": 1, "b": 1})
        yield from pm.persist()
        yield from pm.write(64, {"a": 2, "c": 3})  # not persisted
        pm.delete("b")  # not persisted either

    run(sim, go())
    assert pm.unpersisted == 3
    assert pm.durable_view() == {"a": 1, "b": 1}
    dram.inject(fault("power_loss"))
    pm.inject(fault("power_loss"))
    assert dram.data == {}
    assert pm.data == {"a": 1, "b": 1}


def test_eadr_makes_stores_durable_at_once(sim):
    pm = PMEM(sim, PmemParams(eadr=True))
    pm.put("k", 7)
    pm.power_loss()
    assert pm.get("k") == 7


def test_corrupt_data_marks_a_value(sim):
    pm = PMEM(sim)
    pm.put("meta", "index")
    pm.persist_now()
    pm.inject(fault("corrupt_data", key="meta"))
    assert isinstance(pm.get("meta"), Corrupted)


def test_bad_memory_params_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PmemParams(read_latency="-1ns")
    with pytest.raises(ValidationError):
        PmemParams(read_bandwidth="0GB/s")
    with pytest.raises(ValidationError):
        PmemParams(write_bandwidth="10GB")  # bandwidth without a time base
