"""A tiny primary/backup key store registered as a plugin, used by the faults and check tests.

A client writes versions of keys to the primary, which appends them to its durable log and
replicates each write over `link` to every backup (`backup[0]`, `backup[1]`, ...). The correct
variant acknowledges a write only when every backup has applied it; the `broken` variant
acknowledges as soon as the write is queued for replication, so a primary crash that drops the
queue loses acknowledged writes. A `VersionOracle` knows every acknowledged version; the
invariant, checked at each primary crash, is that every backup holds every acknowledged write.
Also used to test determinism (`unseeded: true` draws from an unseeded generator on purpose).
"""

from __future__ import annotations

import numpy as np
import simpy
from pydantic import Field

from sim.check.oracle import VersionOracle
from sim.core.fault_target import FaultTarget, fault_param
from sim.core.registry import register_system
from sim.core.system import Metric, Params, System
from sim.core.units import Duration, PositiveDuration, PositiveRate


class Switch:
    """A boolean condition processes can wait for (a node up, a link up)."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.on = True
        self._ev = env.event()

    def set(self, on: bool) -> None:
        if on and not self.on:
            self._ev.succeed()
            self._ev = self.env.event()
        self.on = on

    def wait(self):
        return self._ev


class Primary(FaultTarget):
    """The primary: a crash or power loss loses its memory (queued replication); restart resyncs."""

    fault_kinds = ("crash", "power_loss")

    def __init__(self, system: ToyReplicated) -> None:
        self.name = "primary"
        self.system = system

    def _inject_crash(self, fault) -> None:
        self.system.primary_down()

    def _heal_crash(self, fault) -> None:
        self.system.primary_restart()

    _inject_power_loss = _inject_crash
    _heal_power_loss = _heal_crash


class ReplicationLink(FaultTarget):
    """The link to the backups: cut (messages wait for it) or slowed (`latency_factor`)."""

    fault_kinds = ("link_down", "slow_link")

    def __init__(self, system: ToyReplicated) -> None:
        self.name = "link"
        self.system = system

    def _inject_link_down(self, fault) -> None:
        self.system.link_up.set(False)

    def _heal_link_down(self, fault) -> None:
        self.system.link_up.set(True)

    def _inject_slow_link(self, fault) -> None:
        p = self.system.params
        self.system.latency = p.link_latency * fault_param(fault, "latency_factor", 1.0)

    def _heal_slow_link(self, fault) -> None:
        self.system.latency = self.system.params.link_latency


class Backup(FaultTarget):
    """One backup: while crashed it applies nothing (its store survives)."""

    fault_kinds = ("crash",)

    def __init__(self, name: str, up: Switch) -> None:
        self.name = name
        self.up = up

    def _inject_crash(self, fault) -> None:
        self.up.set(False)

    def _heal_crash(self, fault) -> None:
        self.up.set(True)


@register_system("toy_replicated")
class ToyReplicated(System):
    """Primary/backup key store with synchronous replication (test plugin)."""

    metrics_spec = (
        Metric("acked_writes", "writes acknowledged to the client"),
        Metric("epoch", "primary crashes (each starts a new epoch)"),
    )

    class Params(Params):
        write_rate: PositiveRate = 2000.0
        keys: int = Field(32, ge=1)
        backups: int = Field(1, ge=1)
        link_latency: PositiveDuration = 50e-6
        log_append: Duration = 5e-6
        broken: bool = Field(False, description="acknowledge before replicating (a deliberate bug)")
        unseeded: bool = Field(False, description="draw arrivals from an unseeded generator (a deliberate bug)")
        resync: bool = Field(True, description="after a restart, send the backups what they lack (False: a bug)")
        set_order: bool = Field(False, description="start helpers in the iteration order of a set of names (a bug)")
        spin_at: Duration | None = Field(None, description="enter a zero-time infinite loop at this time (a bug)")

    def __init__(self, sim, params, workload=None):
        super().__init__(sim, params, workload)
        env = self.env
        self.oracle = VersionOracle()
        self.primary_up = Switch(env)
        self.link_up = Switch(env)
        self.latency = params.link_latency
        self.backup_names = [f"backup[{i}]" for i in range(params.backups)]
        self.backup_up = {b: Switch(env) for b in self.backup_names}
        self.durable_log: dict[int, int] = {}  # primary's durable store: key -> newest version
        self.log_time: dict[int, float] = {}  # when each key's newest version was logged
        self.backup_store: dict[str, dict[int, int]] = {b: {} for b in self.backup_names}
        self.send_queue: dict[str, simpy.Store] = {b: simpy.Store(env) for b in self.backup_names}
        self.epoch = 0
        self.crash_ev = env.event()
        self.acked = sim.recorder.counter("acked_writes")
        self.last_ack = 0.0
        self.targets = {
            "primary": Primary(self),
            "link": ReplicationLink(self),
            **{b: Backup(b, self.backup_up[b]) for b in self.backup_names},
        }
        sim.add_probe("acked_writes", lambda: float(self.acked.value))

    # --- processes -------------------------------------------------------------------------------
    def start(self):
        self.env.process(self.client())
        for b in self.backup_names:
            self.env.process(self.replicator(b))
        if self.params.spin_at is not None:
            self.env.process(self.spin())
        if self.params.set_order:
            names = {"scrubber", "gc", "stats", "heartbeat", "compactor", "monitor", "balancer", "io",
                     "prefetch", "flusher", "audit", "rebuild"}
            for i, name in enumerate(names):  # order depends on PYTHONHASHSEED
                self.env.process(self.housekeeping(len(name) * (i + 1) * 1e-4))

    def housekeeping(self, period: float):
        while True:
            yield self.env.timeout(period)

    def client(self):
        rng = np.random.default_rng() if self.params.unseeded else self.sim.rng("toy_replicated.client")
        while True:
            yield self.env.timeout(rng.exponential(1.0 / self.params.write_rate))
            key = int(rng.integers(self.params.keys))
            self.env.process(self.write_transaction(key))

    def spin(self):
        yield self.env.timeout(self.params.spin_at)
        while True:
            yield self.env.timeout(0)

    def write_transaction(self, key: int):
        while not self.primary_up.on:
            yield self.primary_up.wait()
        epoch = self.epoch
        version = self.oracle.write(key, self.env.now)
        yield self.env.timeout(self.params.log_append)
        if epoch != self.epoch:
            return  # the primary crashed during the append: the write never happened
        self.durable_log[key] = max(self.durable_log.get(key, 0), version)
        self.log_time[key] = self.env.now
        acks = []
        for b in self.backup_names:
            done = self.env.event()
            self.send_queue[b].put((epoch, key, version, done))
            acks.append(done)
        if not self.params.broken:
            res = yield simpy.AllOf(self.env, acks) | self.crash_ev
            if epoch != self.epoch or self.crash_ev in res:
                return
        self.oracle.acknowledge(key, version, self.env.now)
        self.acked.inc()
        self.last_ack = self.env.now

    def replicator(self, backup: str):
        """Takes queued writes for one backup and puts each on the wire (pipelined)."""
        while True:
            msg = yield self.send_queue[backup].get()
            self.env.process(self.deliver(backup, msg))

    def deliver(self, backup: str, msg):
        """One replication message: waits out link and backup outages, retries if cut in flight."""
        epoch, key, version, done = msg
        store = self.backup_store[backup]
        while True:
            while not (self.link_up.on and self.backup_up[backup].on):
                yield (self.link_up.wait() if not self.link_up.on else self.backup_up[backup].wait())
            yield self.env.timeout(self.latency)
            if epoch != self.epoch:
                return  # sent by a primary that has since crashed: lost with its memory
            if self.link_up.on and self.backup_up[backup].on:
                if store.get(key, 0) < version:
                    store[key] = version
                done.succeed()
                return

    # --- faults ----------------------------------------------------------------------------------
    def fault_targets(self):
        return self.targets

    def primary_down(self) -> None:
        """The primary crashes: its volatile replication queues are lost."""
        self.check_primary_crash()
        self.primary_up.set(False)
        self.epoch += 1
        for q in self.send_queue.values():
            q.items.clear()  # volatile queue lost
        self.crash_ev.succeed()
        self.crash_ev = self.env.event()

    def primary_restart(self) -> None:
        self.primary_up.set(True)
        if self.params.resync:
            self.env.process(self.resync())

    def resync(self):
        """After a restart, bring every backup up to the primary's durable log."""
        epoch = self.epoch
        for b in self.backup_names:
            for key, version in sorted(self.durable_log.items()):
                if self.backup_store[b].get(key, 0) < version:
                    self.send_queue[b].put((epoch, key, version, self.env.event()))
        yield self.env.timeout(0)

    # --- checks ----------------------------------------------------------------------------------
    def check_primary_crash(self):
        """Every acknowledged write must be on every backup when the primary crashes."""
        for b in self.backup_names:
            self.violation_log.extend(self.oracle.missing(self.backup_store[b], now=self.env.now,
                                                          invariant="acked_write_on_backup", where=b))

    def check_invariants(self):
        # acked writes are in the primary's durable log at every instant
        return self.oracle.missing(self.durable_log, now=self.env.now, invariant="acked_write_durable",
                                   where="primary")

    def check_at_end(self):
        self.violation_log.extend(self.check_invariants())

    def converged(self):
        if not self.primary_up.on:
            return "primary still down"
        recent = self.env.now - 20 * self.params.link_latency  # writes still in flight are not lag
        lag = sum(1 for b in self.backup_names for k, v in self.durable_log.items()
                  if self.backup_store[b].get(k, 0) < v and self.log_time[k] < recent)
        if lag:
            return f"backups behind the primary by {lag} key version(s)"
        if self.env.now - self.last_ack > 0.05 * self.sim.duration + 10.0 / self.params.write_rate:
            return f"no write acknowledged since {self.last_ack:.6g} s"
        return None

    def metrics(self):
        return {"acked_writes": self.acked.value, "epoch": self.epoch}
