"""Qualitative outcomes and central-step checks of the cluster migration model (system `cluster_migration`).

Runs are small (30 generated components, ~1 TB, 10 Gb/s) so each takes a fraction of a second.
"""

from __future__ import annotations

import copy
import re

import pytest

from sim.runner.replication import run_replication
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

BASE = {
    "name": "cluster_migration_test",
    "system": "cluster_migration",
    "seed": 3,
    "duration": 4 * 3600.0,
    "params": {"topology": {"components": 30}, "parallelism": 8},
}


def run(seed: int = 3, faults=None, **params):
    data = copy.deepcopy(BASE)
    data["params"].update(params)
    if faults:
        data["faults"] = faults
    sc = scenario_from_dict(data)
    res = run_replication(sc.resolved, seed)
    assert res.error is None, res.error
    return res


def invariants(res) -> set[str]:
    return {v["invariant"] for v in res.violations}


# --- the mechanism and its baselines ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [3, 4])
def test_dependency_aware_beats_both_naive_orders(seed):
    mech = run(seed).metrics
    assert mech["completed"] == 1 and mech["invariant_violations"] == 0
    assert mech["dependency_violations"] == 0 and mech["failed_starts"] == 0
    for variant in ("naive_parallel", "naive_order"):
        naive = run(seed, variant=variant).metrics
        assert naive["completed"] == 1 and naive["invariant_violations"] == 0  # a baseline, not a bug
        assert naive["dependency_violations"] > 0 and naive["failed_starts"] > 0
        assert naive["downtime_total_s"] > 3 * mech["downtime_total_s"], variant
        assert naive["downtime_max_s"] > mech["downtime_max_s"], variant
        assert naive["outage_total_s"] > 2 * mech["outage_total_s"], variant  # also as users see it
    assert mech["outage_total_s"] > 2 * mech["downtime_total_s"]  # dependents pay for their dependencies


def test_capacity_only_selection_produces_failed_starts_compatibility_avoids():
    comp = run().metrics
    cap = run(target_selection="capacity_only").metrics
    assert comp["failed_starts"] == 0 and comp["target_fit_score"] == 1.0 and comp["rollbacks"] == 0
    assert cap["failed_starts"] > 0 and cap["target_fit_score"] < 1.0 and cap["rollbacks"] > 0
    assert cap["invariant_violations"] == 0  # the baseline's own choice, not a broken invariant
    # a rolled-back component costs no downtime: the fraction actually migrated tells them apart
    assert comp["migrated_fraction"] == 1.0
    assert cap["migrated_fraction"] == pytest.approx(1 - cap["rollbacks"] / cap["components"])
    assert comp["candidates_rejected"] == cap["candidates_rejected"] + 1  # legacy-large: incompatible


def test_rejected_candidates_carry_their_reason_in_the_events():
    res = run()
    reasons = {e["cluster"]: e["reason"] for e in res.events if e["event"] == "candidate_rejected"}
    assert re.match(r"incompatible: \w+ runtime version \d+ < source version \d+", reasons["legacy-large"])
    assert [e["cluster"] for e in res.events if e["event"] == "target_selected"] == ["modern"]
    big = run(topology={"components": 60})
    reasons = {e["cluster"]: e["reason"] for e in big.events if e["event"] == "candidate_rejected"}
    assert reasons["edge-small"].startswith("capacity: ")


def test_parallelism_helps_until_the_link_binds():
    """5 streams of 250 MB/s fill the 1.25 GB/s link: beyond that parallelism buys nothing, and no
    migration beats the link's time for all the data or one stream's time for the largest component."""
    t = {p: run(parallelism=p).metrics["migration_time_s"] for p in (1, 4, 8, 16, 32)}
    assert t[1] > 1.8 * t[4]
    assert max(t[8], t[16], t[32]) < 1.1 * min(t[8], t[16], t[32])
    m = run().metrics
    assert min(t.values()) > m["data_bytes"] / 1.25e9


def test_every_byte_arrives_and_moved_bytes_cover_the_data():
    m = run(dirty_fraction=0.1).metrics
    assert m["invariant_violations"] == 0
    assert m["bytes_moved"] >= m["data_bytes"] * 1.05  # the delta sync re-sends the dirty chunks


# --- faults: the mechanism stays correct -----------------------------------------------------------------
def test_mechanism_survives_node_mover_and_link_faults_with_a_replan():
    faults = [
        {"kind": "crash", "target": "active_node", "at": 900.0, "restart_after": 300.0},
        {"kind": "crash", "target": "mover", "at": 1500.0, "restart_after": 60.0},
        {"kind": "link_down", "target": "link", "at": 2000.0, "duration": 120.0},
        {"kind": "slow_link", "target": "link", "at": 2500.0, "duration": 600.0, "bandwidth_factor": 0.3},
    ]
    m = run(faults=faults, chunk_error_rate=0.02, start_failure_rate=0.05).metrics
    assert m["invariant_violations"] == 0 and m["completed"] == 1
    assert m["replans"] == 1 and m["retries"] > 0 and m["dependency_violations"] == 0


def test_a_mover_crash_resumes_copies_from_their_stored_chunks():
    from sim.runner.replication import build

    base = run().metrics
    crash = [{"kind": "crash", "target": "mover", "at": 700.0, "restart_after": 60.0}]
    m = run(faults=crash).metrics
    assert m["invariant_violations"] == 0 and m["completed"] == 1
    _sim, system = build(scenario_from_dict(copy.deepcopy(BASE)).resolved, 3)
    excess = m["bytes_moved"] - base["bytes_moved"]
    assert 0 < excess <= 8 * max(system.chunk_bytes)  # at most the chunk in flight on each of 8 streams


def test_a_late_node_crash_moves_running_components_again():
    base = run().metrics
    m = run(faults=[{"kind": "crash", "target": "active_node", "at": base["migration_time_s"] + 120.0,
                     "restart_after": 300.0}]).metrics
    assert m["invariant_violations"] == 0 and m["completed"] == 1 and m["replans"] == 1
    assert m["downtime_total_s"] > base["downtime_total_s"] and m["bytes_moved"] > base["bytes_moved"]


# --- every central step, broken on purpose, is caught ---------------------------------------------------
def test_broken_compatibility_check_is_caught():
    res = run(broken_skip_compatibility_check=True)
    assert "placement_compatible" in invariants(res)


def test_broken_placement_is_caught():
    assert "placement_capacity" in invariants(run(broken_placement="ignore_capacity"))


def test_broken_dependency_map_is_caught():
    found = invariants(run(broken_dependency_map="drop_storage"))
    assert {"dependency_map_complete", "start_after_dependencies"} <= found


def test_broken_sequence_is_caught():
    assert "sequence_topological" in invariants(run(broken_sequence="reverse"))


def test_broken_start_gate_is_caught():
    res = run(broken_skip_start_gate=True)
    assert invariants(res) == {"start_after_dependencies"}
    assert res.metrics["dependency_violations"] > 0


def test_broken_delta_sync_is_caught():
    assert invariants(run(broken_skip_delta_sync=True)) == {"data_complete", "data_complete_at_launch"}


@pytest.mark.parametrize("mode,invariant", [("ignore_capacity", "placement_capacity"),
                                            ("skip", "placement_live_nodes")])
def test_broken_replan_is_caught(mode, invariant):
    crash = [{"kind": "crash", "target": "active_node", "at": 900.0, "restart_after": 300.0}]
    assert invariant in invariants(run(faults=crash, broken_replan=mode))
    assert not run(faults=crash).violations  # the same crash with the real re-plan


# --- explicit graphs ---------------------------------------------------------------------------------------
GRAPH = """\
name: cm_graph
system: cluster_migration
seed: 1
duration: 2h
params:
  graph:
    components:
      pool: {type: storage, data: 20GiB}
      db: {type: database, data: 10GiB, depends_on: [pool]}
      api: {type: app, data: 1GiB, depends_on: [db]}
      web: {type: web, data: 100MiB, depends_on: [api]}
"""


def test_explicit_graph_runs_in_dependency_order(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH)
    sc = load_scenario(p)
    for variant in ("dependency_aware", "naive_parallel"):
        data = copy.deepcopy(sc.resolved)
        data["params"]["variant"] = variant
        res = run_replication(data, 1)
        assert res.error is None and res.metrics["completed"] == 1 and res.metrics["components"] == 4
        if variant == "dependency_aware":
            assert res.metrics["waves"] == 4 and res.metrics["dependency_violations"] == 0
        else:
            assert res.metrics["dependency_violations"] > 0


def test_sequential_migration_time_matches_the_sum_of_its_steps():
    """Independent components, one mover: each copy at the stream rate (plus a link latency per
    chunk), stop, delta sync of the dirty chunks, start-up; nothing overlaps with the gate (the mover
    waits for the start), while a naive mover deploys and moves on (each start-up but the last overlaps
    the next copy, which is longer)."""
    sizes = {"a": 30, "b": 20, "c": 10}  # GiB; 1 GiB chunks, 10 % dirty
    graph = {"components": {n: {"type": "app", "data": f"{g}GiB"} for n, g in sizes.items()}}
    for variant in ("dependency_aware", "naive_order"):
        m = run(graph=graph, parallelism=1, chunk_size="1GiB", dirty_fraction=0.1, variant=variant).metrics
        expect = sum((g + round(0.1 * g)) * (2**30 / 250e6 + 2e-3) + 10.0 + 45.0 for g in sizes.values())
        expect -= 0.0 if variant == "dependency_aware" else 2 * 45.0
        assert m["migration_time_s"] == pytest.approx(expect, rel=1e-6), variant
        assert m["bytes_moved"] == sum((g + round(0.1 * g)) * 2**30 for g in sizes.values())
        assert m["downtime_total_s"] == pytest.approx(sum(round(0.1 * g) * (2**30 / 250e6 + 2e-3) + 55.0
                                                          for g in sizes.values()), rel=1e-6)


def test_dependency_cycle_in_an_explicit_graph_is_a_located_error(tmp_path):
    p = tmp_path / "cycle.yaml"
    p.write_text(GRAPH.replace("pool: {type: storage, data: 20GiB}",
                               "pool: {type: storage, data: 20GiB, depends_on: [web]}"))
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    msg = str(e.value)
    # located at the edge closing the cycle (web's `depends_on`, line 11), not at the `graph:` line
    assert re.search(r"cycle\.yaml:11: params\.graph\.components\.web\.depends_on\[0\]: dependency cycle "
                     r"api -> db -> pool -> web -> api: no migration order", msg), msg


def test_unknown_dependency_is_a_located_error(tmp_path):
    p = tmp_path / "unknown.yaml"
    p.write_text(GRAPH.replace("depends_on: [api]", "depends_on: [apii]"))
    with pytest.raises(ScenarioError, match=r"unknown\.yaml:11: params\.graph\.components\.web\.depends_on\[0\]: "
                       r".*unknown component 'apii'"):
        load_scenario(p)


CHAIN = {"components": {"pool": {"type": "storage", "data": "20GiB"},
                        "db": {"type": "database", "data": "10GiB", "depends_on": ["pool"]},
                        "api": {"type": "app", "data": "1GiB", "depends_on": ["db"]},
                        "web": {"type": "web", "data": "100MiB", "depends_on": ["api"]}}}


def test_outage_charges_dependents_still_on_the_source_during_a_dependency_cut_over():
    """`downtime_*` charges a component only from its own cut-over; a bottom-up order would hide the
    outage of the dependents still on the source while a dependency is cut over. `outage_*` charges
    it: each cut-over window W (stop 10 s, no dirty chunk at this size, start-up) is paid by the
    component and by everything above it (pool 70 s x 4, db 30 s x 3, api 55 s x 2, web 12 s)."""
    m = run(graph=CHAIN).metrics
    assert m["downtime_total_s"] == pytest.approx(70 + 30 + 55 + 12)
    assert m["outage_total_s"] == pytest.approx(4 * 70 + 3 * 30 + 2 * 55 + 12)
    assert m["outage_max_s"] == pytest.approx(70 + 30 + 55 + 12)  # web: out through every window below it


def test_tier_runbook_is_the_mechanism_on_a_chain_and_pays_for_intra_tier_calls_elsewhere():
    """The practitioner's baseline: a runbook by tier with a health-check barrier between tiers. Where
    tiers are the dependency order (a chain) it is exactly the mechanism; on a layered estate with
    service-to-service calls the services of one tier start unordered and some crash-loop."""
    for key in ("downtime_total_s", "outage_total_s", "migration_time_s"):
        assert run(graph=CHAIN, variant="tier_runbook").metrics[key] == pytest.approx(run(graph=CHAIN).metrics[key])
    mech, book = run().metrics, run(variant="tier_runbook").metrics
    assert book["completed"] == 1 and book["invariant_violations"] == 0 and book["waves"] == 4
    assert book["failed_starts"] > 0 and book["dependency_violations"] > 0 and mech["failed_starts"] == 0
    assert book["downtime_total_s"] > mech["downtime_total_s"]


def test_availability_charges_a_cut_over_component_until_its_dependencies_run():
    """a depends on b. b cut over at 0 (down), a at 2; a runs at 3, b at 5: a is down 2..5 (its
    dependency), b 0..5; as users see it a is out from 0 (b's cut-over) while still on the source."""
    import networkx as nx
    import simpy

    from sim.systems.cluster_migration.availability import Availability

    env = simpy.Environment()
    g = nx.DiGraph([(0, 1)])
    av = Availability(env, g, 2)
    av.twin = Availability(env, g, 2, through_source=True)

    def script():
        av.cut_over(1)
        yield env.timeout(2)
        av.cut_over(0)
        yield env.timeout(1)
        av.set_running(0, True)
        yield env.timeout(2)
        av.set_running(1, True)

    env.process(script())
    env.run()
    assert av.totals() == (3.0 + 5.0, 5.0)
    assert av.twin.totals() == (5.0 + 5.0, 5.0)


def test_a_mover_left_running_after_its_node_failed_is_caught(monkeypatch):
    """The re-plan interrupts the mover of a displaced component; without that interrupt the mover
    finishes on the failed node once it reboots, and the end check of what each node runs sees it."""
    import simpy

    crash = [{"kind": "crash", "target": "active_node", "at": 900.0, "restart_after": 300.0}]
    assert not run(faults=crash).violations
    monkeypatch.setattr(simpy.events.Process, "interrupt", lambda self, cause=None: None)
    assert "running_on_placed_node" in invariants(run(faults=crash))


def test_critical_path_first_priority_removes_the_slowdown_beyond_the_knee():
    """With fair sharing, 16 streams on a link that 5 fill slow the critical path (the large pools
    everything waits for) in favour of components nobody waits for; critical-path-first priority
    sends only as many streams as fill the link, longest remaining critical path first, so more
    parallelism never hurts."""
    big = [{"name": "modern", "versions": {"storage": 18, "database": 16, "cache": 7, "app": 21, "web": 1},
            "nodes": [{"count": 12, "cpu": 64, "memory": "512GiB", "device": "nvme"},
                      {"count": 12, "cpu": 64, "memory": "384GiB", "device": "ssd"}]}]
    t = {(mode, p): run(parallelism=p, stream_priority=mode, targets=big,
                        topology={"components": 120, "density": 0.5}).metrics["migration_time_s"]
         for mode in ("fair", "critical_path") for p in (8, 16, 32)}
    assert t["fair", 16] > t["fair", 8]  # the slowdown beyond the knee
    assert t["critical_path", 32] <= t["critical_path", 16] <= t["critical_path", 8] * 1.001
    assert t["critical_path", 16] < t["fair", 16]


def test_dirty_rate_charges_the_wait_at_the_gate():
    """A component parked at the gate keeps serving (and writing) on the source: with a `dirty_rate`
    its delta sync grows with the wait, so the mechanism re-sends more than a naive order (which
    stops each component as soon as its copy ends) and its downtime grows; `dirty_rate: 0` is the
    fixed fraction."""
    m0, m1 = run().metrics, run(dirty_rate=0.5).metrics
    n0, n1 = run(variant="naive_order").metrics, run(variant="naive_order", dirty_rate=0.5).metrics
    assert m1["bytes_moved"] > m0["bytes_moved"] and m1["downtime_total_s"] > m0["downtime_total_s"]
    assert m1["invariant_violations"] == 0 and m1["completed"] == 1
    assert (m1["bytes_moved"] - m0["bytes_moved"]) > 2 * (n1["bytes_moved"] - n0["bytes_moved"])


def test_when_the_migration_event_fires_changes_no_metric():
    """The trigger instant only shifts the timeline (no metric depends on absolute time)."""
    for variant in ("dependency_aware", "naive_order"):
        a, b = run(variant=variant).metrics, run(variant=variant, trigger_at=1234.5).metrics
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True), variant


def test_a_dependency_lost_between_cut_over_and_launch_holds_the_launch():
    """The gate is checked again before every launch: pool (on its own node, by memory) runs, db is
    released and stopped on the source (215.9-225.9 s); pool's node crashes at 220 s. db must wait
    for pool's re-migration instead of launching without it (without the re-check:
    `start_after_dependencies`)."""
    from sim.systems.cluster_migration.params import ClusterMigrationParams
    from sim.systems.cluster_migration.placement import select_target
    from sim.systems.cluster_migration.topology import build_topology

    g = copy.deepcopy(CHAIN)
    g["components"]["pool"]["memory"] = "400GiB"
    g["components"]["db"]["memory"] = "200GiB"
    p = ClusterMigrationParams(graph=g)
    placement = select_target(build_topology(p, None)[0], p, True, True).placement
    assert placement[0] != placement[1]
    crash = [{"kind": "crash", "target": f"node[{placement[0]}]", "at": 220.0, "restart_after": 300.0}]
    res = run(graph=g, faults=crash)
    assert not res.violations and res.metrics["completed"] == 1 and res.metrics["replans"] == 1


def test_wave_cut_over_aligns_the_windows_without_failed_starts():
    """`cutover: wave` releases a whole wave once the earlier waves run: its components' cut-over
    windows overlap, so a front end sees fewer separate windows (less outage), and, unlike the
    tier runbook, no launch ever precedes a dependency."""
    for seed in (3, 4):
        per, wave = run(seed).metrics, run(seed, cutover="wave").metrics
        assert wave["failed_starts"] == 0 and wave["invariant_violations"] == 0 and wave["completed"] == 1
        assert wave["outage_total_s"] < per["outage_total_s"]
        assert wave["downtime_total_s"] == pytest.approx(per["downtime_total_s"])
