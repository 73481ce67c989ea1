"""Confidence intervals against scipy, and paired (common random numbers) comparisons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.results import load
from sim.analysis.stats import (
    compare_variants,
    interval,
    paired_difference,
    summarize,
    t_interval,
    welch_half_width,
    wilson_interval,
)


@pytest.mark.parametrize("n, conf", [(2, 0.95), (5, 0.95), (30, 0.9), (200, 0.99)])
def test_t_interval_matches_scipy(n, conf):
    x = np.random.default_rng(n).gamma(2.0, 3.0, n)
    ci = t_interval(x, conf)
    lo, hi = stats.t.interval(conf, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert ci.n == n
    assert ci.mean == pytest.approx(x.mean())
    assert ci.std == pytest.approx(x.std(ddof=1))
    assert ci.low == pytest.approx(lo) and ci.high == pytest.approx(hi)
    assert ci.half_width == pytest.approx((hi - lo) / 2)


def test_t_interval_drops_nan_and_handles_small_n():
    ci = t_interval([1.0, np.nan, 3.0, math.inf])
    assert ci.n == 2 and ci.mean == 2.0
    one = t_interval([4.0, np.nan])
    assert one.n == 1 and one.mean == 4.0 and math.isnan(one.half_width)
    none = t_interval([np.nan])
    assert none.n == 0 and math.isnan(none.mean)
    const = t_interval([2.0, 2.0, 2.0])
    assert const.half_width == 0.0


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (37, 120)])
def test_wilson_matches_scipy(k, n):
    ci = wilson_interval([1] * k + [0] * (n - k))
    ref = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert ci.mean == pytest.approx(k / n)
    assert ci.low == pytest.approx(ref.low, abs=1e-12) and ci.high == pytest.approx(ref.high, abs=1e-12)


def test_auto_method_picks_wilson_for_indicators():
    assert interval([0, 0, 0, 1], method="auto").method == "wilson"
    assert interval([0.5, 1.0, 2.0], method="auto").method == "t"
    # all-zero: the t interval collapses, Wilson does not
    assert interval([0] * 10, method="t").half_width == 0.0
    assert interval([0] * 10, method="auto").high > 0.2
    with pytest.raises(ValueError):
        interval([1.0], method="bogus")


def _pair_frames(n=20, corr_noise=1.0, shift=0.3, seed=1):
    rng = np.random.default_rng(seed)
    common = rng.normal(0, corr_noise, n)
    a = pd.DataFrame({"seed": np.arange(n), "m": 10 + common + rng.normal(0, 0.1, n)})
    b = pd.DataFrame({"seed": np.arange(n), "m": 10 + shift + common + rng.normal(0, 0.1, n)})
    return a, b


def test_paired_difference_matches_scipy_ttest_rel():
    a, b = _pair_frames()
    d = paired_difference(a, b, "m")
    ref = stats.ttest_rel(b["m"], a["m"])
    diffs = b["m"] - a["m"]
    lo, hi = stats.t.interval(0.95, len(diffs) - 1, loc=diffs.mean(), scale=stats.sem(diffs))
    assert d.n_pairs == 20
    assert d.diff == pytest.approx(diffs.mean())
    assert d.t == pytest.approx(ref.statistic) and d.p_value == pytest.approx(ref.pvalue)
    assert d.low == pytest.approx(lo) and d.high == pytest.approx(hi)
    assert d.significant


def test_common_random_numbers_narrow_the_interval():
    a, b = _pair_frames(corr_noise=2.0)
    d = paired_difference(a, b, "m")
    ref = stats.ttest_ind(b["m"], a["m"], equal_var=False).confidence_interval(0.95)
    assert d.unpaired_half_width == pytest.approx((ref.high - ref.low) / 2)
    assert d.half_width < d.unpaired_half_width / 5
    assert math.isnan(welch_half_width([1.0], [2.0, 3.0]))  # n < 2


def test_paired_difference_pairs_on_seed_not_row_order():
    a, b = _pair_frames()
    shuffled = b.sample(frac=1.0, random_state=3)
    assert paired_difference(a, shuffled, "m").diff == pytest.approx(paired_difference(a, b, "m").diff)
    # a NaN in one variant drops that pair only
    b2 = b.copy()
    b2.loc[0, "m"] = np.nan
    assert paired_difference(a, b2, "m").n_pairs == 19


def test_paired_difference_bad_inputs():
    a, b = _pair_frames()
    with pytest.raises(ValueError, match="no common seed"):
        paired_difference(a, b.assign(seed=b["seed"] + 1000), "m")
    with pytest.raises(ValueError, match="several rows per seed"):
        paired_difference(pd.concat([a, a]), b, "m")
    with pytest.raises(ValueError, match="no column"):
        paired_difference(a, b, "zz")


def test_compare_variants_per_sweep_point(sweep_dir):
    rs = load(sweep_dir)
    t = compare_variants(rs.runs, "params.reservation", False, True, ["throughput_ops_s", "deadlocked"],
                         by=["params.send_queue_slots"])
    assert len(t) == 8 and (t["n_pairs"] == 8).all()
    thr = t[t["metric"] == "throughput_ops_s"]
    # the synthetic model: reservation costs 10% throughput; pairing cancels the shared noise
    assert (thr["diff"] < 0).all()
    assert (thr["half_width"] < thr["unpaired_half_width"]).all()
    with pytest.raises(ValueError, match="no rows"):
        compare_variants(rs.runs, "params.reservation", False, "maybe", "deadlocked")


def test_summarize_long_table(sweep_dir):
    rs = load(sweep_dir)
    s = summarize(rs.runs, ["params.reservation"], ["throughput_ops_s", "time_to_deadlock_s"])
    assert list(s["metric"]) == ["throughput_ops_s", "time_to_deadlock_s"] * 2
    g = rs.runs[rs.runs["params.reservation"]]["throughput_ops_s"]
    row = s[(s["params.reservation"]) & (s["metric"] == "throughput_ops_s")].iloc[0]
    assert row["n"] == 32 and row["mean"] == pytest.approx(g.mean())
    # time to deadlock only counts replications that deadlocked (none with reservation)
    assert s[(s["params.reservation"]) & (s["metric"] == "time_to_deadlock_s")]["n"].iloc[0] == 0
