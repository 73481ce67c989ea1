"""Continuous data protection in the cloud with do and undo streams (system `cdp_streams`)."""

from sim.systems.cdp_streams.data import (
           WriteLog,
           capture_undo,
           roll_back,
           roll_forward,
           same_state,
           state_of_dict,
)
from sim.systems.cdp_streams.model import CdpStreams
from sim.systems.cdp_streams.params import CdpParams, CdpWorkload

__all__ = ["CdpStreams", "CdpParams", "CdpWorkload", "WriteLog", "capture_undo", "roll_back", "roll_forward",
           "same_state", "state_of_dict"]
