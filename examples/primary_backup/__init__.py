"""Worked example: a primary replicating writes to a backup over a link, with periodic snapshots.

A plugin system outside the `sim` package, loaded through a scenario's `plugins:` list
(`plugins: [examples.primary_backup.model]`, run from the repository root). Copy this package
to add a model: see `docs/adding_a_model.md` and this folder's README.md.
"""

from examples.primary_backup.model import PrimaryBackup
from examples.primary_backup.params import PrimaryBackupParams

__all__ = ["PrimaryBackup", "PrimaryBackupParams"]
