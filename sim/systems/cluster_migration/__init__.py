"""Dependency-aware migration of data clusters across heterogeneous infrastructures (`cluster_migration`)."""

from sim.systems.cluster_migration.model import ClusterMigration
from sim.systems.cluster_migration.params import ClusterMigrationParams

__all__ = ["ClusterMigration", "ClusterMigrationParams"]
