"""Determinism self-check: run one replication twice and compare its event sequences.

Every event SimPy processes is described by (time, event type, the process it belongs to, the
processes it resumes) and folded into a running hash; the first run keeps the per-event digests
(and the first descriptions), the second compares as it goes and remembers the first event that
differs. The metrics rows and violations must match too. Hidden nondeterminism (iteration over
sets of objects, wall-clock use, unseeded draws) shows up as a mismatch naming that event.

The second run happens in a fresh interpreter with another PYTHONHASHSEED, so an order that
depends on string hashes (iterating over a set of names) is caught as well.
The instrumentation replaces `env.step` on this one environment only: a normal run pays nothing.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from typing import Any

from sim.runner.replication import build, start

KEEP_DESCRIPTIONS = 200_000  # events of the first run whose description is kept for the report


def _proc_name(proc: Any) -> str:
    gen = getattr(proc, "_generator", None)
    if gen is None:
        return ""
    return getattr(gen, "__qualname__", None) or getattr(gen, "__name__", "?")


def describe_event(t: float, event: Any) -> str:
    """A description of a scheduled event that does not depend on memory addresses."""
    kind = type(event).__name__
    owner = _proc_name(event) if kind == "Process" else _proc_name(getattr(event, "process", None))
    resumes = []
    for cb in event.callbacks or ():
        target = getattr(cb, "__self__", None)
        name = _proc_name(target) if target is not None else getattr(cb, "__qualname__", "")
        resumes.append(name)
    extra = ""
    if kind == "Timeout":
        extra = f" delay={getattr(event, '_delay', '?')!r}"
    return f"t={t!r} {kind}{(' of ' + owner) if owner else ''}{extra} -> [{', '.join(resumes)}]"


class EventRecorder:
    """Wraps `env.step` to describe and hash each processed event."""

    def __init__(self, env: Any, reference: Any = None) -> None:
        self.env = env
        self.reference = reference
        self.digests = array("Q")
        self.descriptions: list[str] = []
        self.hash = hashlib.blake2b(digest_size=16)
        self.count = 0
        self.first_diff: tuple[int, str] | None = None
        self._step = env.step
        env.step = self.step

    def step(self) -> None:
        env = self.env
        queue = env._queue
        if queue:
            t, _prio, _eid, event = queue[0]
            desc = describe_event(t, event)
            d = int.from_bytes(hashlib.blake2b(desc.encode(), digest_size=8).digest(), "little")
            self.hash.update(d.to_bytes(8, "little"))
            i = self.count
            self.count += 1
            ref = self.reference
            if ref is None or ref is self:
                self.digests.append(d)
                if i < KEEP_DESCRIPTIONS:
                    self.descriptions.append(desc)
            elif self.first_diff is None and (i >= len(ref.digests) or ref.digests[i] != d):
                self.first_diff = (i, desc)
        self._step()


def _instrumented_run(resolved: dict[str, Any], seed: int, reference: EventRecorder | None):
    sim, system = build(resolved, seed)
    rec = EventRecorder(sim.env, reference)
    error = None
    metrics: dict[str, float] = {}
    violations: list[dict] = []
    try:
        start(sim, system, resolved.get("faults") or [])
        sim.run()
        metrics = {k: float(v) for k, v in system.metrics().items()}
        log = system.violations()
        log.extend(sim.final_violations())
        violations = [v.to_dict() for v in log.details]
    except Exception as exc:  # noqa: BLE001 - an error is part of what must repeat
        error = f"{type(exc).__name__}: {exc}"
    return rec, metrics, violations, error


def _same(a: dict[str, float], b: dict[str, float]) -> list[str]:
    diff = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if x is None or y is None or not (x == y or (math.isnan(x) and math.isnan(y))):
            diff.append(f"{k}: {x!r} vs {y!r}")
    return diff


class _Reference:
    """The first run's digests, shipped to the second run's process."""

    def __init__(self, digests: array) -> None:
        self.digests = digests


def _second_run(resolved: dict[str, Any], seed: int, digests: array):
    """Run 2 (possibly in another interpreter): returns what the comparison needs, picklable."""
    rec, metrics, violations, error = _instrumented_run(resolved, seed, _Reference(digests))
    return rec.count, rec.first_diff, rec.hash.hexdigest(), metrics, violations, error


def _in_fresh_interpreter(fn, *args, hash_seed: str):
    """Call fn(*args) in a spawned process whose PYTHONHASHSEED is `hash_seed`."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = hash_seed  # read by the child interpreter at start-up
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            fut = pool.submit(fn, *args)
            return fut.result()
    finally:
        if old is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = old


def check_determinism(scenario, seed: int | None = None, *, other_interpreter: bool = True) -> tuple[bool, str]:
    """Run replication 0 (or `seed`) twice; (True, summary) if identical, else (False, first difference).

    With `other_interpreter` (the default) the second run happens in a fresh Python process with a
    different PYTHONHASHSEED, so an order that depends on string hashes (iterating over a set of
    names) shows up too; in the same process such an order would repeat and go unnoticed.
    """
    import os

    resolved = scenario.resolved if hasattr(scenario, "resolved") else scenario
    s = int(resolved["seed"] if seed is None else seed)
    rec1, m1, v1, e1 = _instrumented_run(resolved, s, None)
    if other_interpreter:
        hs = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
        count2, diff2, h2, m2, v2, e2 = _in_fresh_interpreter(_second_run, resolved, s, rec1.digests, hash_seed=hs)
        where = f" (second run in a fresh interpreter, PYTHONHASHSEED={hs})"
    else:
        count2, diff2, h2, m2, v2, e2 = _second_run(resolved, s, rec1.digests)
        where = ""
    h1 = rec1.hash.hexdigest()
    problems = []
    if diff2 is None and count2 != rec1.count:
        diff2 = (min(rec1.count, count2), "<end of the event sequence>")
    if diff2 is not None:
        i, desc2 = diff2
        desc1 = rec1.descriptions[i] if i < len(rec1.descriptions) else (
            "<end of the event sequence>" if i >= rec1.count else "<description not kept>")
        problems.append(f"event sequences differ at event #{i}:\n  run 1: {desc1}\n  run 2: {desc2}")
    md = _same(m1, m2)
    if md:
        problems.append("metrics differ: " + "; ".join(md[:5]))
    if v1 != v2:
        problems.append(f"violations differ: {len(v1)} vs {len(v2)}")
    if e1 != e2:
        problems.append(f"errors differ: {e1!r} vs {e2!r}")
    if problems:
        return False, (f"NOT deterministic (seed {s}, {rec1.count} vs {count2} events, hashes {h1[:16]} vs "
                       f"{h2[:16]}){where}:\n" + "\n".join(problems))
    note = f"; both runs failed the same way: {e1}" if e1 else ""
    return True, f"deterministic: seed {s}, {rec1.count} events, event-sequence hash {h1}{where}{note}"
