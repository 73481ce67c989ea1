"""Storage node faults that strike a running node: ransomware encrypting at a rate, clock skew."""

from __future__ import annotations

import pytest

from sim.components.node import Encrypted, NodeParams, StorageNode
from tests.components.conftest import fault


def node_with_blocks(sim, n: int) -> StorageNode:
    node = StorageNode(sim, NodeParams(devices={"d0": {"kind": "ssd"}}))
    node.devices["d0"].data.update({b: ("v", b) for b in range(n)})
    return node


def test_ransomware_encrypts_at_its_rate_until_healed(sim):
    node = node_with_blocks(sim, 1000)
    attack = fault("ransomware", "node", rate=100 * 4096)  # 100 blocks/s

    def schedule():
        yield sim.env.timeout(1.0)
        node.inject(attack)
        yield sim.env.timeout(2.0)
        node.heal(attack)

    sim.env.process(schedule())
    sim.env.run(until=10)
    data = node.devices["d0"].data
    encrypted = [b for b, v in data.items() if isinstance(v, Encrypted)]
    assert len(encrypted) == pytest.approx(200, abs=2)  # 2 s at 100 blocks/s, then stopped
    assert encrypted == list(range(len(encrypted)))  # in the order the blocks were written
    assert data[0].original == ("v", 0)  # the oracle can still tell what was lost
    assert node.encrypted_bytes == len(encrypted) * 4096


def test_ransomware_stops_when_the_node_crashes_and_when_all_is_encrypted(sim):
    node = node_with_blocks(sim, 50)
    attack = fault("ransomware", "node", rate=1e9)

    def schedule():
        yield sim.env.timeout(0.5)
        node.inject(attack)

    sim.env.process(schedule())
    sim.env.run(until=2)
    assert all(isinstance(v, Encrypted) for v in node.devices["d0"].data.values())
    assert node.encrypted_bytes == 50 * 4096  # nothing encrypted twice

    node2 = node_with_blocks(sim, 1000)
    slow = fault("ransomware", "node", rate=100 * 4096)

    def crash_it():
        node2.inject(slow)
        yield sim.env.timeout(0.5)
        node2.crash()

    sim.env.process(crash_it())
    sim.env.run(until=5)
    n = sum(isinstance(v, Encrypted) for v in node2.devices["d0"].data.values())
    assert 45 <= n <= 51  # the attacking process died with the node


def test_clock_skew_steps_and_drifts_until_corrected(sim):
    node = StorageNode(sim, NodeParams())
    skew = fault("clock_skew", "node", offset=-0.02, drift=50e-6)
    seen = {}

    def schedule():
        yield sim.env.timeout(10)
        seen["before"] = node.clock()
        node.inject(skew)
        seen["at"] = node.clock()
        yield sim.env.timeout(100)
        seen["later"] = node.clock()
        node.heal(skew)
        seen["healed"] = node.clock()

    sim.env.process(schedule())
    sim.env.run(until=200)
    assert seen["before"] == 10
    assert seen["at"] == pytest.approx(10 - 0.02)
    assert seen["later"] == pytest.approx(110 - 0.02 + 100 * 50e-6)
    assert seen["healed"] == 110
    with pytest.raises(ValueError, match="cannot take fault 'outage'"):
        node.inject(fault("outage", "node"))
