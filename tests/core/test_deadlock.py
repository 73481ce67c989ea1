"""The wait-for-graph deadlock detector: a hand-built cycle, no cycle, the time a deadlock formed."""

from __future__ import annotations

import simpy

from sim.core.deadlock import DeadlockDetector, resource_edges
from sim.core.simulation import Simulation


def test_hand_built_cycle_is_found_with_its_formation_time():
    det = DeadlockDetector()
    det.watch(lambda: [
        ("write_transaction#1", "send_queue", 0.5),
        ("send_queue", "completion_handler"),
        ("completion_handler", "workers", 0.25),
        ("workers", "write_transaction#1", 0.75),
    ])
    dl = det.find(now=2.0)
    assert dl is not None
    assert set(dl.cycle) == {"write_transaction#1", "send_queue", "completion_handler", "workers"}
    assert dl.formed_at == 0.75  # the latest edge on the cycle closed it
    assert dl.detected_at == 2.0
    assert dl.describe().count("->") == 4


def test_no_cycle_no_deadlock():
    det = DeadlockDetector()
    assert det.find(1.0) is None  # nothing watched
    det.watch(lambda: [("a", "r1", 0.1), ("r1", "b"), ("b", "r2", 0.2)])  # a chain ends at r2
    assert det.find(1.0) is None


def test_edges_from_several_sources_combine_and_undated_cycles_use_now():
    det = DeadlockDetector()
    det.watch(lambda: [("p1", "r1"), ("r1", "p2")])
    det.watch(lambda: [("p2", "r2"), ("r2", "p1")])
    dl = det.find(now=3.0)
    assert dl is not None and dl.formed_at == 3.0 and len(dl.cycle) == 4


def test_detection_is_deterministic():
    def edges():
        return [("t#2", "sq", 1.0), ("sq", "ch"), ("ch", "w", 1.0), ("w", "t#2", 1.0),
                ("t#1", "sq", 0.5)]

    cycles = set()
    for _ in range(5):
        det = DeadlockDetector()
        det.watch(edges)
        cycles.add(det.find(9.0).describe())
    assert len(cycles) == 1


def test_resource_edges_of_a_simpy_resource_form_the_classic_two_lock_cycle():
    env = simpy.Environment()
    a = simpy.Resource(env, 1)
    b = simpy.Resource(env, 1)
    names = {}

    def proc(name, first, second):
        with first.request() as r1:
            yield r1
            yield env.timeout(1)
            with second.request() as r2:
                yield r2

    p1 = env.process(proc("p1", a, b))
    p2 = env.process(proc("p2", b, a))
    names[p1] = "p1"
    names[p2] = "p2"
    env.run(until=5)
    det = DeadlockDetector()
    det.watch(lambda: resource_edges("A", a, names.get) + resource_edges("B", b, names.get))
    dl = det.find(env.now)
    assert dl is not None and set(dl.cycle) == {"p1", "p2", "A", "B"}


def test_run_loop_ends_a_deadlocked_run_early_even_with_an_idle_event_queue():
    sim = Simulation(seed=0, duration=10.0, check_interval=0.5)
    state = {"stuck_at": None}

    def gets_stuck():
        yield sim.env.timeout(1.2)
        state["stuck_at"] = sim.env.now

    def edges():
        if state["stuck_at"] is None:
            return []
        t = state["stuck_at"]
        return [("p", "r", t), ("r", "p", t)]

    sim.env.process(gets_stuck())
    sim.deadlock.watch(edges)
    out = sim.run()
    assert out.deadlock is not None
    assert out.deadlock.formed_at == 1.2
    assert out.end_time == 1.5  # the first check after it formed; the run did not go to 10 s
