"""Object-store requests of the apply and recovery instances: retried with backoff when throttled or
unavailable, lost or corrupt objects raised; several at a time up to `chunk_workers`. Shared by the
chunk uploads (`chunks`), their repair (`repair`) and the recoveries (`recovery`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from sim.components.base import CorruptData, NoSuchKey, ServiceUnavailable, Throttled
from sim.core.process import bounded_parallel, retry
from sim.systems.cdp_streams.limits import InstanceLink

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams

#: object errors that end one request of a parallel batch (the others go on)
DAMAGED = (NoSuchKey, CorruptData)


def obj_request(m: CdpStreams, op: str, key: str, nbytes: float = 0.0, value: Any = None,
                recovery: bool = False, link: InstanceLink | None = None) -> Generator:
    """An object request with retries on throttling/outage; lost or corrupt objects raise. `link`:
    the instance making it, whose network bandwidth its bytes share with its other requests."""
    store = m.store

    def once() -> Generator:
        via = link.network() if link is not None else None
        if op == "get":
            m.recovery_gets += recovery
            return (yield from store.get(key, via=via))
        return (yield from store.put(key, nbytes, value, via=via))

    def count(_e: BaseException) -> None:
        m.object_errors += 1

    return (yield from retry(m.env, once, (Throttled, ServiceUnavailable), m.backoff, count))


def parallel(m: CdpStreams, items: list, fn) -> Generator:
    """`fn(item)` for every item, `chunk_workers` requests at a time: (results in order, errors)."""
    return (yield from bounded_parallel(m.env, items, fn, m.params.chunk_workers, DAMAGED))
