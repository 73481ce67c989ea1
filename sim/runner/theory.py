"""Component models against queueing theory: the formulas, the check points, and `sim validate-models`.

One source of truth: `CHECKS` lists every (model, parameter point, metric, analytic value) and the
scenario that measures it; `tests/validation/` imports them. Each check runs its scenario's
independent replications through the normal runner (`scenario_from_dict` + `run_scenario`), so
what is validated is the framework as a user runs it.

Pass rule. Each row prints the 95% confidence interval (Student t over the replications) of the
simulated mean. With k stochastic checks each at 95%, a correct model would still miss about
k/20 of them by chance, so a row passes when the analytic value lies inside the *simultaneous*
95% interval of the whole table (Bonferroni: each interval at level 1 - 0.05/k), and the row says
`pass` if it is also inside its own 95% CI, `pass (simultaneous)` if only inside the wider one.
A row with a stated relative tolerance (only where the variance is tiny or zero: deterministic
fluid calculations and saturated rate limits, where a CI is degenerate) passes within it.

Formulas (lambda arrival rate, mu service rate per server, c servers, a = lambda/mu, rho = a/c):
- Erlang B, M/G/c/c blocking (insensitive to the service distribution beyond its mean):
  B(0, a) = 1, B(c, a) = a B(c-1, a) / (c + a B(c-1, a)).
- Erlang C, M/M/c probability of waiting: C = B / (1 - rho (1 - B)); mean wait Wq = C / (c mu - lambda).
- M/M/1: Wq = lambda / (mu (mu - lambda)).  M/D/1 (Pollaczek-Khinchine): Wq = rho S / (2 (1 - rho)).
- M/M/c/K: P_n proportional to prod_{i=1..n} lambda / (min(i, c) mu); blocking P_K; Little: L = lambda_eff W.
- M/G/1 processor sharing (a shared link): mean transfer time E[S] / (1 - rho), any size distribution.
- Fluid sharing of a deterministic set of transfers: `fluid_finish_times` (an independent integrator).
- Token-bucket limit: long-run accepted rate = min(offered, limit) once the bucket has drained.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.runner import run_scenario
from sim.scenario import scenario_from_dict

# --- formulas --------------------------------------------------------------------------------------


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/G/c/c with offered load a Erlang."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c (a < c)."""
    if a >= c:
        raise ValueError("Erlang C needs a < c")
    b = erlang_b(c, a)
    rho = a / c
    return b / (1 - rho * (1 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean time in queue of M/M/c."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mm1_mean_wait(lam: float, mu: float) -> float:
    return lam / (mu * (mu - lam))


def md1_mean_wait(lam: float, s: float) -> float:
    """Pollaczek-Khinchine for deterministic service time s."""
    rho = lam * s
    return rho * s / (2 * (1 - rho))


def mmck(c: int, k: int, lam: float, mu: float) -> dict[str, float]:
    """M/M/c/K: blocking, mean number in system L, lambda_eff, mean time in system W, mean wait Wq, busy servers."""
    p = [1.0]
    for n in range(1, k + 1):
        p.append(p[-1] * lam / (min(n, c) * mu))
    z = sum(p)
    p = [x / z for x in p]
    block = p[k]
    lam_eff = lam * (1 - block)
    big_l = sum(n * pn for n, pn in enumerate(p))
    w = big_l / lam_eff
    return {"blocking": block, "L": big_l, "lambda_eff": lam_eff, "W": w, "Wq": w - 1 / mu,
            "busy": sum(min(n, c) * pn for n, pn in enumerate(p))}


def ps_mean_sojourn(lam: float, mean_size: float, capacity: float) -> float:
    """M/G/1 processor sharing: mean transfer time of a shared link."""
    s = mean_size / capacity
    rho = lam * s
    if rho >= 1:
        raise ValueError("processor sharing needs rho < 1")
    return s / (1 - rho)


def fluid_finish_times(starts: list[float], sizes: list[float], capacity: float,
                       per_flow_cap: float | None = None) -> list[float]:
    """Completion times of transfers sharing `capacity` equally (each at most `per_flow_cap`).

    A plain fluid integrator, written independently of `SharedBandwidth`: advance from event to
    event (a start or the earliest finish at the current equal share).
    """
    n = len(starts)
    remaining = [float(s) for s in sizes]
    finish = [math.nan] * n
    order = sorted(range(n), key=lambda i: starts[i])
    t = 0.0
    active: list[int] = []
    nxt = 0
    while nxt < n or active:
        if not active:
            t = max(t, starts[order[nxt]])
        while nxt < n and starts[order[nxt]] <= t:
            active.append(order[nxt])
            nxt += 1
        rate = capacity / len(active)
        if per_flow_cap is not None:
            rate = min(rate, per_flow_cap)
        t_finish = t + min(remaining[i] for i in active) / rate
        t_next = starts[order[nxt]] if nxt < n else math.inf
        t_new = min(t_finish, t_next)
        for i in active:
            remaining[i] -= (t_new - t) * rate
        t = t_new
        still = []
        for i in active:
            if remaining[i] <= 1e-9 * sizes[i]:
                finish[i] = t
            else:
                still.append(i)
        active = still
    return finish


# --- checks ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One comparison: `metric` of `scenario` (mean over replications) against `analytic`."""

    model: str
    point: str
    metric: str
    analytic: float
    scenario: dict[str, Any] = field(hash=False, compare=False)
    rel_tol: float = 0.0  # accepted relative deviation besides the CI (only where variance is ~0)


@dataclass
class CheckResult:
    check: Check
    mean: float
    half_width: float  # 95% CI of this check alone
    n: int
    passed: bool
    wall_s: float
    simultaneous_half_width: float = math.nan  # Bonferroni-adjusted over the table's stochastic checks
    inside_ci95: bool = True

    def row(self) -> dict[str, Any]:
        c = self.check
        return {"model": c.model, "point": c.point, "metric": c.metric, "analytic": c.analytic,
                "mean": self.mean, "ci95": self.half_width, "n": self.n, "passed": self.passed}


def _seed(name: str) -> int:
    """A distinct, stable base seed per check scenario (independent points, not common random numbers)."""
    import zlib

    return zlib.crc32(name.encode()) % 1_000_000


def _sendqueue(name: str, slots: int, lam: float, mode: str, dist: str = "exponential", *,
               arrivals: int = 40_000, reps: int = 10, queue_capacity: int | None = None) -> dict[str, Any]:
    """An rdma_sendqueue scenario with mean service time 1 s and about `arrivals` arrivals per replication."""
    warmup = 200.0
    params: dict[str, Any] = {"slots": slots, "arrival_rate": f"{lam:g}/s", "mean_service_time": "1s",
                              "service_distribution": dist, "mode": mode}
    if queue_capacity is not None:
        params["queue_capacity"] = queue_capacity
    return {"name": f"validate_{name}", "system": "rdma_sendqueue", "seed": _seed(name),
            "duration": warmup + arrivals / lam, "warmup": warmup, "replications": reps, "params": params}


def _erlang_b_checks() -> list[Check]:
    out = []
    points = [(1, 0.5, "exponential"), (4, 2.0, "exponential"), (8, 6.0, "exponential"),
              (8, 6.0, "deterministic"), (16, 12.0, "deterministic"), (32, 30.0, "exponential")]
    for c, a, dist in points:
        scn = _sendqueue(f"erlang_b_c{c}_a{a:g}_{dist[:3]}", c, a, "loss", dist)
        b = erlang_b(c, a)
        out.append(Check("sendqueue loss: Erlang B", f"c={c} a={a:g} {dist}", "blocking_probability", b, scn))
        if (c, a) == (8, 6.0):
            out.append(Check("sendqueue loss: Little (busy slots = a(1-B))", f"c={c} a={a:g} {dist}",
                             "mean_occupancy", a * (1 - b), scn))
    return out


def _wait_checks() -> list[Check]:
    out = []
    for lam in (0.5, 0.7):
        scn = _sendqueue(f"mm1_rho{lam:g}", 1, lam, "wait", arrivals=40_000)
        out.append(Check("sendqueue wait: M/M/1", f"c=1 rho={lam:g}", "mean_wait_s", mm1_mean_wait(lam, 1.0), scn))
    scn = _sendqueue("md1_rho0.7", 1, 0.7, "wait", "deterministic", arrivals=40_000)
    out.append(Check("sendqueue wait: M/D/1 (P-K)", "c=1 rho=0.7 deterministic", "mean_wait_s",
                     md1_mean_wait(0.7, 1.0), scn))
    for c, a in ((4, 3.0), (8, 6.0)):
        scn = _sendqueue(f"erlang_c_c{c}_a{a:g}", c, a, "wait", arrivals=40_000)
        wq = mmc_mean_wait(c, a, 1.0)
        out.append(Check("sendqueue wait: Erlang C", f"c={c} a={a:g}", "mean_wait_s", wq, scn))
        out.append(Check("sendqueue wait: Little (L = lambda W)", f"c={c} a={a:g}", "mean_in_system",
                         a * (wq + 1.0), scn))
        out.append(Check("sendqueue wait: Little (busy slots = lambda S)", f"c={c} a={a:g}", "mean_occupancy", a, scn))
    r = mmck(2, 5, 2.0, 1.0)
    scn = _sendqueue("mmck_c2_k5", 2, 2.0, "wait", queue_capacity=3, arrivals=40_000)
    out.append(Check("sendqueue wait: M/M/c/K", "c=2 K=5 a=2", "blocking_probability", r["blocking"], scn))
    out.append(Check("sendqueue wait: M/M/c/K", "c=2 K=5 a=2", "mean_wait_s", r["Wq"], scn))
    return out


def _bandwidth_checks() -> list[Check]:
    out = []
    for dist in ("exponential", "deterministic"):
        lam, size, cap = 0.6, 1e6, 1e6
        scn = {"name": f"validate_ps_{dist[:3]}", "system": "bandwidth_share", "seed": _seed(f"ps_{dist}"),
               "duration": 30_000.0, "warmup": 200.0, "replications": 10,
               "params": {"capacity": "1MB/s", "arrival_rate": "0.6/s", "mean_size": "1MB",
                          "size_distribution": dist}}
        out.append(Check("bandwidth sharing: M/G/1-PS", f"rho=0.6 {dist} sizes", "mean_transfer_time_s",
                         ps_mean_sojourn(lam, size, cap), scn))
    for flows, gap, cap_flow in ((3, 0.5, None), (5, 0.2, None), (4, 0.3, 0.4e6)):
        starts = [k * gap for k in range(flows)]
        fin = fluid_finish_times(starts, [1e6] * flows, 1e6, cap_flow)
        params: dict[str, Any] = {"capacity": "1MB/s", "arrivals": "staggered", "flows": flows,
                                  "gap": f"{gap}s", "mean_size": "1MB"}
        if cap_flow is not None:
            params["per_flow_cap"] = f"{cap_flow / 1e6:g}MB/s"
        scn = {"name": f"validate_fluid_{flows}", "system": "bandwidth_share", "duration": 1000.0,
               "replications": 1, "params": params}
        label = f"{flows} x 1MB every {gap}s" + (f", cap {cap_flow / 1e6:g}MB/s" if cap_flow else "")
        out.append(Check("bandwidth sharing: fluid", label, "makespan_s", max(fin), scn, rel_tol=1e-9))
        out.append(Check("bandwidth sharing: fluid", label, "mean_transfer_time_s",
                         sum(f - s for f, s in zip(fin, starts, strict=True)) / flows, scn, rel_tol=1e-9))
    return out


def _stream_checks() -> list[Check]:
    out = []
    # (offered records/s, record size, shards) -> accepted = shards * min(offered/shards, 1000, 1MiB/size)
    for lam, size, shards in ((3000.0, 100, 1), (600.0, 4096, 1), (5000.0, 512, 2), (400.0, 1024, 1)):
        limit = shards * min(1000.0, 2**20 / size)
        expected = min(lam, limit)
        warmup = 5.0  # longer than the time the 1 s burst allowance takes to drain at these loads
        over = lam > limit
        scn = {"name": f"validate_stream_{int(lam)}_{size}", "system": "stream_service",
               "seed": _seed(f"stream_{lam}_{size}"), "duration": warmup + (10.0 if over else 20.0),
               "warmup": warmup, "replications": 3 if over else 10,
               "params": {"arrival_rate": f"{lam:g}/s", "record_size": f"{size}B", "stream": {"shards": shards}}}
        bound = "records/s" if 1000.0 <= 2**20 / size else "bytes/s"
        label = f"offered {lam:g}/s x {size}B, {shards} shard(s) ({'under limit' if lam < limit else bound + ' bound'})"
        # over the limit the accepted rate is the limit with ~no variance; under it, it is Poisson noise
        out.append(Check("stream throttling: accepted = min(offered, limit)", label, "accepted_rate_ops_s",
                         expected, scn, rel_tol=0.005 if over else 0.0))
    # reads: a consumer polling at once with a backlog is held to min(5 calls/s x batch, bytes/s / size)
    for read_bytes, label in ((2 * 2**20, "5 calls/s bound"), (256 * 2**10, "256KiB/s bound")):
        batch, size = 100, 1024
        expected = min(5 * batch, read_bytes / size)
        scn = {"name": f"validate_stream_read_{label.split()[0].replace('/', '_per_')}", "system": "stream_service",
               "seed": _seed(f"stream_read_{read_bytes}"), "duration": 25.0, "warmup": 5.0, "replications": 3,
               "params": {"arrival_rate": "1000/s", "record_size": f"{size}B", "consumer": True,
                          "poll_interval": 0, "read_batch": batch,
                          "stream": {"shards": 1, "read_bytes_per_shard": f"{read_bytes}B/s"}}}
        out.append(Check("stream throttling: reads = min(calls x batch, bytes/s)",
                         f"backlog, {batch} x {size}B per call ({label})", "read_rate_ops_s", expected, scn,
                         rel_tol=0.01))
    return out


def _object_store_checks() -> list[Check]:
    out = []
    med, p99, thr, size = 0.030, 0.200, 90e6, 64 * 2**10
    sigma = math.log(p99 / med) / 2.3263478740408408
    scn = {"name": "validate_object_store_latency", "system": "object_store", "seed": _seed("os_latency"),
           "duration": 11.0, "warmup": 1.0, "replications": 10,
           "params": {"put_rate": "500/s", "object_size": f"{size}B"}}
    out.append(Check("object store: lognormal PUT latency", "500/s x 64KiB", "put_latency_mean_s",
                     med * math.exp(sigma**2 / 2) + size / thr, scn))
    scn = {"name": "validate_object_store_throttle", "system": "object_store", "seed": _seed("os_throttle"),
           "duration": 9.0, "warmup": 4.0, "replications": 3,
           "params": {"put_rate": "5000/s", "object_size": "1KiB", "prefixes": 1}}
    out.append(Check("object store: per-prefix limit", "5000 PUT/s on 1 prefix", "put_accepted_rate_ops_s",
                     3500.0, scn, rel_tol=0.01))
    return out


def all_checks() -> list[Check]:
    return _erlang_b_checks() + _wait_checks() + _bandwidth_checks() + _stream_checks() + _object_store_checks()


CHECKS: list[Check] = all_checks()


# --- running ---------------------------------------------------------------------------------------
def t_quantile(df: int, level: float = 0.95) -> float:
    """Two-sided Student-t quantile for a `level` confidence interval."""
    from scipy.stats import t

    return float(t.ppf(1 - (1 - level) / 2, df)) if df > 0 else math.inf


def stochastic_count(checks: list[Check] | None = None) -> int:
    """Checks judged by a confidence interval (no relative tolerance): the Bonferroni family size."""
    return sum(1 for c in (checks if checks is not None else CHECKS) if c.rel_tol == 0.0)


def run_scenario_metrics(scenario: dict[str, Any], cache: dict | None = None):
    """Run a scenario dict through the normal runner (no files written); returns the metrics frame."""
    key = repr(sorted(scenario.items(), key=lambda kv: kv[0]))
    if cache is not None and key in cache:
        return cache[key]
    res = run_scenario(scenario_from_dict(scenario, name=scenario["name"]), write=False)
    if res.errors:
        raise RuntimeError(f"{scenario['name']}: replication failed: {res.errors[0]}")
    if cache is not None:
        cache[key] = res.metrics
    return res.metrics


def evaluate(check: Check, cache: dict | None = None) -> CheckResult:
    t0 = time.monotonic()
    frame = run_scenario_metrics(check.scenario, cache)
    values = frame[check.metric].astype(float).to_numpy()
    n = len(values)
    mean = float(values.mean())
    se = float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    k = max(1, stochastic_count())
    hw = t_quantile(n - 1) * se if n > 1 else 0.0  # one replication: no interval (tolerance checks)
    hw_sim = t_quantile(n - 1, 1 - 0.05 / k) * se if n > 1 else 0.0
    dev = abs(mean - check.analytic)
    if check.rel_tol > 0:
        passed = inside = dev <= hw or dev <= check.rel_tol * abs(check.analytic)
    else:
        inside = dev <= hw
        passed = dev <= hw_sim
    return CheckResult(check, mean, hw, n, passed, time.monotonic() - t0, hw_sim, inside)


def run_checks(checks: list[Check] | None = None, on_result: Callable[[CheckResult], None] | None = None
               ) -> list[CheckResult]:
    cache: dict = {}
    out = []
    for c in checks if checks is not None else CHECKS:
        r = evaluate(c, cache)
        out.append(r)
        if on_result is not None:
            on_result(r)
    return out


def format_row(r: CheckResult) -> str:
    c = r.check
    sim_txt = f"{r.mean:.5g} ± {r.half_width:.2g}" + (f" (tol {c.rel_tol:g})" if c.rel_tol else
                                                         f" [±{r.simultaneous_half_width:.2g}]")
    verdict = "FAIL" if not r.passed else "pass" if r.inside_ci95 else "pass (simultaneous)"
    return f"{c.model:<46} {c.point + ' ' + c.metric:<62} {c.analytic:>11.5g}  {sim_txt:<34} {verdict}"


# --- CLI -------------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", metavar="TEXT", help="run only checks whose model or point contains TEXT")
    p.add_argument("--list", action="store_true", help="list the checks without running them")


def main(args: argparse.Namespace) -> int:
    checks = CHECKS
    if getattr(args, "only", None):
        needle = args.only.lower()
        checks = [c for c in checks if needle in c.model.lower() or needle in c.point.lower()]
    header = (f"{'model':<46} {'parameter point / metric':<62} {'analytic':>11}  "
              f"{'simulated mean ± 95% CI [simultaneous]':<34} result")
    print(header)
    print("-" * len(header))
    if getattr(args, "list", False):
        for c in checks:
            print(f"{c.model:<46} {c.point + ' ' + c.metric:<62} {c.analytic:>11.5g}")
        return 0
    t0 = time.monotonic()
    results = run_checks(checks, on_result=lambda r: print(format_row(r), flush=True))
    failed = [r for r in results if not r.passed]
    outside = sum(1 for r in results if not r.inside_ci95)
    print(f"{len(results) - len(failed)}/{len(results)} checks passed in {time.monotonic() - t0:.1f} s "
          f"({outside} outside their own 95% CI; {stochastic_count()} stochastic checks, "
          f"about {0.05 * stochastic_count():.1f} expected outside by chance)")
    return 1 if failed else 0
