"""Cloud service models: object store, block volume, snapshot service, stream service, compute instance.

Defaults are AWS (S3 Standard, EBS gp3 and snapshots, Kinesis Data Streams provisioned, EC2
m5.large) in us-east-1; every figure and price, with its source and date, is in docs/calibration.md.
"""

from sim.components.cloud.compute import ComputeInstance, ComputeParams
from sim.components.cloud.object_store import ObjectStore, ObjectStoreParams, StoredObject, prefix_of
from sim.components.cloud.snapshot import Snapshot, SnapshotParams, SnapshotService
from sim.components.cloud.stream import Record, StreamParams, StreamService
from sim.components.cloud.volume import CloudVolume, VolumeParams

__all__ = [
    "CloudVolume", "ComputeInstance", "ComputeParams", "ObjectStore", "ObjectStoreParams", "Record",
    "Snapshot", "SnapshotParams", "SnapshotService", "StoredObject", "StreamParams", "StreamService",
    "VolumeParams", "prefix_of",
]
