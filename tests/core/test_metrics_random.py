import numpy as np
import simpy

from sim.core.metrics import Tally, TimeWeighted
from sim.core.random import Streams, derive_seed


def test_named_streams_are_independent_of_creation_order():
    a = Streams(42)
    a.get("x")
    xa = a.get("workload").random(5)
    b = Streams(42)
    xb = b.get("workload").random(5)  # no "x" stream created first
    assert np.array_equal(xa, xb)
    assert not np.array_equal(Streams(43).get("workload").random(5), xa)
    assert not np.array_equal(Streams(42).get("other").random(5), xa)


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(1, "point", 3) == derive_seed(1, "point", 3)
    assert derive_seed(1, "point", 3) != derive_seed(1, "point", 4)


def test_tally_moments_and_bounded_reservoir():
    rng = np.random.default_rng(1)
    t = Tally("lat", np.random.default_rng(2), capacity=1000)
    xs = rng.exponential(2.0, 200_000)
    for x in xs:
        t.record(float(x))
    assert t.n == len(xs)
    assert abs(t.mean - xs.mean()) < 1e-9
    assert abs(t.variance - xs.var(ddof=1)) / xs.var() < 1e-9
    assert len(t.sample()) == 1000  # bounded memory
    # the reservoir is a uniform sample: its median estimates the true median (2 ln 2)
    assert abs(t.percentile(50) - 2 * np.log(2)) < 0.15
    assert abs(t.percentile(99) - np.percentile(xs, 99)) / np.percentile(xs, 99) < 0.15


def test_time_weighted_mean_is_exact():
    env = simpy.Environment()
    g = TimeWeighted("q", env)

    def proc():
        g.set(2)
        yield env.timeout(1)
        g.set(4)
        yield env.timeout(3)
        g.set(0)
        yield env.timeout(4)

    env.process(proc())
    env.run()
    assert abs(g.mean() - (2 * 1 + 4 * 3) / 8) < 1e-12
    assert g.max == 4


def test_reservoir_is_a_uniform_sample():
    # every item must end in the reservoir with probability capacity / n (Algorithm L), including
    # the first one after the reservoir fills
    cap, n, trials = 10, 30, 3000
    counts = np.zeros(n)
    for s in range(trials):
        t = Tally("x", np.random.default_rng(s), capacity=cap)
        for i in range(n):
            t.record(float(i))
        counts[t.sample().astype(int)] += 1
    freq = counts / trials
    sd = np.sqrt((cap / n) * (1 - cap / n) / trials)
    assert np.all(np.abs(freq - cap / n) < 5 * sd), freq
