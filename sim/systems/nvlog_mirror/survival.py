"""Kaplan–Meier estimate of the time to deadlock, with runs that never deadlocked as censored.

A run that ends without a deadlock says only "no deadlock before its duration": its time to
deadlock is right-censored there. The mean of the observed times alone leaves those runs out and
is biased low; the product-limit (Kaplan–Meier) estimator uses them. Confidence band: Greenwood's
variance on the log(-log S) scale (Kalbfleisch & Prentice), which stays inside [0, 1].
Written here (about 30 lines) instead of depending on `lifelines`, whose current release pins
pandas < 3 (installing it downgraded the shared environment's pandas 3.1.1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def kaplan_meier(durations, observed, z: float = 1.959964) -> pd.DataFrame:
    """Columns `t`, `survival`, `lo`, `hi`, `at_risk`, `events`: S(t) just after each distinct event time
    (with a first row at t = 0). `observed[i]` is true if run i deadlocked at `durations[i]`, false if
    it was censored there."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if d.shape != e.shape or np.isnan(d).any():
        raise ValueError("durations and observed must have one finite entry per run")
    rows = [(0.0, 1.0, 1.0, 1.0, len(d), 0)]
    s = 1.0
    greenwood = 0.0
    for t in np.unique(d[e]):
        n = int((d >= t).sum())  # at risk just before t (censored at t count as at risk)
        k = int(((d == t) & e).sum())
        s *= 1.0 - k / n
        greenwood += k / (n * (n - k)) if n > k else math.inf
        if 0.0 < s < 1.0 and math.isfinite(greenwood):
            half = z * math.sqrt(greenwood) / abs(math.log(s))
            lo, hi = s ** math.exp(half), s ** math.exp(-half)
        else:
            lo, hi = (0.0, 0.0) if s == 0.0 else (s, s)
        rows.append((float(t), s, lo, hi, n, k))
    return pd.DataFrame(rows, columns=["t", "survival", "lo", "hi", "at_risk", "events"])


def median_survival(km: pd.DataFrame) -> float:
    """The first time S(t) <= 0.5 (NaN if it never gets there: more than half the runs survived)."""
    below = km[km["survival"] <= 0.5]
    return float(below["t"].iloc[0]) if len(below) else math.nan
