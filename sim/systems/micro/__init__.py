"""Micro-benchmark systems: one component alone under a synthetic load, checked against theory.

Importing this package registers them: `bandwidth_share` (`SharedBandwidth`), `object_store`
(`ObjectStore`), `rdma_sendqueue` (`rdma.SendQueue`) and `stream_service` (`StreamService`).
Their scenarios are `scenarios/micro_*.yaml`; `sim.runner.theory` validates them against queueing
theory; their params and metrics are documented in `docs/components.md`.
"""

from sim.systems.micro.bandwidth import BandwidthShareMicro
from sim.systems.micro.object_store import ObjectStoreMicro
from sim.systems.micro.rdma_sendqueue import RdmaSendQueueMicro
from sim.systems.micro.stream import StreamServiceMicro

__all__ = ["BandwidthShareMicro", "ObjectStoreMicro", "RdmaSendQueueMicro", "StreamServiceMicro"]
