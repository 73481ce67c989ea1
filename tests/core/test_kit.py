"""The model kit: fault nesting on a target, the Host crash/restart idiom, the ViolationLog, process helpers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import simpy

from sim.components.host import Host
from sim.components.network import Link
from sim.core.fault_target import FaultTarget
from sim.core.process import Backoff, Pacer, bounded_parallel, retry
from sim.core.simulation import Simulation
from sim.core.system import Metric, ViolationLog, unit_of
from sim.faults.scheduler import FaultScheduler
from sim.faults.spec import KINDS


def _fault(kind: str, **params):
    return SimpleNamespace(kind=kind, target="t", params=params)


class Lamp(FaultTarget):
    fault_kinds = ("crash", "power_loss", "link_down", "lose_data")

    def __init__(self) -> None:
        self.name = "lamp"
        self.calls: list[str] = []

    def _inject_crash(self, f):
        self.calls.append("crash")

    def _heal_crash(self, f):
        self.calls.append("restart")

    def _inject_power_loss(self, f):
        self.calls.append("power_loss")

    def _heal_power_loss(self, f):
        self.calls.append("power_back")

    def _inject_link_down(self, f):
        self.calls.append("cut")

    def _heal_link_down(self, f):
        self.calls.append("restore")

    def _inject_lose_data(self, f):
        self.calls.append("lose")


def test_faults_of_one_family_nest_and_heal_with_the_last():
    t = Lamp()
    crash, power = _fault("crash"), _fault("power_loss")
    t.inject(crash)
    t.inject(power)  # same family "down": only deepens
    assert t.calls == ["crash"] and t.fault_depth("power_loss") == 2
    t.heal(crash)
    assert t.calls == ["crash"]  # the power loss still keeps it down
    t.heal(power)
    assert t.calls == ["crash", "power_back"]
    t.heal(power)  # a stray heal does nothing
    assert t.calls == ["crash", "power_back"]


def test_other_families_and_instantaneous_kinds_do_not_nest_together():
    t = Lamp()
    t.inject(_fault("crash"))
    t.inject(_fault("link_down"))
    t.inject(_fault("lose_data"))
    t.inject(_fault("lose_data"))
    assert t.calls == ["crash", "cut", "lose", "lose"]
    with pytest.raises(ValueError, match="cannot take fault 'outage'.*supported: crash"):
        t.inject(_fault("outage"))


def test_host_restarts_only_when_its_last_cause_heals():
    sim = Simulation(seed=1, duration=100.0)
    env = sim.env
    host = Host(sim, None, "node", restart_time=1.0)
    log = []
    host.on_crash.append(lambda why: log.append(("down", env.now, why)))
    host.on_restart.append(lambda: log.append(("up", env.now)))

    def work():
        while True:
            yield env.timeout(0.25)

    host.process(work())

    def script():
        yield env.timeout(5.5)
        host.go_down("crash")  # a role's crash, healed at 7.5
        yield env.timeout(0.5)
        host.go_down("crash")  # the node's crash, healed at 6.1
        yield env.timeout(0.1)
        host.come_up()
        yield env.timeout(1.4)
        host.come_up()

    env.process(script())
    env.run(until=20)
    assert log == [("down", 5.5, "crash"), ("up", pytest.approx(8.5))]
    assert host.crashes == 1 and host.downtime_s == pytest.approx(3.0)
    assert host.procs.alive == 0  # the crash ended its process


def test_a_crash_during_reboot_abandons_the_reboot():
    sim = Simulation(seed=1, duration=100.0)
    env = sim.env
    host = Host(sim, None, "node", restart_time=2.0)
    ups = []
    host.on_restart.append(lambda: ups.append(env.now))

    def script():
        host.go_down()
        yield env.timeout(1.0)
        host.come_up()  # reboot would finish at 3.0
        yield env.timeout(1.0)
        host.go_down()  # crashes again while rebooting
        yield env.timeout(1.0)
        host.come_up()  # reboot from 3.0, up at 5.0

    env.process(script())
    env.run(until=20)
    assert ups == [pytest.approx(5.0)]


def test_slow_link_with_only_a_latency_factor_resolved_by_the_schema_degrades_a_link():
    """The resolved fault keeps unset keys as None; a generic Link must treat them as absent."""
    spec = KINDS["slow_link"].model_validate(
        {"kind": "slow_link", "target": "wan", "at": 1.0, "duration": 2.0, "latency_factor": 4.0})
    resolved = spec.model_dump(mode="json") | {"targets": ["wan"]}
    assert resolved["bandwidth_factor"] is None  # the trap
    sim = Simulation(seed=1, duration=10.0)
    link = Link(sim, name="wan")
    system = SimpleNamespace(inject=link.inject, heal=link.heal)
    seen = []

    def probe():
        yield sim.env.timeout(2.0)
        seen.append((link.latency, link.forward.capacity))
        yield sim.env.timeout(2.0)
        seen.append((link.latency, link.forward.capacity))

    FaultScheduler(sim, system, [resolved]).start()
    sim.env.process(probe())
    sim.env.run(until=10.0)
    base = link.params
    assert seen == [(pytest.approx(4 * base.latency), base.bandwidth), (base.latency, base.bandwidth)]


def test_violation_log_keeps_a_true_count_and_the_first_details():
    log = ViolationLog(keep=3)
    for i in range(10):
        log.add("acked_write_durable", f"write {i} lost", float(i), lsn=i)
    assert log.count == 10 and len(log.details) == 3 and log.by_invariant == {"acked_write_durable": 10}
    assert [v.data["lsn"] for v in log] == [0, 1, 2]


def test_metric_units_come_from_the_name():
    assert [unit_of(n) for n in ("rto_s", "storage_bytes", "throughput_ops_s", "monthly_cost_usd", "ratio")] == \
        ["s", "bytes", "operations/s", "USD", ""]
    assert Metric("x_bytes_s", "d").unit == "bytes/s"


def test_register_rejects_a_metric_declared_twice_in_one_system():
    from sim.core.registry import register_system
    from sim.core.system import System

    class Twice(System):
        metrics_spec = (Metric("a_s", "one"), Metric("a_s", "two"))

    with pytest.raises(ValueError, match="declared twice"):
        register_system("twice_declared")(Twice)


def test_pacer_books_commands_and_bytes():
    p = Pacer(1000.0)
    assert [p.delay(0.0) for _ in range(3)] == [0.0, pytest.approx(1e-3), pytest.approx(2e-3)]
    q = Pacer(100.0)
    assert q.delay(0.0, 50.0) == 0.0 and q.delay(0.1, 10.0) == pytest.approx(0.4)


def test_retry_waits_out_errors_and_bounded_parallel_keeps_order_and_limit():
    env = simpy.Environment()
    rng = np.random.default_rng(1)
    attempts = []

    def flaky():
        attempts.append(env.now)
        yield env.timeout(0.0)
        if len(attempts) < 3:
            raise TimeoutError("busy")
        return "done"

    in_flight = [0, 0]

    def job(x):
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        yield env.timeout(1.0)
        in_flight[0] -= 1
        if x == 3:
            raise KeyError(x)
        return x * x

    out = {}

    def main():
        out["retry"] = yield from retry(env, flaky, (TimeoutError,), Backoff(0.1, 10.0, rng))
        out["par"] = yield from bounded_parallel(env, list(range(6)), job, 2, collect=(KeyError,))

    env.process(main())
    env.run()
    assert out["retry"] == "done" and len(attempts) == 3
    assert 0.05 <= attempts[1] - attempts[0] < 0.1 and 0.1 <= attempts[2] - attempts[1] < 0.2
    results, errors = out["par"]
    assert results[:3] == [0, 1, 4] and isinstance(results[3], KeyError) and results[4:] == [16, 25]
    assert len(errors) == 1 and in_flight[1] == 2
