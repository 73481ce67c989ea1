"""`kv_recovery`: fast restart recovery and read-only replicas of a key-value store (see model.py)."""

from sim.systems.kv_recovery.model import KvRecovery
from sim.systems.kv_recovery.params import KvRecoveryParams, KvWorkload
from sim.systems.kv_recovery.replica import Replica
from sim.systems.kv_recovery.variants import VARIANTS

__all__ = ["KvRecovery", "KvRecoveryParams", "KvWorkload", "Replica", "VARIANTS"]
