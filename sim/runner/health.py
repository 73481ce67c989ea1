"""Whether a run's replications are clean, said on stderr: watchdog timeouts, deadlocks, stalls,
invariant violations and errors, and the exit code they give.

A watchdog timeout (`checks.wall_timeout`) cuts a replication short: its metrics describe a
truncated run, so the command exits 1. When every replication deadlocked or stalled the metrics
describe a stuck system: a line says so. `--strict` exits 1 when any replication is not clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Health:
    n: int
    watchdog: int = 0
    deadlocked: int = 0
    stalled: int = 0
    violated: int = 0
    errored: int = 0
    unclean: int = 0
    stuck: int = 0  # deadlocked or stalled

    def lines(self, strict: bool = False) -> list[str]:
        out = []
        if self.watchdog:
            out.append(f"{self.watchdog} of {self.n} replication(s) hit the wall-clock watchdog "
                       "(checks.wall_timeout): they were cut short and their metrics are truncated")
        if self.n and self.stuck == self.n:
            out.append(f"every replication ({self.n}) deadlocked or stalled (deadlocked {self.deadlocked}, "
                       f"stalled {self.stalled}): the metrics describe a stuck system")
        elif strict and self.unclean:
            parts = ", ".join(f"{k} {v}" for k, v in (("deadlocked", self.deadlocked), ("stalled", self.stalled),
                                                       ("with violations", self.violated),
                                                       ("failed", self.errored), ("watchdog", self.watchdog)) if v)
            out.append(f"--strict: {self.unclean} of {self.n} replication(s) not clean ({parts})")
        return out

    def exit_code(self, strict: bool = False) -> int:
        if self.watchdog or self.errored:
            return 1
        return 1 if strict and self.unclean else 0


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(False, index=df.index)
    return pd.to_numeric(df[name], errors="coerce").fillna(0) > 0


def health(rows: pd.DataFrame) -> Health:
    """Counts over a metrics table (one row per replication; an `error` column for failed runs)."""
    n = len(rows)
    if n == 0:
        return Health(0)
    err = rows["error"].notna() if "error" in rows.columns else pd.Series(False, index=rows.index)
    wd, dl, st, vi = (_col(rows, c) for c in ("watchdog_timeout", "deadlocked", "stalled", "invariant_violations"))
    return Health(n=n, watchdog=int(wd.sum()), deadlocked=int(dl.sum()), stalled=int(st.sum()),
                  violated=int(vi.sum()), errored=int(err.sum()), unclean=int((wd | dl | st | vi | err).sum()),
                  stuck=int((dl | st).sum()))
