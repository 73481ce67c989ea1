"""Persistent-memory image capture with linked indexes (system `pmem_image`); see docs/models/pmem_image.md."""

from sim.systems.pmem_image.frames import FRAME, PageFrames, last_writes, per_write_versions
from sim.systems.pmem_image.model import PmemImage
from sim.systems.pmem_image.oracle import MemoryOracle
from sim.systems.pmem_image.params import MAX_PAGES, PmemImageParams, PmemImageWorkload
from sim.systems.pmem_image.schemes import SCHEMES
from sim.systems.pmem_image.store import (
           AppLog,
           ChainBroken,
           CheckpointChain,
           CopyCheckpoint,
           Image,
           ImageChain,
)

__all__ = ["FRAME", "MAX_PAGES", "SCHEMES", "AppLog", "ChainBroken", "CheckpointChain", "CopyCheckpoint", "Image",
           "ImageChain", "MemoryOracle", "PageFrames", "PmemImage", "PmemImageParams", "PmemImageWorkload",
           "last_writes", "per_write_versions"]
