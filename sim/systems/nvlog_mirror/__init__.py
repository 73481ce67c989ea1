"""NVLog mirroring over RDMA with a send-queue reservation system (system `nvlog_mirror`).

Importing the package registers the system (`model`). Modules: `params` (Params, Workload),
`model` (the composition), the actors `client`, `write_transaction`, `completion_handler`,
`partner` (the HA partner and its apply thread), `primary` (the primary node), `recovery`
(takeover, degraded mode, restart, resync), `variants` (reservation vs blocking post; ack policies),
`oracle` (acknowledged LSNs against the NVLogs), `wait_for` (the deadlock detector's graph),
`metrics`. Description: docs/models/nvlog_mirror.md.
"""

from sim.systems.nvlog_mirror.completion_handler import COMPLETIONS
from sim.systems.nvlog_mirror.model import NvlogMirror
from sim.systems.nvlog_mirror.params import NvlogParams, NvlogWorkload
from sim.systems.nvlog_mirror.write_transaction import Write

__all__ = ["COMPLETIONS", "NvlogMirror", "NvlogParams", "NvlogWorkload", "Write"]
