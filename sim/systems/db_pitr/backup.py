"""Continuous log backup (`log_backup`) and the backup catalog it leaves in the object store.

Stands for a log-backup agent beside each log (PostgreSQL `archive_command` / WAL-G, TiKV's log
backup task, HANA's log backups): every `backup_interval` it uploads the records that became
durable since its last cut as one segment, then advances its checkpoint object. A segment key is
`<log>/<number>_<since>_<end>` (times as exact reprs): every record durable in [since, end) is in it. An upload the store refuses is retried at the next interval with the
segment grown; a crash of the host stops the agent, which resumes from its checkpoint on restart
(re-uploading the segment whose checkpoint it had not written, under a later end). A restore
chains segments from time 0: each next one must start where the previous ends. Lost or corrupt segments
(`lose_data`, `corrupt_data` on `backup`) are not noticed until a restore reads the catalog.
"""

from __future__ import annotations

from sim.components.base import CorruptData, NoSuchKey, ServiceUnavailable, Throttled

REFUSED = (ServiceUnavailable, Throttled)


def segment_key(log: str, number: int, since: float, end: float) -> str:
    return f"{log}/{number:07d}_{since!r}_{end!r}"


def parse_segment(key: str) -> tuple[int, str, str]:
    """(number, since, end) of a segment key, the times as written; (-1, "", "") for the checkpoint."""
    tail = key.rsplit("/", 1)[1]
    if tail == "checkpoint":
        return -1, "", ""
    number, since, end = tail.split("_")
    return int(number), since, end


def chain(keys) -> tuple[float, list[str]]:
    """The segments a restore can use: from time 0, each starting where the previous ends (the
    longest such end at each step). Returns (the time the chain covers up to, its keys in order)."""
    by_since: dict[str, str] = {}
    for key in keys:
        number, since, end = parse_segment(key)
        if number < 0:
            continue
        best = by_since.get(since)
        if best is None or float(parse_segment(best)[2]) < float(end):
            by_since[since] = key
    at, out = repr(0.0), []
    while at in by_since:
        key = by_since.pop(at)
        out.append(key)
        at = parse_segment(key)[2]
    return float(at), out


def log_backup(m, host, log, first: bool):
    """The backup agent of one log (a process on the log's host)."""
    env, p, store = m.env, m.params, m.store
    name = host.name
    number, index, since = 0, 0, 0.0
    try:
        ck = yield from store.get(f"{name}/checkpoint")
        number, since, index = ck.value
    except (NoSuchKey, CorruptData, *REFUSED):
        pass
    if first and p.backup_start_jitter:
        yield env.timeout(float(m.sim.rng(f"db.backup.{name}").uniform(0.0, p.backup_interval)))
    while True:
        yield env.timeout(p.backup_interval)
        end, cut = env.now, len(log.durable)
        records = log.durable[index:cut]
        nbytes = p.record_bytes + sum(r[4] for r in records)
        key = segment_key(name, number, since, end)
        try:
            yield from store.put(key, nbytes, value=(since, end, records))
        except REFUSED:
            continue
        m.truth.uploaded(name, key)
        m.point("db.backup.segment_uploaded", host)
        number, index, since = number + 1, cut, end
        try:
            yield from store.put(f"{name}/checkpoint", p.record_bytes, value=(number, since, index))
        except REFUSED:
            pass
        m.c_backup_bytes.inc(nbytes)


class BackupTruth:
    """Every segment uploaded, by log (the oracle's own record, not the restore's catalog listing)."""

    def __init__(self) -> None:
        self.segments: dict[str, list[str]] = {}

    def uploaded(self, log: str, key: str) -> None:
        self.segments.setdefault(log, []).append(key)

    def threshold(self, store, logs: list[str]) -> float:
        """The latest time for which every log is complete and readable in the store: the min over
        logs of the end of the chain of its present, uncorrupted segments from time 0."""
        out = float("inf")
        for log in logs:
            present = [k for k in self.segments.get(log, []) if k in store.objects and not store.objects[k].corrupt]
            out = min(out, chain(present)[0])
        return out if out != float("inf") else 0.0
