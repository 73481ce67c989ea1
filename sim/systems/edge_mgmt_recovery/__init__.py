"""`edge_mgmt_recovery`: rebuilding a lost management information file from per-node operation logs (model.py)."""

from sim.systems.edge_mgmt_recovery.model import EdgeMgmtRecovery
from sim.systems.edge_mgmt_recovery.params import EdgeMgmtParams, OpMix
from sim.systems.edge_mgmt_recovery.recovery import VARIANTS

__all__ = ["EdgeMgmtRecovery", "EdgeMgmtParams", "OpMix", "VARIANTS"]
