"""Fast ransomware recovery with critical and context storage (system `ransomware_recovery`)."""

from sim.systems.ransomware_recovery.model import RansomwareRecovery
from sim.systems.ransomware_recovery.params import RansomwareRecoveryParams

__all__ = ["RansomwareRecovery", "RansomwareRecoveryParams"]
