"""Workload distributions: the scalar key sampler is the vector one, batched; casting keeps the draws."""

from __future__ import annotations

import numpy as np
import pytest

from sim.workloads import BATCH, KeyDist

DISTS = [KeyDist(dist="uniform"), KeyDist(dist="zipf", zipf_s=0.99),
         KeyDist(dist="hotset", hot_fraction=0.05, hot_access=0.9)]


@pytest.mark.parametrize("kd", DISTS, ids=lambda k: k.dist)
def test_scalar_key_sampler_draws_the_vector_samplers_keys(kd):
    n = 1000
    scalar = kd.sampler(np.random.default_rng(3), n)
    vector = kd.vector_sampler(np.random.default_rng(3), n)
    assert [scalar() for _ in range(BATCH + 5)] == vector(BATCH).tolist() + vector(BATCH)[:5].tolist()


@pytest.mark.parametrize("kd", DISTS, ids=lambda k: k.dist)
def test_vector_key_sampler_dtype_only_casts(kd):
    n = 5000
    a = kd.vector_sampler(np.random.default_rng(8), n)
    b = kd.vector_sampler(np.random.default_rng(8), n, np.int32)
    for k in (1, 17, 4096):
        x, y = a(k), b(k)
        assert y.dtype == np.int32 and np.array_equal(x, y)
        assert x.min() >= 0 and x.max() < n


def test_key_space_must_not_be_empty():
    with pytest.raises(ValueError, match="key space"):
        KeyDist().vector_sampler(np.random.default_rng(0), 0)
