"""Cloud services: object store, stream service, volume, snapshots, compute instance."""

from __future__ import annotations

import math

import pytest

from sim.components.base import (
    CorruptData,
    NoSuchKey,
    NotRunning,
    RecordsExpired,
    ServiceUnavailable,
    Throttled,
)
from sim.components.cloud import (
    CloudVolume,
    ComputeInstance,
    ObjectStore,
    ObjectStoreParams,
    SnapshotService,
    StreamParams,
    StreamService,
    VolumeParams,
)
from tests.components.conftest import fault, run


# --- object store ---------------------------------------------------------------------------------
def test_put_get_roundtrip_and_missing_key(sim):
    store = ObjectStore(sim)

    def go():
        yield from store.put("a/1", 1000, "v1")
        yield from store.put("a/1", 500, "v2")
        obj = yield from store.get("a/1")
        try:
            yield from store.get("a/missing")
        except NoSuchKey:
            return obj
        return None

    obj = run(sim, go())
    assert obj.value == "v2" and obj.version == 2
    assert store.stored_bytes == 500
    keys = run(sim, store.list("a/"))
    assert keys == ["a/1"]


def test_object_store_latency_distribution(sim):
    p = ObjectStoreParams(put_latency_median="30ms", put_latency_p99="200ms", connection_throughput="1GB/s")
    store = ObjectStore(sim, p)
    lat = []

    def go():
        for i in range(4000):
            t0 = sim.now
            yield from store.put(f"p{i % 10}/k{i}", 0)
            lat.append(sim.now - t0)

    run(sim, go())
    lat.sort()
    assert lat[2000] == pytest.approx(0.030, rel=0.05)
    assert lat[3960] == pytest.approx(0.200, rel=0.15)


def test_prefix_throttling_outage_and_throttle_fault(sim):
    store = ObjectStore(sim, ObjectStoreParams(put_rate_per_prefix="10/s", burst="1s"))
    outcomes = []

    def one(key):
        try:
            yield from store.put(key, 0)
            outcomes.append("ok")
        except Throttled:
            outcomes.append("throttled")
        except ServiceUnavailable:
            outcomes.append("unavailable")

    for i in range(15):  # 15 at once on one prefix: 10 pass (burst), 5 throttled
        sim.env.process(one(f"x/{i}"))
    sim.env.process(one("y/0"))  # another prefix has its own budget
    sim.env.run()
    assert outcomes.count("ok") == 11 and outcomes.count("throttled") == 5
    store.inject(fault("outage"))
    run(sim, one("z/0"))
    assert outcomes[-1] == "unavailable"
    store.heal(fault("outage"))
    store.inject(fault("throttle", factor=0.0))
    run(sim, one("z/1"))
    assert outcomes[-1] == "throttled"
    store.heal(fault("throttle"))
    run(sim, one("z/2"))
    assert outcomes[-1] == "ok"


def test_lose_and_corrupt_objects(sim):
    store = ObjectStore(sim)
    for k in ("a/1", "a/2", "b/1"):
        run(sim, store.put(k, 10))
    store.inject(fault("lose_data", prefix="a/"))
    assert sorted(store.objects) == ["b/1"]
    store.inject(fault("corrupt_data", key="b/1"))
    with pytest.raises(CorruptData):
        run(sim, store.get("b/1"))


def test_object_store_costs(sim):
    store = ObjectStore(sim)

    def go():
        for i in range(1000):
            yield from store.put(f"k{i}", 2**30 / 1000)
        yield sim.env.timeout(730 * 3600 - sim.now)  # one billing month

    run(sim, go())
    cost = store.cost_usd()
    assert cost["put_requests_usd"] == pytest.approx(0.005)
    assert cost["storage_usd"] == pytest.approx(0.023, rel=0.01)  # ~1 GB for a month


# --- stream service -------------------------------------------------------------------------------
def test_stream_put_get_order_and_limits(sim):
    st = StreamService(sim, StreamParams(shards=1, write_records_per_shard="10/s", burst="1s"))
    results = []

    def put(i):
        try:
            rec = yield from st.put(100, i)
            results.append(rec.seq)
        except Throttled:
            results.append("throttled")

    for i in range(12):
        sim.env.process(put(i))
    sim.env.run()
    assert results.count("throttled") == 2
    recs = run(sim, st.get_records(0))
    assert [r.seq for r in recs] == list(range(10))
    assert [r.value for r in recs] == list(range(10))
    assert run(sim, st.get_records(0, after_seq=4)) [0].seq == 5


def test_stream_byte_limit_and_record_size(sim):
    st = StreamService(sim, StreamParams(write_bytes_per_shard="1MiB/s"))
    ok = 0

    def go():
        nonlocal ok
        for _ in range(3):
            try:
                yield from st.put(600 * 1024, None)  # 1 MiB budget: the second does not fit
                ok += 1
            except Throttled:
                pass
        yield sim.env.timeout(1.0)  # refilled
        yield from st.put(600 * 1024, None)
        ok += 1

    run(sim, go())
    assert ok == 2
    with pytest.raises(ValueError):
        run(sim, st.put(2 * 2**20))


def test_stream_retention_expiry_is_reported(sim):
    st = StreamService(sim, StreamParams(retention="24h"))  # the shortest Kinesis allows

    def go():
        for i in range(5):
            yield from st.put(10, i)
        yield sim.env.timeout(25 * 3600)
        yield from st.put(10, "new")
        try:
            yield from st.get_records(0, after_seq=-1)
        except RecordsExpired as e:
            return e
        return None

    err = run(sim, go())
    assert err is not None and err.lost == 5 and [r.value for r in err.records] == ["new"]


@pytest.mark.parametrize("retention", ["1s", "23h", "8761h", "3650d"])
def test_stream_retention_outside_the_kinesis_range_is_rejected(retention):
    with pytest.raises(ValueError, match="outside the Kinesis retention range"):
        StreamParams(retention=retention)


def test_stream_retention_at_the_kinesis_edges_is_accepted():
    assert StreamParams(retention="24h").retention == 24 * 3600
    assert StreamParams(retention="8760h").retention == 8760 * 3600


def test_stream_long_term_retention_is_billed_per_gb_month(sim):
    """Beyond 7 days a record is billed per GB-month for the time past its first 7 days, on top of
    the extended-retention shard-hours; up to 7 days nothing is billed by the GB."""
    st = StreamService(sim, StreamParams(retention="10d"))
    week = StreamService(sim, StreamParams(retention="7d"), "week")

    def go():
        yield from st.put(2**20, "a")
        yield from week.put(2**20, "a")
        yield sim.env.timeout(9 * 86400 - sim.now)

    run(sim, go())
    month_s = 730 * 3600
    gb = 2**20 / 2**30
    assert st.cost_usd()["long_term_retention_usd"] == pytest.approx(gb * 2 * 86400 / month_s * 0.023, rel=1e-6)
    assert week.cost_usd()["long_term_retention_usd"] == 0.0
    hours = sim.now / 3600
    assert st.cost_usd()["shard_hours_usd"] == pytest.approx(hours * (0.015 + 0.02))

    def later():
        yield sim.env.timeout(12 * 86400 - sim.now)  # the record expired at 10 d: 3 d beyond 7 d billed

    run(sim, later())
    assert st.cost_usd()["long_term_retention_usd"] == pytest.approx(gb * 3 * 86400 / month_s * 0.023, rel=1e-6)
    assert st.long_term_gb_steady(2**30 / 86400) == pytest.approx(3.0)  # 1 GiB a day, kept 3 d beyond 7 d


def test_stream_lose_data_and_cost(sim):
    st = StreamService(sim, StreamParams(shards=2))
    run(sim, st.put(30 * 1024, "x", shard=0))  # 2 PUT payload units
    st.inject(fault("lose_data", shard=0))
    with pytest.raises(RecordsExpired):
        run(sim, st.get_records(0, after_seq=-1))

    def wait_hour():
        yield sim.env.timeout(3600 - sim.now)

    run(sim, wait_hour())
    cost = st.cost_usd()
    assert cost["shard_hours_usd"] == pytest.approx(2 * 0.015)
    assert cost["put_units_usd"] == pytest.approx(2 / 1e6 * 0.014)


def test_stream_read_limit_throttles(sim):
    st = StreamService(sim, StreamParams(read_calls_per_shard="5/s"))

    def go():
        n = 0
        for _ in range(10):  # 10 calls within 0.2 s: the 5-call budget runs out
            try:
                yield from st.get_records(0)
            except Throttled:
                n += 1
        return n

    assert run(sim, go()) >= 4


# --- volume and snapshots -------------------------------------------------------------------------
def test_volume_shared_iops_and_attach(sim):
    vol = CloudVolume(sim, VolumeParams(iops="1000/s", attached=False))
    with pytest.raises(NotRunning):
        run(sim, vol.read(4096))
    run(sim, vol.attach())
    assert sim.now == pytest.approx(5.0)
    t0 = sim.now
    for i in range(500):
        sim.env.process(vol.read(4096))
        sim.env.process(vol.write(4096, {i: i}))
    sim.env.run()
    assert sim.now - t0 == pytest.approx(1.0, rel=0.01)  # 1000 commands at 1000 IOPS total


def test_incremental_snapshots_and_restore(sim):
    vol = CloudVolume(sim)
    snaps = SnapshotService(sim)
    bs = vol.params.block_size

    def go():
        yield from vol.write(4 * bs, {b: "v1" for b in range(4)})
        s1 = snaps.create(vol)
        yield from vol.write(bs, {0: "v2"})  # after the capture: not in s1
        s2 = snaps.create(vol)
        yield s2.completed
        restored = yield from snaps.restore(s1, "r1")
        return s1, s2, restored

    s1, s2, restored = run(sim, go())
    assert s1.changed_bytes == 4 * bs and s2.changed_bytes == bs
    p = snaps.params
    assert s1.completed_at == pytest.approx(p.base_time + 4 * bs / p.copy_throughput, rel=1e-3)
    assert s2.completed_at > s1.completed_at  # completes after the previous snapshot of the volume
    assert restored.data == {0: "v1", 1: "v1", 2: "v1", 3: "v1"}
    assert snaps.stored_bytes == 5 * bs
    snaps.delete(s1)
    assert snaps.stored_bytes == 5 * bs  # s1's blocks are still needed by s2
    snaps.inject(fault("lose_data"))
    assert snaps.snapshots == [] and snaps.stored_bytes == 0


# --- compute --------------------------------------------------------------------------------------
def test_instance_boot_bill_stop_and_outage(sim):
    inst = ComputeInstance(sim)
    seen = []

    def job():
        yield sim.env.timeout(1000)
        seen.append("finished")

    def go():
        yield from inst.start()
        seen.append(("up", sim.now))
        inst.process(job())
        yield sim.env.timeout(10)
        inst.stop()
        inst.inject(fault("outage"))
        try:
            yield from inst.start()
        except ServiceUnavailable:
            seen.append("no capacity")

    run(sim, go())
    sim.env.run()
    p = inst.params
    assert seen[0] == ("up", pytest.approx(p.api_latency + p.boot_time))
    assert seen[1:] == ["no capacity"]  # the job was interrupted by the stop
    billed = max(p.boot_time + 10, p.min_billed)  # 50 s run, 60 s minimum per start
    assert inst.running_seconds() == pytest.approx(billed)
    assert inst.cost_usd()["compute_usd"] == pytest.approx(billed / 3600 * p.price_per_hour_usd)
    assert not math.isnan(inst.cost_usd()["compute_usd"])
