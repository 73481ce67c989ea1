"""Rebuilding lost management files: the mechanism (log aggregation) and its two baselines.

Each variant's `rebuild(system, node, job)` runs on the takeover node (a crash interrupts it; the
recovery manager starts it again on another node) and ends by installing every file of `job`:

- `LogAggregation` (the mechanism): read each lost file's checkpoint; (1) extract, from every
  node's operation log (one reader per log, in parallel, at `log_read_bandwidth`), the entries
  for the covered files after the checkpoint's log position, noting entries already truncated
  (a gap: reported, never invented, and carried on by the checkpoints of a file rebuilt over it);
  (2) aggregate them into one history ordered by HLC (or wall
  clock); (3) apply the history onto the checkpoint; install.
- `Crawl`: read the metadata of every covered user file (stat + xattrs) on the takeover node,
  which now serves the failed node's file systems, with `crawl_parallelism` threads at
  `metadata_read_rate` each; install.
- `BackupRestore`: read the last backup (the latest checkpoint) and install it as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.systems.edge_mgmt_recovery.state import ENTRY, apply_history

if TYPE_CHECKING:
    from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery
    from sim.systems.edge_mgmt_recovery.node import EdgeNode

CRAWL_CHUNKS = 8  # the crawl proceeds in chunks: a fault point between each


def _read_checkpoints(system: EdgeMgmtRecovery, job: list[int]):
    """Read the checkpoints (or backups) of the job's files from shared storage."""
    p, mg = system.params, system.mgmt
    ckpts = {m: mg.ckpt[m] for m in job}
    nbytes = sum(mg.size(m) for m in job) * p.mgmt_entry_size
    system.sim.fault_point("edge.recovery.read_checkpoint")
    yield system.env.timeout(nbytes / p.log_read_bandwidth)
    return ckpts


def _install(system: EdgeMgmtRecovery, node: EdgeNode, rebuilt: dict[int, tuple], exact_claim: bool,
             max_ts: tuple[float, int] | None = None):
    """Write the rebuilt files out and install them on `node` (log position: every log's end)."""
    p = system.params
    nbytes = sum(len(t) for t, _pr, _v in rebuilt.values()) * p.mgmt_entry_size
    system.sim.fault_point("edge.recovery.install")
    yield system.env.timeout(nbytes / p.log_read_bandwidth)
    if max_ts is not None:
        node.hlc.recv(max_ts)  # later operations on these files are stamped after the history
    for m, (table, present, vector) in sorted(rebuilt.items()):
        system.installed(m, node, table, present, vector, exact_claim)


def _log_ends(system: EdgeMgmtRecovery) -> np.ndarray:
    return np.array([n.log.next_lsn - 1 for n in system.nodes], dtype=np.int64)


class LogAggregation:
    """The mechanism: extract from every node's log, aggregate in effect order, apply onto the checkpoint."""

    name = "log_aggregation"
    #: the fault points its code passes (prefixes; the model narrows its list to them)
    points = ("edge.op.", "edge.checkpoint.", "edge.recovery.read_checkpoint", "edge.recovery.extract",
              "edge.recovery.aggregate", "edge.recovery.apply", "edge.recovery.install")

    def rebuild(self, system: EdgeMgmtRecovery, node: EdgeNode, job: list[int]):
        p, mg, env = system.params, system.mgmt, system.env
        broken = p.broken
        ckpts = yield from _read_checkpoints(system, job)
        in_job = np.zeros(mg.n, dtype=bool)
        in_job[job] = True
        pos = np.zeros((mg.n, len(system.nodes)), dtype=np.int64)  # checkpoint log position per file
        for m in job:
            pos[m] = ckpts[m].vector
        # (1) extract: one reader per node's log, in parallel
        skip = {int(mg.lost_from[m]) for m in job} if broken == "skip_failed_node_log" else set()
        readers = [node.process(self._extract(system, x, job, in_job, pos)) for x in system.nodes
                   if x.index not in skip]
        parts = yield env.all_of(readers)
        parts = [parts[r] for r in readers]
        if any(part is None for part in parts):
            return None
        cols = {k: np.concatenate([part[0][k] for part in parts]) for k in parts[0][0]} if parts else {}
        gap = {m: sum(part[1].get(m, 0) for part in parts) for m in job}
        ends = _log_ends(system)
        n_hist = len(cols.get("file", ()))
        # (2) aggregate into one history in effect order
        system.sim.fault_point("edge.recovery.aggregate")
        yield env.timeout(n_hist * p.order_cost)
        order = system.order_key(cols)
        hist = {k: v[order] for k, v in cols.items()}
        system.check_history(hist)
        # (3) apply onto each file's checkpoint
        system.sim.fault_point("edge.recovery.apply")
        yield env.timeout(n_hist * p.apply_cost)
        hm = hist["file"] // mg.fpm if n_hist else np.zeros(0, dtype=np.int64)
        rebuilt = {}
        for m in job:
            lo, _hi = mg.span(m)
            n = mg.size(m)
            if broken == "apply_on_empty":
                base, present = np.zeros(n, dtype=ENTRY), np.zeros(n, dtype=bool)
            else:
                base, present = ckpts[m].entries(n), np.ones(n, dtype=bool)
            sel = hm == m
            apply_history(base, present, (hist["file"][sel] - lo).astype(np.int64), hist["op"][sel], hist["arg"][sel])
            rebuilt[m] = (base, present, ends.copy())
            system.report_gap(m, gap[m], ckpts[m].incomplete)
        system.counts["history_entries_applied"] += n_hist
        max_ts = (float(hist["hl"].max()), int(hist["hc"].max())) if n_hist else None
        yield from _install(system, node, rebuilt, True, max_ts)
        return True

    def _extract(self, system: EdgeMgmtRecovery, x: EdgeNode, job: list[int], in_job: np.ndarray, pos: np.ndarray):
        """Read node x's log from the oldest position any job file needs; keep the job's entries."""
        p = system.params
        idx = x.index
        start = int(pos[job, idx].min()) + 1
        if p.broken == "replay_all":
            start = x.log.first_lsn
        first, _ = x.log.since(start)
        n = x.log.next_lsn - first
        system.sim.fault_point("edge.recovery.extract")
        yield system.env.timeout(n * p.log_entry_size / p.log_read_bandwidth + n * p.extract_cost)
        system.counts["log_bytes_read"] += n * p.log_entry_size
        first, cols = x.log.since(start)
        gaps = {}
        for m in job:  # entries the checkpoint's position needs but the log no longer has
            missing = x.log.first_lsn - int(pos[m, idx]) - 1
            if missing > 0 and p.broken != "replay_all":
                gaps[m] = missing
        lsn = np.arange(first, first + len(cols["file"]), dtype=np.int64)
        fm = cols["file"].astype(np.int64) // system.mgmt.fpm
        keep = in_job[fm]
        if p.broken != "replay_all":
            keep &= lsn > pos[fm, idx]
        out = {k: v[keep] for k, v in cols.items()}
        out["node"] = np.full(int(keep.sum()), idx, dtype=np.int64)
        out["lsn"] = lsn[keep]
        return out, gaps


class Crawl:
    """Baseline: read every covered user file's metadata across the cluster (a scan-based rebuild)."""

    name = "crawl"
    points = ("edge.op.", "edge.checkpoint.", "edge.recovery.crawl", "edge.recovery.install")

    def rebuild(self, system: EdgeMgmtRecovery, node: EdgeNode, job: list[int]):
        p, mg, env = system.params, system.mgmt, system.env
        total = sum(mg.size(m) for m in job)
        rate = p.metadata_read_rate * p.crawl_parallelism
        for _ in range(CRAWL_CHUNKS):
            system.sim.fault_point("edge.recovery.crawl")
            yield env.timeout(total / CRAWL_CHUNKS / rate)
        system.counts["metadata_reads"] += total
        ends = _log_ends(system)
        rebuilt = {}
        for m in job:
            lo, hi = mg.span(m)
            rebuilt[m] = (system.fs[lo:hi].copy(), np.ones(hi - lo, dtype=bool), ends.copy())
        yield from _install(system, node, rebuilt, True)
        return True


class BackupRestore:
    """Baseline: restore the last backup of each lost file (the latest checkpoint): fast, stale."""

    name = "backup_restore"
    points = ("edge.op.", "edge.checkpoint.", "edge.recovery.read_checkpoint", "edge.recovery.install")

    def rebuild(self, system: EdgeMgmtRecovery, node: EdgeNode, job: list[int]):
        mg = system.mgmt
        ckpts = yield from _read_checkpoints(system, job)
        ends = _log_ends(system)
        rebuilt = {m: (ckpts[m].entries(mg.size(m)), np.ones(mg.size(m), dtype=bool), ends.copy()) for m in job}
        yield from _install(system, node, rebuilt, False)
        return True


VARIANTS = {"log_aggregation": LogAggregation, "crawl": Crawl, "backup_restore": BackupRestore}
