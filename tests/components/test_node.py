"""Storage node: composition, crash (volatile lost, durable kept), power loss, restart."""

from __future__ import annotations

import pytest
import simpy

from sim.components.node import NodeParams, StorageNode
from tests.components.conftest import fault


def test_node_composes_memories_and_devices(sim):
    node = StorageNode(sim, NodeParams(pmem={}, devices={"d0": {"kind": "ssd"}, "d1": {"kind": "hdd"}}))
    assert node.pmem is not None and node.pmem.params.persistent
    assert sorted(node.devices) == ["d0", "d1"]
    assert node.devices["d1"].params.queue_depth == 1


def test_crash_loses_volatile_keeps_durable_and_restarts(sim):
    node = StorageNode(sim, NodeParams(pmem={}, restart_time="30s"))
    env = sim.env
    log = []
    node.on_restart.append(lambda: log.append(("restarted", env.now)))

    def work():
        node.volatile["cache"] = 1
        yield from node.dram.write(64, {"p": 1})
        yield from node.pmem.write(64, {"p": 1})
        yield from node.pmem.persist()
        yield from node.pmem.write(64, {"q": 2})  # not persisted, but power stays on
        with node.workers.request() as req:
            yield req
            yield env.timeout(100)
        log.append("never")

    node.process(work())
    env.run(until=1)
    node.inject(fault("crash"))
    assert not node.up and node.volatile == {} and node.dram.data == {}
    assert node.pmem.data == {"p": 1, "q": 2}
    node.heal(fault("crash"))
    env.run()
    assert log == [("restarted", pytest.approx(31.0))]
    assert node.up and node.downtime_s == pytest.approx(30.0)


def test_power_loss_drops_unpersisted_pmem(sim):
    node = StorageNode(sim, NodeParams(pmem={}))
    node.pmem.put("a", 1)
    node.pmem.persist_now()
    node.pmem.put("b", 2)
    node.inject(fault("power_loss"))
    assert node.pmem.data == {"a": 1}
    with pytest.raises(Exception, match="down"):
        node.process(iter(()))


def test_workers_are_fresh_after_crash(sim):
    node = StorageNode(sim, NodeParams(workers=1, restart_time=0))
    env = sim.env

    def hog():
        with node.workers.request() as req:
            yield req
            yield env.timeout(1e6)

    node.process(hog())
    env.run(until=1)
    node.crash()
    node.restart()
    env.run(until=2)
    req = node.workers.request()
    env.run(until=3)
    assert req.triggered and isinstance(node.workers, simpy.Resource)
