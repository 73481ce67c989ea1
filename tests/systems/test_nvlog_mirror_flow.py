"""nvlog_mirror's back-pressure: receive credits (RNR) from a slow partner, NVLog halves and consistency points."""

from __future__ import annotations

import pytest

from tests.systems.test_nvlog_mirror import RES, at, fault, light, make


def run(duration=0.02, **overrides):
    sim, system = make(RES, seed=1, duration=duration, **overrides)
    system.start()
    out = sim.run()
    return sim, system, out, system.metrics()


def test_a_slow_partner_fills_the_send_queue_through_receive_credits():
    slow = {"params.partner_apply_cost": "3us"}  # the partner applies 295k entries/s, 600k/s offered
    _, _, out, m = run(0.01, **slow)
    _, _, _, unlimited = run(0.01, **slow, **{"params.partner_receive_buffers": 10**9})
    _, _, _, fast = run(0.01)
    assert out.deadlock is None
    assert m["rnr_naks"] > 0 and m["send_queue_posted_mean"] > 12.5  # the queue feels the partner
    assert unlimited["rnr_naks"] == 0 and unlimited["send_queue_posted_mean"] < m["send_queue_posted_mean"] - 1
    assert m["throughput_ops_s"] == pytest.approx(1 / (3e-6 + 62e-9 + 4096 / 12.5e9), rel=0.02)
    assert fast["rnr_naks"] == 0  # a partner that keeps up never runs out of buffers


def test_a_stalled_apply_stops_the_flow_by_credits_and_it_resumes():
    sim, system = make(RES, **light(duration=0.02))
    stall = fault("outage", "partner_apply")
    seen = {}
    at(sim, 0.005, lambda: system.inject(stall))
    at(sim, 0.0059, lambda: seen.update(rx=system.partner.rx_free, posted=system.qp.sq.posted,
                                        susp=len(system.qp.sq._res_waiters)))
    at(sim, 0.006, lambda: system.heal(stall))
    system.start()
    sim.run()
    assert seen["rx"] == 0  # every receive buffer holds an entry waiting for the apply thread
    assert seen["posted"] >= 61 and seen["susp"] > 30  # the 64-slot queue is full, transactions suspended
    m = system.metrics()
    assert m["rnr_naks"] > 0 and list(system.violations()) == []
    assert m["writes_in_progress"] < 50  # and it caught up afterwards


def test_consistency_points_flush_halves_and_push_back_when_both_are_full():
    small = {"params.nvram_size": "4MiB", "params.cp_flush_bandwidth": "1GB/s"}  # halves of 1 MiB
    sim, system, out, m = run(**small)
    entry = 4096 + system.params.mirror_header
    assert m["consistency_points"] > 10 and m["nvlog_backpressure_waits"] > 0
    assert m["nvlog_backpressure_wait_mean_s"] > 0
    assert m["throughput_ops_s"] == pytest.approx(1e9 / entry, rel=0.03)  # the flush bandwidth caps it
    cps = system.cps
    # entries are retired only by completed CPs: everything below the running CP is on disk, nothing above
    lo = cps.flushing[0] if cps.flushing else cps.active_lo
    assert cps.disk.ranges() == [(0, lo)]
    assert cps.fill <= cps.half_bytes
    _, _, _, big = run()  # the default NVRAM (16 GiB): no CP within 20 ms, no back-pressure
    assert big["consistency_points"] == 0 and big["nvlog_backpressure_waits"] == 0


def test_the_cp_timer_starts_a_cp_before_the_half_is_full():
    sim, system, out, m = run(**{"params.cp_interval": "5ms", "workload.rate": "200k/s"})
    assert m["consistency_points"] >= 3 and m["nvlog_backpressure_waits"] == 0


def test_kaplan_meier_matches_the_product_limit_by_hand_and_uses_the_censored_runs():
    from sim.systems.nvlog_mirror.survival import kaplan_meier, median_survival

    km = kaplan_meier([1, 2, 2, 3, 4, 5], [True, True, False, True, False, True])
    assert list(km["t"]) == [0, 1, 2, 3, 5]
    assert list(km["survival"]) == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 0])
    assert list(km["at_risk"]) == [6, 6, 5, 3, 1]
    assert (km["lo"] <= km["survival"]).all() and (km["survival"] <= km["hi"]).all()
    assert median_survival(km) == 3
    # all censored: S stays 1, no median (the naive mean of observed times would be undefined)
    none = kaplan_meier([0.1, 0.1], [False, False])
    assert list(none["survival"]) == [1.0] and median_survival(none) != median_survival(none)


def test_the_cli_summary_gives_the_n_behind_each_figure(capsys):
    import pandas as pd

    from sim.cli import print_summary

    print_summary(pd.DataFrame({"replication": [0, 1, 2], "deadlocked": [1, 0, 0],
                                "time_to_deadlock_s": [0.002, float("nan"), float("nan")]}))
    out = capsys.readouterr().out.splitlines()
    assert "(n=3)" in out[0]
    assert out[1].startswith("deadlocked") and "(n=" not in out[1]
    assert out[2].startswith("time_to_deadlock_s") and out[2].endswith("(n=1)")
