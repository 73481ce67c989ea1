"""NVLog mirroring over RDMA: the baseline deadlocks, the reservation does not; the timing agrees
with the mechanism's arithmetic; faults keep every acknowledged write on the partner, except in
the deliberately broken `ack_before_mirror` variant."""

from __future__ import annotations

import math
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from sim.check.rangeset import RangeSet
from sim.runner import run_scenario
from sim.runner.replication import build
from sim.scenario import ScenarioError, load_scenario
from sim.systems.nvlog_mirror import COMPLETIONS, Write

ROOT = Path(__file__).resolve().parents[2]
RES = ROOT / "scenarios" / "nvlog_reservation.yaml"
NORES = ROOT / "scenarios" / "nvlog_no_reservation.yaml"


def fault(kind, target, **params):
    """A stand-in for the faults package's Fault: what inject/heal read."""
    return SimpleNamespace(kind=kind, target=target, params=params)


def make(path=RES, seed=1, **overrides):
    sc = load_scenario(path, overrides)
    return build(sc.resolved, seed)


def at(sim, t, fn):
    def proc():
        yield sim.env.timeout(t)
        fn()

    sim.env.process(proc())


def light(**extra):
    """A light mirrored load with the model's default queue (64 slots): no suspensions to speak of."""
    return {"duration": 0.02, "warmup": 0, "workload.rate": "200k/s", "params.send_queue_slots": 64,
            "params.heartbeat_interval": "0.1ms", "params.missed_heartbeats": 3,
            **extra}  # failure detection in 0.2-0.3 ms


# --- the headline contrast ------------------------------------------------------------------------
def test_baseline_deadlocks_in_every_replication_and_reservation_never():
    base = run_scenario(load_scenario(NORES, {"duration": 0.03}), write=False, replications=3)
    resv = run_scenario(load_scenario(RES, {"duration": 0.03}), write=False, replications=3)
    assert not base.errors and not resv.errors
    assert list(base.metrics.deadlocked) == [1, 1, 1]
    assert (base.metrics.time_to_deadlock_s > 0).all() and (base.metrics.time_to_deadlock_s < 0.03).all()
    assert list(resv.metrics.deadlocked) == [0, 0, 0]
    assert resv.metrics.time_to_deadlock_s.isna().all()
    # the reservation run keeps up with the offered 600k/s and did suspend transactions
    assert (resv.metrics.throughput_ops_s > 0.97 * 600e3).all()
    assert (resv.metrics.suspensions > 0).all()
    assert (resv.metrics.reservation_waits == resv.metrics.suspensions).all()
    cycles = [e["cycle"] for e in base.manifest["events"] if e["event"] == "deadlock"]
    assert len(cycles) == 3
    for c in cycles:
        assert "-> send_queue -> completion_handler -> workers -> write_transaction#" in c


def test_a_detected_deadlock_is_real_nothing_moves_afterwards():
    sim, system = make(NORES, seed=3, duration=0.05)
    system.start()
    out = sim.run()
    assert out.deadlock is not None
    acked = system.c_acked.value
    sim.env.run(until=sim.env.now + 0.01)  # 10 ms more: thousands of round trips
    assert system.c_acked.value == acked
    tasks = [w.task for w in system.primary.pool.workers]
    assert all(isinstance(t, Write) and t.blocked_since is not None for t in tasks)
    assert COMPLETIONS in system.primary.pool.queued()  # completion processing waits for a worker
    assert system.qp.sq.free < system.spw
    assert out.deadlock.formed_at == max(t.blocked_since for t in tasks)


def test_deadlocked_run_metrics_cover_the_scenario_window_not_the_detection_instant():
    # the run stops at the first check after the deadlock, but the deadlock is permanent: the
    # throughput is over [warm-up, duration] and does not depend on the check interval
    def run(seed, interval, **extra):
        sim, system = make(NORES, seed=seed, duration=0.06, **{"checks.interval": interval, **extra})
        system.start()
        out = sim.run()
        assert out.deadlock is not None
        return sim, system, system.metrics()

    sim, system, a = run(3, 0.001)  # forms at ~5.2 ms, after the 5 ms warm-up
    assert 0.005 < sim.outcome.deadlock.formed_at < sim.env.now
    _, _, b = run(3, 0.0002)
    assert a["throughput_ops_s"] == b["throughput_ops_s"] == system.c_acked.value / (0.06 - 0.005)
    assert a["write_latency_mean_s"] == b["write_latency_mean_s"]
    # deadlocked before the warm-up ended: nothing was acknowledged in the measured window, and
    # the warm-up's samples are not reported as if they were measured
    sim, system, c = run(1, 0.001)
    assert sim.outcome.deadlock.formed_at < 0.005 and system.c_acked.value > 0
    assert c["throughput_ops_s"] == 0
    assert math.isnan(c["write_latency_mean_s"]) and math.isnan(c["mirror_lag_p99_s"])
    # without a warm-up the window starts at 0
    _, system, d = run(1, 0.001, warmup=0)
    assert d["throughput_ops_s"] == system.c_acked.value / 0.06 and d["write_latency_mean_s"] > 0


def test_no_deadlock_reported_when_workers_wait_but_completions_are_in_flight():
    # the baseline at light load: posts block now and then but the run never deadlocks, so no
    # false positives from a transient cycle-like state
    sim, system = make(NORES, seed=1, duration=0.05, **{"workload.rate": "250k/s"})
    system.start()
    out = sim.run()
    assert system.c_blocked.value > 0
    assert out.deadlock is None


def test_deterministic_for_a_seed_and_different_across_seeds():
    def run(seed):
        sim, system = make(RES, seed=seed, duration=0.01)
        system.start()
        sim.run()
        return system.metrics()

    a, b, c = run(5), run(5), run(6)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)
    assert a["write_latency_mean_s"] != c["write_latency_mean_s"]


# --- timing against the mechanism's arithmetic --------------------------------------------------
def test_unloaded_latency_and_mirror_lag_are_the_sum_of_their_steps():
    sim, system = make(RES, seed=2, duration=0.2, warmup=0, **{"workload.rate": "1k/s"})
    p = system.params
    size = 4096
    append = p.txn_cpu_cost + size / p.nvlog_bandwidth + p.nvlog_append_latency
    mirror = (size + p.mirror_header) / p.rdma_bandwidth + p.rdma_latency
    apply = p.partner_apply_cost + p.nvlog_append_latency + size / p.nvlog_bandwidth
    ack = p.rdma_ack_bytes / p.rdma_bandwidth + p.rdma_latency
    lag = mirror + apply + ack + p.completion_cost
    system.start()
    sim.run()
    m = system.metrics()
    assert m["writes_acknowledged"] > 150
    assert m["write_latency_p50_s"] == pytest.approx(append + lag, rel=1e-9)
    assert m["mirror_lag_p50_s"] == pytest.approx(lag, rel=1e-9)
    assert m["suspensions"] == 0 and m["blocked_posts"] == 0


def test_littles_law_for_the_send_queue():
    # posted slots = slots per write x throughput x time a write's slots are held
    sim, system = make(RES, seed=4, duration=0.05, warmup=0.005)
    system.start()
    sim.run()
    m = system.metrics()
    p = system.params
    hold = (4096 + p.mirror_header) / p.rdma_bandwidth + 2 * p.rdma_latency  # post -> ACK back
    lower = p.slots_per_write * m["throughput_ops_s"] * (hold + p.completion_cost)
    assert lower * 0.98 < m["send_queue_occupancy_mean"] < 3 * lower
    assert m["send_queue_occupancy_max"] <= p.send_queue_slots


# --- faults: the invariant and its broken variant -----------------------------------------------
@pytest.mark.parametrize("kind", ["crash", "power_loss"])
def test_ack_before_mirror_loses_acknowledged_writes_at_a_primary_crash(kind):
    # the interconnect is down for a while before the crash, so the writes acknowledged after the
    # local append have not reached the partner when it takes over (one detection delay later)
    sim, system = make(RES, **light(**{"params.ack_before_mirror": True}))
    d = fault("link_down", "interconnect")
    f = fault(kind, "primary")
    at(sim, 0.0049, lambda: system.inject(d))
    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.008, lambda: system.heal(f))
    at(sim, 0.009, lambda: system.heal(d))
    system.start()
    sim.run()
    v = [x for x in system.violations() if x.invariant == "acked_write_on_partner"]
    assert len(v) == 1
    # (each early acknowledgement is also caught when it is given: the partner does not have it yet)
    # (and the resync's "in sync" finds them missing too)
    assert set(system.violation_log.by_invariant) >= {"acked_write_on_partner", "acked_mirrored_on_partner"}
    hb = system.params.heartbeat_interval
    assert v[0].data["missing"] > 0 and 0.005 + 2 * hb <= v[0].time_s <= 0.005 + 3 * hb  # at the takeover
    assert system.metrics()["lost_acknowledged_writes"] == v[0].data["missing"]
    assert system.metrics()["takeovers"] == 1


def test_a_primary_crash_during_its_restart_is_the_same_outage_checked_once():
    # the broken variant with the interconnect down, so acknowledged writes are missing on the
    # partner at the takeover and stay missing; a power loss while the primary is still
    # restarting (inside primary_recovery_time) finds it already taken over: the takeover is
    # checked and its lost writes counted once (the flat model counted them twice), and the
    # restart begins anew
    sim, system = make(RES, **light(duration=0.03, **{"params.ack_before_mirror": True}))
    d = fault("link_down", "interconnect")
    f, g = fault("crash", "primary"), fault("power_loss", "primary")
    at(sim, 0.0045, lambda: system.inject(d))
    at(sim, 0.012, lambda: system.heal(d))
    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.006, lambda: system.heal(f))  # restart under way until 0.016
    at(sim, 0.009, lambda: system.inject(g))
    at(sim, 0.010, lambda: system.heal(g))  # restarts at 0.020
    system.start()
    sim.run()
    v = [x for x in system.violations() if x.invariant == "acked_write_on_partner"]
    assert len(v) == 1 and system.violation_log.by_invariant["acked_write_on_partner"] == 1
    assert system.metrics()["lost_acknowledged_writes"] == v[0].data["missing"] > 0
    restarts = [e["time_s"] for e in sim.events if e["event"] == "primary_restarted"]
    # serving again once the giveback has flushed what only the partner's NVLog held (no CP ran)
    flushed = [e["flushed"] for e in sim.events if e["event"] == "giveback"]
    assert restarts == [pytest.approx(0.020 + flushed[0] * (4096 + 64) / system.params.cp_flush_bandwidth)]


@pytest.mark.parametrize("crash_at", [0.0031, 0.0052, 0.0077, 0.0123])
def test_correct_variant_keeps_every_acknowledged_write_on_the_partner(crash_at):
    sim, system = make(RES, **light())
    f = fault("crash", "primary")
    at(sim, crash_at, lambda: system.inject(f))
    at(sim, crash_at + 0.002, lambda: system.heal(f))
    system.start()
    out = sim.run()
    m = system.metrics()
    assert list(system.violations()) == []
    assert m["lost_acknowledged_writes"] == 0
    # every arrival is accounted for: acknowledged, failed in the crash, rejected while down, or in progress
    assert m["writes_acknowledged"] + m["writes_failed"] + m["writes_rejected"] + m["writes_in_progress"] \
        == m["writes_arrived"]
    assert m["writes_rejected"] > 0  # arrivals while the primary was down
    assert out.deadlock is None
    # service resumed after the restart (2 ms down + 10 ms recovery < 20 ms run, for early crashes)
    if crash_at + 0.002 + system.params.primary_recovery_time < 0.019:
        assert any(e["event"] == "primary_restarted" for e in sim.events)
        assert m["writes_in_progress"] < 50


def test_partner_crash_runs_degraded_then_resyncs():
    sim, system = make(RES, **light(duration=0.03))
    f = fault("crash", "partner")
    g = fault("crash", "primary")
    at(sim, 0.004, lambda: system.inject(f))
    at(sim, 0.009, lambda: system.heal(f))
    at(sim, 0.02, lambda: system.inject(g))  # after the resync: degraded writes are on the partner too
    system.start()
    out = sim.run()
    m = system.metrics()
    assert out.deadlock is None
    assert m["writes_acknowledged_degraded"] > 500  # ~5 ms at 200k/s acknowledged after the local append
    assert m["resync_entries"] >= m["writes_acknowledged_degraded"]
    assert list(system.violations()) == []
    assert len(system.oracle.acked_degraded.difference(system.partner.nvlog)) == 0
    assert len(system.oracle.acked_mirrored.difference(system.partner.nvlog)) == 0
    assert any(e["event"] == "resync_done" for e in sim.events)


def test_degraded_writes_are_outside_the_mirrored_invariant_but_stay_durable():
    # both nodes down: writes acknowledged in degraded mode are only in the primary's NVLog; no
    # mirrored write is lost and the end-of-run durability invariant holds
    sim, system = make(RES, **light())
    fp, fq = fault("power_loss", "partner"), fault("power_loss", "primary")
    at(sim, 0.004, lambda: system.inject(fp))
    at(sim, 0.008, lambda: system.inject(fq))
    system.start()
    sim.run()
    assert list(system.violations()) == []
    assert system.metrics()["writes_acknowledged_degraded"] > 0
    assert len(system.oracle.acked_degraded.difference(system.primary.nvlog)) == 0


def test_acked_write_durable_fires_when_an_acknowledged_write_never_reached_an_nvlog():
    # no modelled fault loses an NVLog, so this end-of-run invariant can only fail through a model
    # error: acknowledging a write whose local append did not happen. Show that it would fire.
    sim, system = make(RES, **light())
    f = fault("crash", "partner")
    at(sim, 0.004, lambda: system.inject(f))  # degraded from here on: acknowledged after the local append
    lost = []

    class LossyLog(RangeSet):
        __slots__ = ()

        def add(self, lsn):
            if system.partner.up or lost:
                super().add(lsn)
            else:
                lost.append(lsn)  # the model error: this append silently does not happen

    system.primary.nvlog = LossyLog()
    system.start()
    sim.run()
    v = list(system.violations())
    assert lost and lost[0] in system.oracle.acked_degraded
    assert [x.invariant for x in v] == ["acked_write_durable"]
    assert v[0].data["first_lsns"] == lost


def test_link_down_stalls_mirroring_without_a_false_deadlock():
    sim, system = make(RES, **light(duration=0.03))
    f = fault("link_down", "interconnect")
    seen = {}

    def mark(name):
        seen[name] = system.c_acked.value

    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.0051, lambda: mark("early"))
    at(sim, 0.015, lambda: mark("late"))
    at(sim, 0.015, lambda: system.heal(f))
    system.start()
    out = sim.run()
    assert out.deadlock is None
    assert seen["late"] - seen["early"] < 5  # nothing is acknowledged while the link is down
    assert system.c_acked.value > seen["late"] + 1000  # and it catches up afterwards
    assert system.c_susp.value > 100  # the queue filled: transactions suspended, workers stayed free
    assert list(system.violations()) == []


def test_slow_link_raises_mirror_lag():
    def lag(with_fault):
        sim, system = make(RES, **light())
        if with_fault:
            f = fault("slow_link", "interconnect", latency_factor=5)
            at(sim, 0.0, lambda: system.inject(f))
        system.start()
        sim.run()
        return system.metrics()["mirror_lag_mean_s"]

    assert lag(True) > 3 * lag(False)


def test_bad_fault_targets_and_kinds_are_clear_errors():
    sim, system = make(RES, **light())
    with pytest.raises(ValueError, match="no fault target"):
        system.inject(fault("crash", "disk"))
    with pytest.raises(ValueError, match="cannot take"):
        system.inject(fault("link_down", "primary"))
    with pytest.raises(ValueError, match="cannot take"):
        system.inject(fault("crash", "interconnect"))
    assert {n: tuple(t.fault_kinds) for n, t in system.fault_targets().items()} == {
        "primary": ("crash", "power_loss"), "partner": ("crash", "power_loss"),
        "partner_apply": ("throttle", "outage"), "interconnect": ("link_down", "slow_link")}


# --- input validation ----------------------------------------------------------------------------
@pytest.mark.parametrize("key,value,needle", [
    ("params.slots_per_write", 20, "slots_per_write"),
    ("params.send_queue_slots", 0, "send_queue_slots"),
    ("params.workers", 0, "workers"),
    ("params.rdma_latency", "-1us", "rdma_latency"),
    ("params.rdma_bandwidth", "0GB/s", "rdma_bandwidth"),
    ("params.send_queue_slot", 4, "did you mean 'send_queue_slots'"),
    ("workload.rate", "0/s", "rate"),
    ("workload.size", {"dist": "uniform", "low": "8KiB", "high": "4KiB"}, "low must be < high"),
])
def test_bad_parameters_are_located_scenario_errors(key, value, needle):
    with pytest.raises(ScenarioError) as e:
        load_scenario(RES, {key: value})
    text = str(e.value)
    assert needle in text
    assert text.startswith(str(RES)) or text.startswith("--set")


# --- the oracle's range sets ---------------------------------------------------------------------
def test_range_set_matches_a_python_set():
    rng = random.Random(7)
    for _ in range(30):
        a, b = RangeSet(), RangeSet()
        sa, sb = set(), set()
        for _ in range(200):
            x = rng.randrange(300)
            if rng.random() < 0.3:
                y = x + rng.randrange(1, 10)
                a.add_range(x, y)
                sa.update(range(x, y))
            else:
                a.add(x)
                sa.add(x)
            z = rng.randrange(300)
            b.add(z)
            sb.add(z)
        assert len(a) == len(sa) and set(a) == sa
        assert set(a.difference(b)) == sa - sb
        assert all((x in a) == (x in sa) for x in range(-2, 320))
        lo = a._lo
        assert all(a._hi[i] < lo[i + 1] for i in range(len(lo) - 1))  # disjoint, non-adjacent
    in_order = RangeSet(range(100000))
    assert in_order.ranges() == [(0, 100000)]


def test_selective_signalling_keeps_up_and_never_strands_a_reservation():
    sim, system = make(RES, seed=1, duration=0.02, **{"params.signal_interval": 4})
    system.start()
    out = sim.run()
    m = system.metrics()
    assert out.deadlock is None
    assert m["throughput_ops_s"] > 0.97 * 600e3
    assert m["writes_in_progress"] < 100  # nothing stuck waiting for a completion that never comes
    # fewer completions than sends, though a queue this busy forces most sends to be signalled
    assert system.qp.signalled < 0.95 * system.primary.next_lsn


def test_reservation_never_blocks_a_worker_even_across_a_partner_restart():
    # transactions that began degraded (no reservation) and finish after the partner is back
    # are acknowledged as degraded and resynced, never posted blocking in their modify phase
    straddled = 0
    for k in range(10):
        sim, system = make(RES, **light())
        f = fault("crash", "partner")
        at(sim, 0.004, lambda: system.inject(f))  # noqa: B023 - runs before the next iteration
        at(sim, 0.009 + k * 0.37e-6, lambda: system.heal(f))  # noqa: B023
        plain_ack = system.client.ack

        def ack(w, degraded, now, plain_ack=plain_ack, system=system):
            nonlocal straddled
            straddled += degraded and system.primary.mirroring
            plain_ack(w, degraded, now)

        system.client.ack = ack
        system.start()
        sim.run()
        m = system.metrics()
        assert m["blocked_posts"] == 0
        assert m["unmirrored_entries"] == 0
        assert len(system.oracle.acked_degraded.difference(system.partner.nvlog)) == 0
        assert list(system.violations()) == []
    assert straddled > 0  # the case was exercised


def test_converged_reports_what_has_not_recovered():
    """The heal phase's liveness hook: a partner left down is named; a healed pair converges."""
    root = Path(__file__).resolve().parents[2]
    sc = load_scenario(root / "scenarios" / "nvlog_campaign.yaml", {"faults": []})

    def run(heal: bool):
        sim, system = build(sc.resolved, 3)
        crash = SimpleNamespace(kind="crash", target="partner", params={})

        def fault():
            yield sim.env.timeout(0.010)
            system.inject(crash)
            if heal:
                yield sim.env.timeout(0.003)
                system.heal(crash)

        sim.env.process(fault())
        system.start()
        sim.run()
        return system.converged()

    assert run(heal=False) == "the partner is down"
    assert run(heal=True) is None
    healed = run_scenario(load_scenario(root / "scenarios" / "nvlog_campaign.yaml"), write=False)
    assert healed.metrics["invariant_violations"].iloc[0] == 0
