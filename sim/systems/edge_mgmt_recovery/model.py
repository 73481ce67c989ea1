"""Edge file storage rebuilding a lost management information file from per-node operation logs.

System `edge_mgmt_recovery` (issue 19; Hitachi, "File storage system and management information
file recovery method"). An edge cluster of `nodes` nodes (`node.EdgeNode`, each with its own
clock, HLC and operation log) stores `files` user files; management files of `files_per_mgmt`
files each live on one node and are checkpointed (`node.checkpointer`). Clients move between
nodes and issue operations (`client.client`, `client.operation`). A node failure loses the
management files it holds; the recovery manager (`manager.recovery_manager`) has them rebuilt
by the variant (`recovery.VARIANTS`): log aggregation (the mechanism), a crawl, or a backup
restore. The oracle (`oracle.Oracle`) knows every file's true entry and the true effect order.

Invariants, checked in every replication when a file is installed:
- `rebuilt_equals_oracle`: a file the rebuild claims exact (log aggregation with no gap reported,
  or a crawl) equals the oracle's copy entry by entry;
- `history_order`: the aggregated history of each file is in true effect order;
- `op_during_rebuild`: no operation takes effect on a file whose management file is lost.
Abstracted away: see docs/models/edge_mgmt_recovery.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.registry import register_system
from sim.core.system import FaultPoint, FaultTarget, System
from sim.systems.edge_mgmt_recovery.client import client, release
from sim.systems.edge_mgmt_recovery.manager import recovery_manager
from sim.systems.edge_mgmt_recovery.metrics import COUNTS, METRICS, assemble
from sim.systems.edge_mgmt_recovery.mgmt import MgmtFiles
from sim.systems.edge_mgmt_recovery.node import EdgeNode
from sim.systems.edge_mgmt_recovery.oracle import Oracle
from sim.systems.edge_mgmt_recovery.params import EdgeMgmtParams
from sim.systems.edge_mgmt_recovery.recovery import VARIANTS
from sim.systems.edge_mgmt_recovery.state import ENTRY
from sim.systems.edge_mgmt_recovery.targets import LogTarget, RecoveryTarget

_NODES = tuple(f"node[{i}]" for i in range(16))  # those a run does not have are skipped
_R = ("recovery",)
FAULT_POINTS = (
    FaultPoint("edge.op.logged", "an operation is in the accepting node's log and the file's metadata, its "
               "management update in flight to the owner", _NODES),
    FaultPoint("edge.checkpoint.write", "a management file's entries and log position copied, the "
               "checkpoint being written (a failure abandons it)", _NODES),
    FaultPoint("edge.recovery.read_checkpoint", "rebuild: reading the lost files' checkpoints", _R),
    FaultPoint("edge.recovery.extract", "rebuild: a node's log being read and filtered", _R),
    FaultPoint("edge.recovery.aggregate", "rebuild: every log extracted, the history being ordered", _R),
    FaultPoint("edge.recovery.apply", "rebuild: the history being applied onto the checkpoints", _R),
    FaultPoint("edge.recovery.crawl", "crawl: a chunk of covered files' metadata being read", _R),
    FaultPoint("edge.recovery.install", "rebuild done in memory, the rebuilt files being written and installed",
               _R),
)


@register_system("edge_mgmt_recovery")
class EdgeMgmtRecovery(System):
    """Edge NAS cluster whose lost management files are rebuilt from per-node operation logs."""

    Params = EdgeMgmtParams
    metrics_spec = METRICS
    fault_points = FAULT_POINTS

    def __init__(self, sim, params: EdgeMgmtParams, workload=None) -> None:
        super().__init__(sim, params, workload)
        p = params
        self.variant = VARIANTS[p.variant]()
        # the points this variant's actors pass (the class lists every variant's, for validation and
        # `sim list faultpoints`): a swarm campaign strikes only these
        self.fault_points = tuple(fp for fp in FAULT_POINTS if fp.name.startswith(self.variant.points))
        self.blocking = p.broken != "no_blocking"
        skew = sim.rng("edge.clock_error")
        offsets = skew.normal(0.0, p.clock_offset_sd, p.nodes) if p.clock_offset_sd else np.zeros(p.nodes)
        drifts = skew.normal(0.0, p.clock_drift_sd, p.nodes) if p.clock_drift_sd else np.zeros(p.nodes)
        self.nodes = [EdgeNode(sim, self, i, float(offsets[i]), float(drifts[i])) for i in range(p.nodes)]
        for n in self.nodes:
            n.on_crash.append(lambda reason, n=n: self._node_failed(n))
        self.mgmt = mg = MgmtFiles(self.env, p.files, p.files_per_mgmt, p.nodes)
        self.ckpt_due = sim.rng("edge.checkpoint_phase").uniform(0.0, p.checkpoint_interval, mg.n)
        self.fs = np.zeros(p.files, dtype=ENTRY)  # user files' own metadata (inodes, xattrs)
        self.oracle = Oracle(p.files, p.files_per_mgmt, p.nodes)
        w = np.array(list(p.op_mix.model_dump().values()), dtype=float)
        self.op_weights = w / w.sum()
        self.locks: dict[int, Any] = {}
        self.counts = dict.fromkeys(COUNTS, 0)
        self.op_wait_s = 0.0
        self.pending: set[int] = set()
        self.pending_event = None
        self.rebuilding_on: EdgeNode | None = None
        self.first_loss: float | None = None
        self.last_install: float | None = None
        self.unavailable_s = 0.0
        self.losses = 0
        self.rebuilds = 0
        self.exact_rebuilds = 0
        self.entries = [0, 0, 0]  # wrong, stale, missing
        self.log_missing = 0
        self.out_of_order = 0
        self._gaps: set[int] = set()  # files whose rebuild reported a log gap
        self.incomplete_reports = 0
        self._targets: dict[str, FaultTarget] = {n.name: n for n in self.nodes}
        self._targets |= {f"log[{n.index}]": LogTarget(self, n) for n in self.nodes}
        self._targets["recovery"] = RecoveryTarget(self)
        sim.add_probe("mgmt_files_lost", lambda: float((mg.owner < 0).sum()))

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        for n in self.nodes:
            n.start_daemons()
        for c in range(self.params.clients):
            self.env.process(client(self, c))
        self.env.process(recovery_manager(self))

    def _node_failed(self, node: EdgeNode) -> None:
        """A node failed: the management files it holds are lost; its unlogged locks are released."""
        for lock in [lk for lk in node.held if not lk.logged]:
            release(self, lock)
        now = self.env.now
        for m in self.mgmt.owned_by(node.index).tolist():
            self.mgmt.lose(m, node.index)
            self.oracle.lost(m, now)
            self.pending.add(m)
            self.losses += 1
            if self.first_loss is None:
                self.first_loss = now
        if self.pending and self.pending_event is not None and not self.pending_event.triggered:
            self.pending_event.succeed()

    # --- what the rebuild reports --------------------------------------------------------------
    def order_key(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        """The aggregation order of extracted entries (the mechanism's step 2)."""
        if self.params.broken == "no_ordering":
            return np.lexsort((cols["lsn"], cols["node"]))  # BROKEN: node after node
        if self.params.ordering == "wall_clock":
            return np.lexsort((cols["lsn"], cols["node"], cols["wall"]))
        return np.lexsort((cols["lsn"], cols["node"], cols["hc"], cols["hl"]))

    def check_history(self, hist: dict[str, np.ndarray]) -> None:
        bad = self.oracle.out_of_order(hist["node"], hist["lsn"], hist["file"].astype(np.int64))
        self.out_of_order += bad
        if bad:
            self.violation_log.add("history_order", f"{bad} pair(s) of history entries of one file out of effect "
                                   f"order (ordering {self.params.ordering})", self.env.now, pairs=bad)

    def report_gap(self, m: int, missing: int, inherited: bool = False) -> None:
        """The extraction found `missing` needed log entries truncated for file `m`, or its checkpoint
        is of a file already known incomplete (`inherited`): the rebuilt file is reported incomplete."""
        if missing:
            self.log_missing += missing
        if missing or inherited:
            self._gaps.add(m)
            self.incomplete_reports += 1

    def installed(self, m: int, node: EdgeNode, table: np.ndarray, present: np.ndarray, vector: np.ndarray,
                  exact_claim: bool) -> None:
        """A rebuilt file is installed on `node`: compare it with the oracle, then serve again."""
        now = self.env.now
        wrong, stale, missing = self.oracle.compare(m, table, present)
        e = self.entries
        e[0] += wrong
        e[1] += stale
        e[2] += missing
        self.rebuilds += 1
        self.exact_rebuilds += wrong == 0
        gap = m in self._gaps
        if wrong and exact_claim and not gap:
            self.violation_log.add("rebuilt_equals_oracle", f"management file {m} rebuilt by {self.variant.name} "
                                   f"differs from the oracle: {wrong} entries ({stale} stale, {missing} missing)",
                                   now, mgmt=m, wrong=wrong, stale=stale, missing=missing)
        self._gaps.discard(m)
        self.unavailable_s += self.mgmt.size(m) * (now - float(self.mgmt.lost_at[m]))
        table[~present] = np.zeros(1, dtype=table.dtype)  # an entry the rebuild lacks starts empty
        self.mgmt.install(m, node.index, table, vector, gap)
        self.oracle.installed(m)
        self.pending.discard(m)
        self.last_install = now
        self.sim.note("installed", mgmt=m, node=node.name, wrong=wrong)

    # --- faults, liveness, invariants --------------------------------------------------------------
    def fault_targets(self) -> dict[str, FaultTarget]:
        return self._targets

    def campaign_faults(self) -> list[dict[str, Any]]:
        """Node failures, clock steps and drift, log truncations, and a failure of the rebuilding node."""
        restart = {"dist": "uniform", "low": 1.0, "high": 60.0}
        out: list[dict[str, Any]] = []
        for n in self.nodes:
            out.append({"kind": "crash", "target": n.name, "restart_after": restart})
            out.append({"kind": "clock_skew", "target": n.name, "offset": {"dist": "uniform", "low": 0.0, "high": 2.0},
                        "drift": {"dist": "uniform", "low": 0.0, "high": 1e-3},
                        "duration": {"dist": "uniform", "low": 10.0, "high": 120.0}})
            out.append({"kind": "lose_data", "target": f"log[{n.index}]",
                        "fraction": {"dist": "uniform", "low": 0.1, "high": 0.9}})
        out.append({"kind": "crash", "target": "recovery", "restart_after": restart})
        return out

    def converged(self) -> str | None:
        lost = int((self.mgmt.owner < 0).sum())
        if lost:
            return f"{lost} management file(s) still lost (rebuild not finished)"
        return None

    def progress(self) -> tuple[float, int]:
        return float(self.counts["ops_completed"]), len(self.locks)

    def check_at_end(self) -> None:
        o = self.oracle
        if o.ops_during_rebuild:
            f, m, node, lsn, t = o.first_bad_op
            self.violation_log.add("op_during_rebuild", f"{o.ops_during_rebuild} operation(s) took effect on files "
                                   f"whose management file was lost; first: file {f} (management file {m}) at "
                                   f"node[{node}] LSN {lsn}, t={t:.3f} s", t, ops=o.ops_during_rebuild)

    def metrics(self) -> dict[str, float]:
        return assemble(self)
