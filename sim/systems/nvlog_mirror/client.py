"""The clients: open-loop Poisson arrivals of writes at the primary, and the reply that completes each one.

While the primary is down, arrivals go to the partner once it has taken over (`takeover`), else
they are rejected. Abstracted away: client retries of failed or rejected writes, the network to the clients.
"""

from __future__ import annotations

from sim.core.environment import call_later
from sim.systems.nvlog_mirror.write_transaction import Write


class Client:
    """`client_arrival` (the workload) and `ack` (the reply that completes a client's write)."""

    def __init__(self, system) -> None:
        self.sim = system.sim
        self.env = system.env
        self.workload = system.workload
        self.primary = system.primary
        self.oracle = system.oracle
        self.latency = system.latency
        self.c_arrived = system.c_arrived
        self.c_rejected = system.c_rejected
        self.c_acked = system.c_acked
        self.c_degraded = system.c_degraded
        self.c_failed = system.c_failed
        self.service = None  # the takeover service (set by the model)
        self.txn = None  # the write-transaction actor (set by the model)
        self.partner_log = None  # the partner's durable NVLog, for the oracle's check (set by the model)
        self.seq = 0
        self.inflight = 0  # writes arrived and neither acknowledged nor failed
        self.window_start = 0.0  # the measured window's start (the warm-up's end)
        self.acked_cohort = 0  # writes arrived in the window and acknowledged (so never more than arrived)
        self.degraded_cohort = 0
        self._fp = system.sim.fault_point
        self._sim = system.sim  # (its `_point_hook` is tested before calling a fault point: a call per write saved)

    def start(self) -> None:
        """Begin the open-loop Poisson arrivals (`client_arrival`, a chain of scheduled callbacks)."""
        wl = self.workload
        self._gap = wl.interarrival(self.sim.rng("nvlog_mirror.arrivals"))
        self._size = wl.size.sampler(self.sim.rng("nvlog_mirror.sizes"))
        self._fixed = float(wl.size.value) if wl.size.dist == "fixed" else 0.0  # skip the call when constant
        self._arrival_cb = self.client_arrival
        self._transaction = self.txn.write_transaction
        call_later(self.env, self._gap(), self._arrival_cb)

    def client_arrival(self, _call) -> None:
        """A client write arrives: it becomes a transaction on the primary's worker pool (or, taken
        over, is served by the partner; else it is rejected); then the next arrival is scheduled.
        (A callback per arrival rather than a SimPy process: a process resumption less per write.)"""
        env = self.env
        self.c_arrived.value += 1
        primary = self.primary
        if primary.serving:
            self.seq += 1
            self.inflight += 1
            w = Write(self.seq, self._fixed or self._size(), env._now, primary.epoch)
            primary.pool.submit(self._transaction(w), w)
        elif self.service.serving:  # taken over: the partner serves the write
            self.seq += 1
            self.inflight += 1
            self.service.serve(Write(self.seq, self._fixed or self._size(), env._now, primary.epoch))
        else:
            self.c_rejected.value += 1
        call_later(env, self._gap(), self._arrival_cb)

    def ack(self, w: Write, degraded: bool, now: float) -> None:
        """Complete the client's write (after the partner's acknowledgement, or degraded after the local append)."""
        w.acked = True
        self.inflight -= 1
        self.latency.record(now - w.t_arrival)
        self.c_acked.value += 1
        cohort = w.t_arrival >= self.window_start
        if cohort:
            self.acked_cohort += 1
        if degraded:
            self.c_degraded.value += 1
            if cohort:
                self.degraded_cohort += 1
            self.oracle.acked_degraded.add(w.lsn)
        else:
            lsn = w.lsn
            self.oracle.acked_mirrored.add(lsn)
            if lsn not in self.partner_log:  # "mirrored" means durable on the partner, now
                self.oracle.not_on_partner(lsn, now)
        if self._sim._point_hook is not None:
            self._fp("nvlog_mirror.client.acked")
