"""Byte-addressable memory: DRAM and persistent memory (PMEM), with a persistence domain.

An access costs a fixed latency plus its bytes over a channel bandwidth shared equally by the
concurrent accessors (`SharedBandwidth`). The memory also holds contents — a mapping from a
key the model chooses (page id, address, record id) to a value (a version, a payload) — so a
model can check what survives a failure:

- DRAM: a `power_loss` clears everything.
- PMEM: stores are visible at once but become durable only after `persist()` (cache-line
  write-back + fence, cost `flush_latency`; `persist(keys)` writes back only those keys' lines),
  unless `eadr` puts the CPU caches in the persistence domain. A `power_loss` rolls every key written since its last `persist()` back
  to its last durable value (or removes it).

Abstracted away: caches and the CPU's load/store ordering (a model calls `persist()` where
real code would issue clwb+sfence), NUMA, the PMEM 256-byte internal access granularity and
the drop of PMEM write bandwidth with many concurrent writers (use `write_bandwidth` for the
operating point), wear.

Defaults: Yang et al., FAST 2020 (Optane DC PMM, six interleaved DIMMs), see docs/calibration.md.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any

from pydantic import Field

from sim.components.base import Component, SharedBandwidth, pick_fault_keys
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import ByteRate, Duration, PositiveSize

_ABSENT = object()


class MemoryParams(Params):
    """Timing and size of a memory; defaults are DRAM (see `DramParams`, `PmemParams`)."""

    capacity: PositiveSize = Field(192e9, description="bytes (informational; models check their own use)")
    read_latency: Duration = Field(101e-9, description="idle random read latency, s")
    write_latency: Duration = Field(87e-9, description="store latency (ntstore), s")
    read_bandwidth: ByteRate = Field(105.6e9, description="read bandwidth shared by accessors, bytes/s")
    write_bandwidth: ByteRate = Field(76.8e9, description="write bandwidth shared by accessors, bytes/s")
    flush_latency: Duration = Field(57e-9, description="cost of persist(): cache-line write-back + fence, s")
    persistent: bool = Field(False, description="contents survive power loss (PMEM)")
    eadr: bool = Field(False, description="CPU caches in the persistence domain: stores durable at once")


class DramParams(MemoryParams):
    """DRAM (DDR4, six channels): volatile."""


class PmemParams(MemoryParams):
    """Intel Optane DC persistent memory (App Direct, six interleaved DIMMs)."""

    capacity: PositiveSize = Field(1.5e12, description="bytes (6 x 256 GB DIMMs)")
    read_latency: Duration = Field(305e-9, description="idle random read latency, s")
    write_latency: Duration = Field(90e-9, description="store latency (ntstore), s")
    read_bandwidth: ByteRate = Field(37.6e9, description="bytes/s, six interleaved DIMMs")
    write_bandwidth: ByteRate = Field(12.5e9, description="bytes/s, six interleaved DIMMs (clwb)")
    flush_latency: Duration = Field(62e-9, description="clwb + sfence write latency, s")
    persistent: bool = True


class Memory(Component):
    """A memory device: timed `read` / `write` / `persist`, and contents with a persistence domain.

    `read(nbytes)`, `write(nbytes, items)`, `persist()` are SimPy generators (`yield from`).
    `get`, `put`, `delete`, `items` touch the contents without simulated time (for models that
    account time separately, e.g. a bulk copy priced once).
    """

    fault_kinds = ("power_loss", "corrupt_data")

    def __init__(self, sim, params: MemoryParams | None = None, name: str = "memory") -> None:
        params = params if params is not None else MemoryParams()
        super().__init__(sim, params, name)
        env = self.env
        self.read_channel = SharedBandwidth(env, params.read_bandwidth)
        self.write_channel = SharedBandwidth(env, params.write_bandwidth)
        self.data: dict[Any, Any] = {}
        self._undo: dict[Any, Any] = {}  # key -> last durable value (or _ABSENT) for unpersisted stores
        self.power_losses = 0
        self.bytes_read = 0.0
        self.bytes_written = 0.0

    @property
    def durable_immediately(self) -> bool:
        return self.params.persistent and self.params.eadr

    # --- timed operations ----------------------------------------------------------------------
    def read(self, nbytes: float) -> Generator[Any, Any, None]:
        """Read `nbytes`: latency, then the bytes at this accessor's share of the read bandwidth."""
        p = self.params
        if p.read_latency:
            yield self.env.timeout(p.read_latency)
        yield self.read_channel.transfer(nbytes)
        self.bytes_read += nbytes

    def write(self, nbytes: float, items: dict[Any, Any] | None = None) -> Generator[Any, Any, None]:
        """Store `nbytes`; `items` (key -> value) become visible when the write completes.

        On PMEM they are durable only after `persist()` (unless `eadr`).
        """
        p = self.params
        if p.write_latency:
            yield self.env.timeout(p.write_latency)
        yield self.write_channel.transfer(nbytes)
        self.bytes_written += nbytes
        if items:
            self.put_many(items)

    def persist(self, keys: Iterable[Any] | None = None) -> Generator[Any, Any, None]:
        """Make every store so far durable (clwb + sfence); on DRAM it costs the same and saves nothing.

        `keys`: a ranged persist (clwb of the lines holding those keys only, then sfence): the
        other unpersisted stores stay volatile.
        """
        if self.params.flush_latency:
            yield self.env.timeout(self.params.flush_latency)
        self.persist_now(keys)

    # --- contents ------------------------------------------------------------------------------
    def get(self, key: Any, default: Any = None) -> Any:
        return self.data.get(key, default)

    def put(self, key: Any, value: Any) -> None:
        """Store without simulated time (durability rules as `write`)."""
        if self.params.persistent and not self.params.eadr and key not in self._undo:
            self._undo[key] = self.data.get(key, _ABSENT)
        self.data[key] = value

    def put_many(self, items: dict[Any, Any]) -> None:
        for k, v in items.items():
            self.put(k, v)

    def delete(self, key: Any) -> None:
        if key in self.data:
            if self.params.persistent and not self.params.eadr and key not in self._undo:
                self._undo[key] = self.data[key]
            del self.data[key]

    def items(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.data.items())

    def persist_now(self, keys: Iterable[Any] | None = None) -> None:
        """Make every store so far durable (or only those to `keys`), without simulated time."""
        if keys is None:
            self._undo.clear()
            return
        for k in keys:
            self._undo.pop(k, None)

    @property
    def unpersisted(self) -> int:
        """Keys stored since the last persist (lost on power loss)."""
        return len(self._undo)

    def durable_view(self) -> dict[Any, Any]:
        """What the contents would be after a power loss now."""
        if not self.params.persistent:
            return {}
        out = dict(self.data)
        for k, old in self._undo.items():
            if old is _ABSENT:
                out.pop(k, None)
            else:
                out[k] = old
        return out

    # --- faults --------------------------------------------------------------------------------
    def power_loss(self) -> None:
        """Power fails: DRAM contents are gone; PMEM keeps what was persisted."""
        self.power_losses += 1
        self.data = self.durable_view()
        self._undo.clear()
        # accesses in flight do not complete meaningfully; the node owning this memory stops them

    def _inject_power_loss(self, fault: Any) -> None:
        self.power_loss()

    def _inject_corrupt_data(self, fault: Any) -> None:
        """Mark a stored value corrupt: `params.key` (one key) or `params.count` keys chosen at random."""
        for k in pick_fault_keys(self, fault, self.data):
            self.data[k] = Corrupted(self.data[k])


class Corrupted:
    """A stored value whose checksum no longer matches (wraps the original for diagnostics)."""

    __slots__ = ("original",)

    def __init__(self, original: Any) -> None:
        self.original = original

    def __repr__(self) -> str:
        return f"Corrupted({self.original!r})"


@register("components", "dram")
class DRAM(Memory):
    """DRAM: byte-addressable, volatile (contents lost on power loss)."""

    Params = DramParams

    def __init__(self, sim, params: DramParams | None = None, name: str = "dram") -> None:
        super().__init__(sim, params if params is not None else DramParams(), name)


@register("components", "pmem")
class PMEM(Memory):
    """Persistent memory (Optane DC PMM): byte-addressable, durable after persist()."""

    Params = PmemParams

    def __init__(self, sim, params: PmemParams | None = None, name: str = "pmem") -> None:
        super().__init__(sim, params if params is not None else PmemParams(), name)
