"""The clients: open-loop Poisson arrivals of writes at the primary, and the reply that completes each one.

While the primary is down, arrivals go to the partner once it has taken over (`takeover`), else
they are rejected. Abstracted away: client retries of failed or rejected writes, the network to the clients.
"""

from __future__ import annotations

from sim.core.environment import timeout
from sim.systems.nvlog_mirror.write_transaction import Write


class Client:
    """`client_arrivals` (the workload) and `ack` (the reply that completes a client's write)."""

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

    def client_arrivals(self):
        """Open-loop Poisson arrivals of client writes; each becomes a transaction on the worker pool."""
        wl = self.workload
        gap = wl.interarrival(self.sim.rng("nvlog_mirror.arrivals"))
        size = wl.size.sampler(self.sim.rng("nvlog_mirror.sizes"))
        fixed = float(wl.size.value) if wl.size.dist == "fixed" else 0.0  # skip the call when constant
        env = self.env
        arrived = self.c_arrived
        primary = self.primary
        transaction = self.txn.write_transaction
        while True:
            yield timeout(env, gap())
            arrived.value += 1
            if not primary.serving:
                if self.service.serving:  # taken over: the partner serves the write
                    self.seq += 1
                    self.inflight += 1
                    self.service.serve(Write(self.seq, fixed or size(), env._now, primary.epoch))
                    continue
                self.c_rejected.value += 1
                continue
            self.seq += 1
            self.inflight += 1
            w = Write(self.seq, fixed or size(), env._now, primary.epoch)
            primary.pool.submit(transaction(w), w)

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
