import copy

import numpy as np
import pytest
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


class PlainTally:
    """The per-sample reference: Welford's update and Algorithm L on every `record`."""

    def __init__(self, rng, cap):
        self.n, self.mean, self.m2, self.min, self.max = 0, 0.0, 0.0, np.inf, -np.inf
        self.res, self.cap, self.rng, self.w, self.next = [], cap, rng, 1.0, cap - 1

    def advance(self):
        r = self.rng.random(2)
        self.w *= np.exp(np.log(r[0] or 1e-300) / self.cap)
        self.next += int(np.log(r[1] or 1e-300) / np.log1p(-self.w)) + 1 if self.w < 1 else 1

    def record(self, x):
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)
        self.min, self.max = min(self.min, x), max(self.max, x)
        if self.n <= self.cap:
            self.res.append(x)
            if self.n == self.cap:
                self.advance()
        elif self.n - 1 == self.next:
            self.res[int(self.rng.integers(self.cap))] = x
            self.advance()


@pytest.mark.parametrize("seed", range(6))
def test_the_buffered_tally_matches_the_per_sample_reference(seed):
    """Same count, extremes and reservoir (hence percentiles) bit for bit, moments to rounding,
    whether it is read in the middle of a chunk or not, and after a reset."""
    rng = np.random.default_rng(seed)
    cap = int(rng.integers(1, 3000))
    t = Tally("x", np.random.default_rng(100 + seed), capacity=cap)
    ref = PlainTally(np.random.default_rng(100 + seed), cap)
    for _round in range(2):
        for _ in range(int(rng.integers(1, 6))):
            for x in rng.lognormal(0.0, 1.0, int(rng.integers(0, 5000))):
                t.record(float(x))
                ref.record(float(x))
            assert t.n == ref.n  # a read between chunks folds what is buffered
            assert list(t.sample()) == ref.res
            if ref.n:
                assert (t.min, t.max) == (ref.min, ref.max)
                assert t.mean == pytest.approx(ref.mean, rel=1e-12)
                assert t.m2 == pytest.approx(ref.m2, rel=1e-9, abs=1e-12)
                assert t.percentile(99) == np.percentile(ref.res, 99)
        t.reset()
        ref = PlainTally(copy.deepcopy(t._rng), cap)  # (the generator in the state the tally's is in)
