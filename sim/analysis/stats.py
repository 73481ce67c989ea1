"""Statistics across replications: t-based confidence intervals and paired comparisons.

Replications are independent runs, so a metric's replication means give a Student-t interval
for its expected value. Sweeps and variants use common random numbers (replication r has the same
seed everywhere), so two variants are compared by pairing rows on `seed` and taking a t interval
of the per-seed differences: the shared randomness cancels and the interval is narrower than the
unpaired one. For 0/1 metrics (`deadlocked`) a Wilson score interval is offered as well, since the
t interval collapses to zero width when every replication agrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval (`half_width` is NaN when n < 2)."""

    mean: float
    std: float
    n: int
    half_width: float
    confidence: float = 0.95
    method: str = "t"
    low: float = math.nan
    high: float = math.nan

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


# A spread at or below this fraction of the values' magnitude is floating-point noise (identical
# replications whose mean was summed in a different order), not a measured spread: it is shown as 0.
NOISE_RTOL = 1e-9


def is_noise(spread: float, magnitude: float) -> bool:
    """True if `spread` (a std, half-width or difference) is floating-point noise next to `magnitude`."""
    if not (math.isfinite(spread) and math.isfinite(magnitude)):
        return False
    return abs(spread) <= NOISE_RTOL * abs(magnitude)


def _finite(values) -> np.ndarray:
    a = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    return a[np.isfinite(a)]


def t_interval(values, confidence: float = 0.95) -> Interval:
    """Mean and Student-t CI of the finite values (NaNs, e.g. `time_to_deadlock_s` without one, dropped)."""
    a = _finite(values)
    n = int(a.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, confidence, "t")
    mean = float(a.mean())
    if n < 2:
        return Interval(mean, math.nan, 1, math.nan, confidence, "t", math.nan, math.nan)
    std = float(a.std(ddof=1))
    if is_noise(std, float(np.abs(a).max())):
        std = 0.0  # identical replications: the spread is exactly zero, not 1e-17
        if is_noise(float(a.max() - a.min()), float(np.abs(a).max())):
            mean = float(a[0])
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))
    return Interval(mean, std, n, half, confidence, "t", mean - half, mean + half)


def wilson_interval(values, confidence: float = 0.95) -> Interval:
    """Proportion of ones among 0/1 values with its Wilson score interval (not symmetric)."""
    a = _finite(values)
    n = int(a.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, confidence, "wilson")
    k = float(a.sum())
    p = k / n
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    std = float(a.std(ddof=1)) if n > 1 else math.nan
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, std, n, max(p - low, high - p), confidence, "wilson", low, high)


def is_binary(values) -> bool:
    """True if every finite value is 0 or 1 (an indicator such as `deadlocked`)."""
    a = _finite(values)
    return a.size > 0 and bool(np.all((a == 0) | (a == 1)))


def interval(values, confidence: float = 0.95, method: str = "t") -> Interval:
    """`method`: 't', 'wilson', or 'auto' (Wilson for 0/1 indicators, t otherwise)."""
    if method == "auto":
        method = "wilson" if is_binary(values) else "t"
    if method == "t":
        return t_interval(values, confidence)
    if method == "wilson":
        return wilson_interval(values, confidence)
    raise ValueError(f"unknown CI method {method!r} (t, wilson, auto)")


SUMMARY_COLUMNS = ["metric", "mean", "std", "n", "half_width", "ci_low", "ci_high", "method",
                   "replications", "incomplete"]

# Metrics that describe how a replication ended: they are measured on every replication, complete or not.
OUTCOME_METRICS = frozenset({"deadlocked", "time_to_deadlock_s", "stalled", "time_to_stall_s", "watchdog_timeout",
                             "sim_time_s", "invariant_violations"})
# How a replication ended, worst first: the label of the first that applies.
OUTCOMES = ("error", "watchdog_timeout", "deadlocked", "stalled", "truncated", "complete")


def outcomes(runs: pd.DataFrame) -> pd.Series:
    """How each replication ended: 'error' (the run raised), 'watchdog_timeout', 'deadlocked',
    'stalled', 'truncated' (`sim_time_s` short of `duration`) or 'complete'.

    Metrics other than `OUTCOME_METRICS` of a replication that is not complete cover only the part
    of the run before it ended (a deadlocked baseline's latency is that of the writes acknowledged
    before the deadlock); figures and reports say how many of a point's replications these are."""
    out = pd.Series("complete", index=runs.index, dtype=object)

    def flag(col: str) -> pd.Series:
        if col not in runs.columns:
            return pd.Series(False, index=runs.index)
        return pd.to_numeric(runs[col], errors="coerce").fillna(0).astype(float) > 0

    truncated = pd.Series(False, index=runs.index)
    if "sim_time_s" in runs.columns and "duration" in runs.columns:
        t = pd.to_numeric(runs["sim_time_s"], errors="coerce").astype(float)
        d = pd.to_numeric(runs["duration"], errors="coerce").astype(float)
        truncated = (t < d * (1 - 1e-9)).fillna(False)
    errored = pd.Series(False, index=runs.index)
    if "error" in runs.columns:
        errored = runs["error"].notna() & (runs["error"].astype(str) != "")
    for label, mask in reversed([("error", errored), ("watchdog_timeout", flag("watchdog_timeout")),
                                 ("deadlocked", flag("deadlocked")), ("stalled", flag("stalled")),
                                 ("truncated", truncated)]):
        out[mask.to_numpy()] = label
    return out


def describe_incomplete(outcome: pd.Series) -> str:
    """'3 deadlocked, 1 stalled' for the replications of `outcome` that are not complete ('' if none)."""
    counts = outcome[outcome != "complete"].value_counts()
    words = {"watchdog_timeout": "timed out", "error": "failed"}
    return ", ".join(f"{int(counts[k])} {words.get(k, k)}" for k in OUTCOMES if k in counts.index)


def drop_incomplete(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """`runs` with the non-outcome `metrics` of replications that did not complete set to NaN, so they
    are left out of those metrics' n (their outcome metrics, such as `deadlocked`, are kept)."""
    bad = (outcomes(runs) != "complete").to_numpy()
    if not bad.any():
        return runs
    runs = runs.copy()
    for m in metrics:
        if m not in OUTCOME_METRICS and m in runs.columns:
            runs[m] = pd.to_numeric(runs[m], errors="coerce").astype(float).where(~bad)
    return runs


def summarize(df: pd.DataFrame, by: Sequence[str], metrics: Sequence[str], confidence: float = 0.95,
              method: str = "t") -> pd.DataFrame:
    """Long table: one row per group of `by` and metric with mean, std, n and CI bounds, the group's
    number of `replications` (n is smaller where a metric is NaN) and which of them did not complete
    (`incomplete`, e.g. '3 deadlocked'; see `outcomes`)."""
    by = list(by)
    rows = []
    df = df.assign(_outcome=outcomes(df))
    groups = df.groupby(by, sort=True, dropna=False) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        incomplete = describe_incomplete(g["_outcome"])
        for m in metrics:
            if m not in g.columns:
                continue
            ci = interval(g[m], confidence, method)
            rows.append({**dict(zip(by, key, strict=True)), "metric": m, "mean": ci.mean, "std": ci.std,
                         "n": ci.n, "half_width": ci.half_width, "ci_low": ci.low, "ci_high": ci.high,
                         "method": ci.method, "replications": len(g), "incomplete": incomplete})
    return pd.DataFrame(rows, columns=by + SUMMARY_COLUMNS)


@dataclass(frozen=True)
class PairedDifference:
    """Difference b - a of a metric over replications paired by seed."""

    metric: str
    mean_a: float
    mean_b: float
    diff: float
    std_diff: float
    n_pairs: int
    half_width: float
    low: float
    high: float
    t: float
    p_value: float
    unpaired_half_width: float  # Welch interval of the same difference, for comparison
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        return bool(self.n_pairs >= 2 and not (self.low <= 0.0 <= self.high))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str, on: str | Sequence[str] = "seed",
                      confidence: float = 0.95) -> PairedDifference:
    """Pair rows of `a` and `b` with equal `on` (seed) and take a t interval of b - a.

    Rows whose metric is NaN in either variant are dropped from the pairs. Raises ValueError when
    no seeds are shared (the variants were not run with common random numbers).
    """
    on = [on] if isinstance(on, str) else list(on)
    for name, df in (("a", a), ("b", b)):
        missing = [c for c in [*on, metric] if c not in df.columns]
        if missing:
            raise ValueError(f"variant {name} has no column(s) {', '.join(missing)}")
        if df.duplicated(on).any():
            raise ValueError(f"variant {name} has several rows per {'/'.join(on)}; select one point first")
    m = a[[*on, metric]].merge(b[[*on, metric]], on=on, suffixes=("_a", "_b"))
    if m.empty:
        raise ValueError(f"no common {'/'.join(on)} between the two variants: run both with the same seed "
                         "(common random numbers) to compare them paired")
    xa = pd.to_numeric(m[f"{metric}_a"], errors="coerce").astype(float).to_numpy()
    xb = pd.to_numeric(m[f"{metric}_b"], errors="coerce").astype(float).to_numpy()
    ok = np.isfinite(xa) & np.isfinite(xb)
    xa, xb = xa[ok], xb[ok]
    d = xb - xa
    # per-pair differences that are floating-point noise (the same value summed differently) are 0
    d = np.where(np.abs(d) <= NOISE_RTOL * np.maximum(np.abs(xa), np.abs(xb)), 0.0, d)
    ci = t_interval(d, confidence)
    if ci.n >= 2 and ci.std > 0:
        t = ci.mean / (ci.std / math.sqrt(ci.n))
        p = float(2 * _st.t.sf(abs(t), ci.n - 1))
    elif ci.n >= 2:
        t, p = (0.0, 1.0) if ci.mean == 0 else (math.copysign(math.inf, ci.mean), 0.0)
    else:
        t, p = math.nan, math.nan
    return PairedDifference(
        metric=metric, mean_a=float(xa.mean()) if xa.size else math.nan,
        mean_b=float(xb.mean()) if xb.size else math.nan, diff=ci.mean, std_diff=ci.std, n_pairs=ci.n,
        half_width=ci.half_width, low=ci.low, high=ci.high, t=float(t), p_value=p,
        unpaired_half_width=welch_half_width(xa, xb, confidence), confidence=confidence)


def welch_half_width(xa, xb, confidence: float = 0.95) -> float:
    """Half-width of the Welch (unpaired, unequal variance) CI of mean(b) - mean(a)."""
    xa, xb = _finite(xa), _finite(xb)
    na, nb = xa.size, xb.size
    if na < 2 or nb < 2:
        return math.nan
    va, vb = xa.var(ddof=1) / na, xb.var(ddof=1) / nb
    se2 = va + vb
    if is_noise(math.sqrt(se2), float(max(np.abs(xa).max(), np.abs(xb).max()))):
        return 0.0
    dof = se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return float(_st.t.ppf(0.5 + confidence / 2, dof) * math.sqrt(se2))


def compare_variants(runs: pd.DataFrame, variant: str, a, b, metrics: str | Sequence[str],
                     by: Sequence[str] | None = None, on: str = "seed",
                     confidence: float = 0.95) -> pd.DataFrame:
    """Paired differences b - a of `metrics` between two values of column `variant`, per group of `by`.

    `by` defaults to the other columns that distinguish sweep points (none for plain runs). Groups
    where one variant is missing are skipped.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if variant not in runs.columns:
        raise ValueError(f"no column {variant!r}")
    va = runs[runs[variant].astype(str) == str(a)]
    vb = runs[runs[variant].astype(str) == str(b)]
    if va.empty or vb.empty:
        vals = sorted(runs[variant].astype(str).unique())
        raise ValueError(f"{variant} has no rows for {a!r} and/or {b!r} (values: {', '.join(vals)})")
    by = list(by or [])
    rows = []
    keys_a = va.groupby(by, dropna=False) if by else [((), va)]
    groups_b = dict(iter(vb.groupby(by, dropna=False))) if by else {(): vb}
    for key, ga in keys_a:
        gb = groups_b.get(key)
        if gb is None:
            continue
        kt = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            pdiff = paired_difference(ga, gb, m, on=on, confidence=confidence)
            rows.append({**dict(zip(by, kt, strict=True)), **pdiff.as_dict()})
    return pd.DataFrame(rows)
