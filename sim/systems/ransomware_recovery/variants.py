"""The mechanism and its baselines (`params.variant`), as strategy classes picked from `VARIANTS`.

Each says what happens after a write reaches the primary (its backup path), what the attack
does to its copies, and how the operator recovers once the attack is detected (the `recover`
process: real behaviour, an incident response run book):
- `SplitBackup`: redirect the applications to the context store (`failover_time`), rebuild the
  primary (`reimage_time`), copy every record back, switch the applications back;
- `PeriodicBackup`: rebuild the primary, copy the whole restore point back, then serve;
- `SnapshotRollback`: revert the volume to the latest clean snapshot (`rollback_time`), then serve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sim.systems.ransomware_recovery.baselines import BackupChain, SnapshotChain
from sim.systems.ransomware_recovery.restore import Copier, ImageSource, SplitSource, read_probe
from sim.systems.ransomware_recovery.split_write import split_write

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery


class SplitBackup:
    """The mechanism: real-time split write, failover to the context store, record-by-record restore."""

    name: ClassVar[str] = "split_backup"
    #: the fault points its actors pass (prefixes of `model.FAULT_POINTS` names): a campaign strikes only these
    points: ClassVar[tuple[str, ...]] = ("ransomware_recovery.",)
    #: the hosts it uses (campaign crashes) and those an attacker may also encrypt (campaign ransomware)
    hosts: ClassVar[tuple[str, ...]] = ("primary", "vault", "context_store", "restore_agent")
    attack_targets: ClassVar[tuple[str, ...]] = ("primary", "context_store")

    def __init__(self, system: RansomwareRecovery) -> None:
        self.system = system

    def start(self) -> None:
        return None

    def after_primary_write(self, system, ids, vers):
        early = system.params.broken == "ack_before_split_write"
        if early:  # BROKEN on purpose
            system.acknowledge(ids, vers)
        # the batch is durable on the primary, the backup path not begun: a crash here abandons it
        # (the mechanism) or, acknowledged too early, leaves a committed write the stores never get
        system.sim.fault_point("ransomware_recovery.write.primary_durable")
        yield from split_write(system, ids, vers, "split_write_attacked" if system.phase == "attacked"
                               else "split_write")
        return early

    def failover_write(self, system, ids, vers):
        yield from split_write(system, ids, vers, "failover_write")
        if system.copier is not None:
            system.copier.written(ids)
        return False

    def on_attack(self, system) -> None:
        return None

    def recover(self, system):
        env, p = system.env, system.params
        yield env.timeout(p.failover_time)
        if not system.agent.up:
            yield system.agent.wait_up()
        system.mode = "failover"
        system.resumed()
        system.copier = Copier(system, SplitSource(system), system.restored)
        yield env.timeout(p.reimage_time)
        system.rebuild_primary()
        if not system.primary.up:
            yield system.primary.wait_up()
        system.copier.start()
        env.process(read_probe(system, degraded=True))  # degraded reads while the copy runs

    def on_primary_restart(self, system) -> None:
        return None

    def on_backup_restart(self, system) -> None:
        return None

    def on_agent_restart(self, system) -> None:
        if system.copier is not None and system.phase == "detected":
            system.copier.start()

    def storage_bytes(self, system) -> float:
        crit, ctx = system.stores.bytes_stored(system.params.tag_size, system.params.critical_key_size)
        return crit + ctx


class PeriodicBackup(SplitBackup):
    """Baseline: forever-incremental backups to a backup target; full copy-back before service."""

    name = "periodic_backup"
    points = ("ransomware_recovery.restore.",)  # the copy-back; no split write
    hosts = ("primary", "backup_target", "restore_agent")
    attack_targets = ("primary", "backup_target")

    def __init__(self, system: RansomwareRecovery) -> None:
        super().__init__(system)
        self.chain = BackupChain(system)

    def start(self) -> None:
        self.system.backup_node.process(self.chain.agent())

    def after_primary_write(self, system, ids, vers):
        self.chain.changed[ids] = True
        return False
        yield  # a generator

    def on_backup_restart(self, system) -> None:
        if system.phase in ("normal", "attacked"):
            system.backup_node.process(self.chain.agent())

    def recover(self, system):
        env, p = system.env, system.params
        yield env.timeout(p.reimage_time)
        system.rebuild_primary()
        if not system.agent.up:
            yield system.agent.wait_up()
        vals, point = self.chain.restore_values()
        system.restore_point = point
        system.copier = Copier(system, ImageSource(system, vals), self._done)
        system.copier.start()

    def _done(self) -> None:
        self.system.resumed()
        self.system.restored()

    def storage_bytes(self, system) -> float:
        return self.chain.stored_records * system.layout.record_size


class SnapshotRollback(SplitBackup):
    """Baseline: immutable snapshots every interval; rollback to the latest clean one."""

    name = "snapshot_rollback"
    points = ()  # a rollback: no split write, no copy-back
    hosts = ("primary",)
    attack_targets = ("primary",)

    def __init__(self, system: RansomwareRecovery) -> None:
        super().__init__(system)
        self.chain = SnapshotChain(system)

    def start(self) -> None:
        self.system.primary.process(self.chain.snapshotter())

    def after_primary_write(self, system, ids, vers):
        self.chain.changed[ids] = True
        return False
        yield  # a generator

    def on_primary_restart(self, system) -> None:
        if system.phase in ("normal", "attacked"):
            system.primary.process(self.chain.snapshotter())

    def on_attack(self, system) -> None:
        if not system.params.snapshots_immutable:
            self.chain.delete_all()  # vssadmin delete shadows, or the array's admin API

    def recover(self, system):
        env = system.env
        yield env.timeout(system.params.rollback_time)
        vals, point = self.chain.rollback_values()
        system.restore_point = point
        system.rebuild_primary()
        system.prim_ver[:] = vals
        if not system.primary.up:
            yield system.primary.wait_up()
        system.resumed()
        system.restored()

    def storage_bytes(self, system) -> float:
        return self.chain.retained_records() * system.layout.record_size


VARIANTS: dict[str, type[SplitBackup]] = {c.name: c for c in (SplitBackup, PeriodicBackup, SnapshotRollback)}

