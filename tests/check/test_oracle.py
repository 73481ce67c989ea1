"""The reusable oracles find what is missing, and only that."""

from __future__ import annotations

from sim.check.oracle import AtomicityOracle, VersionOracle, compare_states


def test_version_oracle_missing_and_state_at():
    o = VersionOracle()
    v1 = o.write("a", 0.0)
    v2 = o.write("a", 1.0)
    w = o.write("b", 1.0)
    assert (v1, v2, w) == (1, 2, 1)
    o.acknowledge("a", v1, 1.0)
    o.acknowledge("b", w, 2.0)
    o.acknowledge("a", v2, 3.0)
    assert o.acknowledged == {"a": 2, "b": 1}
    assert o.state_at(0.5) == {}
    assert o.state_at(1.0) == {"a": 1}
    assert o.state_at(2.5) == {"a": 1, "b": 1}
    assert o.state_at(10) == {"a": 2, "b": 1}
    assert o.missing({"a": 2, "b": 1}) == []
    assert o.missing({"a": 3, "b": 5}) == []  # newer than acknowledged is fine (unacknowledged writes)
    [v] = o.missing({"a": 1}, now=4.0, where="partner", invariant="acked_on_partner")
    assert v.invariant == "acked_on_partner" and v.time_s == 4.0
    assert v.data["count"] == 2 and v.data["keys"] == ["'a'", "'b'"]
    assert "2 acknowledged write(s) missing" in v.detail and "on partner" in v.detail
    assert o.missing({}, since=o.state_at(1.0))[0].data["count"] == 1


def test_compare_states_and_atomicity():
    assert compare_states({1: "x"}, {1: "x"}, invariant="image") == []
    [v] = compare_states({1: "x", 2: "y"}, {1: "x", 2: "z", 3: "w"}, invariant="image")
    assert v.data["count"] == 2 and "expected 'y', got 'z'" in v.detail
    assert compare_states({1: "x"}, {1: "x", 3: "w"}, invariant="image", extra_ok=True) == []
    a = AtomicityOracle()
    a.begin("t1", ["p0", "p1"])
    a.begin("t2", ["p0", "p1"])
    a.begin("t3", ["p1"])
    assert a.check({"p0": ["t1"], "p1": ["t1", "t3"]}) == []
    [v] = a.check({"p0": ["t1", "t2"], "p1": ["t1"]})
    assert v.invariant == "transaction_atomic" and "'t2'" in v.detail
