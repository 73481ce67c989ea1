"""nvlog_mirror: the giveback's sync of the takeover writes and a consistency point interrupted by a crash.

A write the partner acknowledged while it served after a takeover must be on the primary's side
(on disk) once the giveback is done, and survive later crashes of either node; a giveback without
the partner's flush (`giveback_without_sync`, or the flush step patched out) is caught by
`giveback_synced`. A crash during a CP leaves the half in the NVLog, un-retired; the restart (or
the takeover's giveback) flushes it; retiring a half when its CP starts (`retire_before_cp_done`)
is caught by `acked_write_durable` at the crash.
"""

from __future__ import annotations

import pytest

from sim.check.rangeset import RangeSet
from tests.systems.test_nvlog_mirror import RES, at, fault, light, make
from tests.systems.test_nvlog_mirror_faultpoints import run, violations

SMALL = {"params.nvram_size": "8MiB"}  # 2 MiB halves: a CP every ~2.5 ms at 200k/s, 1 ms of flush
QUICK = {"params.takeover_time": "1ms", "params.giveback_delay": "2ms", **SMALL}


def takeover_then_crashes(later: bool = True, **extra):
    """Primary crash at 5 ms (back at 16 ms, giveback after 18 ms); then partner and primary crashes."""
    sim, system = make(RES, **light(duration=0.04, **QUICK, **extra))
    served = RangeSet()  # LSNs acknowledged while the partner served (until the first giveback):
    ack = system.client.ack  # recorded here, not by the model

    def watched(w, degraded, now):
        if system.service.serving and system.service.c_givebacks.value == 0:
            served.add(w.lsn)
        ack(w, degraded, now)

    system.client.ack = watched
    f = fault("crash", "primary")
    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.006, lambda: system.heal(f))
    if later:
        g, h = fault("crash", "partner"), fault("power_loss", "primary")
        at(sim, 0.026, lambda: system.inject(g))  # after the giveback: the partner's copy is gone
        at(sim, 0.027, lambda: system.heal(g))
        at(sim, 0.030, lambda: system.inject(h))  # and a crash of the primary (taken over again)
        at(sim, 0.031, lambda: system.heal(h))
    system.start()
    sim.run()
    return sim, system, served


def test_a_write_acknowledged_during_the_takeover_survives_the_giveback_and_later_crashes():
    sim, system, served = takeover_then_crashes()
    m = system.metrics()
    assert list(system.violations()) == []
    assert m["takeovers"] == 2 and m["givebacks"] >= 1 and len(served) > 1000
    assert len(served.difference(system.cps.disk)) == 0  # every write of the first takeover is on disk
    gb = next(e for e in sim.events if e["event"] == "giveback")
    assert gb["flushed"] >= len(served)  # the giveback's flush wrote them, and charged its time


def test_giveback_without_sync_loses_the_takeover_writes_and_is_caught():
    sim, system, served = takeover_then_crashes(later=False, **{"params.giveback_without_sync": True})
    v = list(system.violations())
    assert v and v[0].invariant == "giveback_synced"
    assert v[0].data["missing"] >= len(served) > 1000
    assert "acked_write_durable" in {x.invariant for x in v}  # and still lost at the end of the run


def test_a_giveback_whose_flush_step_is_skipped_is_caught(monkeypatch):
    sim, system = make(RES, **light(duration=0.04, **QUICK))
    monkeypatch.setattr(system.cps, "unflushed_on_partner", lambda log: RangeSet())  # the step skipped
    f = fault("crash", "primary")
    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.006, lambda: system.heal(f))
    system.start()
    sim.run()
    assert [x.invariant for x in system.violations()][:1] == ["giveback_synced"]


def test_a_partner_crash_during_the_giveback_flush_redoes_it_and_loses_nothing():
    sim, system = make(RES, **light(duration=0.04, **QUICK))
    f, g = fault("crash", "primary"), fault("crash", "partner")
    state = {}

    def watch():
        while system.service.c_gb_flushed.value == 0:  # the giveback's flush has begun
            yield sim.env.timeout(5e-6)
        state["t"] = sim.env.now
        system.inject(g)
        yield sim.env.timeout(0.001)
        system.heal(g)

    at(sim, 0.005, lambda: system.inject(f))
    at(sim, 0.006, lambda: system.heal(f))
    sim.env.process(watch())
    system.start()
    sim.run()
    assert "t" in state and list(system.violations()) == []
    gbs = [e for e in sim.events if e["event"] == "giveback"]
    assert len(gbs) == 1 and gbs[0]["time_s"] > state["t"] + 0.001  # redone after the partner's restart


def crash_inside_a_cp(detect_ms: float, **extra):
    """The primary crashes while a CP flushes (its 3rd), back 1 ms later (+ the 2 ms replay)."""
    hb = {"params.heartbeat_interval": f"{detect_ms / 3}ms", "params.missed_heartbeats": 3}
    sim, system = make(RES, **light(duration=0.03, **SMALL, **hb, **extra))
    f = fault("crash", "primary")
    state = {}

    def watch():
        while system.cps.c_cps.value < 2 or system.cps.flushing is None:
            yield sim.env.timeout(2e-6)
        state["half"] = system.cps.flushing
        system.inject(f)
        state["retired_at_crash"] = len(system.cps.retired)
        state["on_disk_at_crash"] = len(system.cps.disk)
        yield sim.env.timeout(0.001)
        system.heal(f)

    sim.env.process(watch())
    system.start()
    sim.run()
    return sim, system, state


@pytest.mark.parametrize("detect_ms", [30.0, 0.3])  # restarted before detection / taken over
def test_a_crash_during_a_cp_leaves_the_half_in_the_nvlog_and_it_is_flushed_afterwards(detect_ms):
    sim, system, state = crash_inside_a_cp(detect_ms)
    lo, hi = state["half"]
    assert hi - lo > 100 and system.cps.c_interrupted.value == 1
    assert any(e["event"] == "cp_interrupted" for e in sim.events)
    half = RangeSet()
    half.add_range(lo, hi)
    assert (
        state["retired_at_crash"] == state["on_disk_at_crash"] == lo
    )  # the half: neither retired nor on disk
    assert len(half.difference(system.cps.disk)) == 0  # flushed later: the replay's CP or the giveback
    assert list(system.violations()) == []
    m = system.metrics()
    assert m["takeovers"] == (1 if detect_ms < 1 else 0)


def test_retiring_a_half_before_its_cp_is_on_disk_is_caught_at_a_crash_during_the_cp():
    sim, system, state = crash_inside_a_cp(30.0, **{"params.retire_before_cp_done": True})
    v = list(system.violations())
    assert (
        v
        and v[0].invariant == "acked_write_durable"
        and v[0].time_s == pytest.approx(sim.events[0]["time_s"])
    )
    lo, hi = state["half"]
    assert v[0].data["missing"] > 0.5 * (hi - lo)  # the half's acknowledged entries are gone


def test_retiring_early_leaves_no_trace_once_its_cp_completes():
    # the broken state exists only while a CP flushes (a crash then, or the run ending then, sees it):
    # 20 ms at 200k/s ends between CPs
    sim, system = make(RES, **light(duration=0.02, **SMALL, **{"params.retire_before_cp_done": True}))
    system.start()
    sim.run()
    assert system.metrics()["consistency_points"] > 3 and list(system.violations()) == []


def test_the_campaign_point_inside_the_cp_flush_interrupts_a_cp():
    crash_in_cp = [{"kind": "crash", "target": "primary", "point": "nvlog_mirror.cp.flushing", "hit": 3,
                    "restart_after": "1ms"}]
    res = run(
        crash_in_cp,
        duration="20ms",
        **{"checks.heal_phase": "5ms"},
    )
    assert violations(res) == []
    assert any(e["event"] == "cp_interrupted" for e in res.manifest["events"])
    bad = run(
        crash_in_cp,
        duration="20ms",
        **{"checks.heal_phase": "5ms", "params.retire_before_cp_done": True},
    )
    assert "acked_write_durable" in {v.get("invariant") for v in violations(bad)}
