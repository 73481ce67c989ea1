"""`db_pitr`: point-in-time recovery of a partitioned database with several coordinators (model.py)."""

from sim.systems.db_pitr.model import DbPitr
from sim.systems.db_pitr.params import DbPitrParams
from sim.systems.db_pitr.variants import VARIANTS

__all__ = ["VARIANTS", "DbPitr", "DbPitrParams"]
