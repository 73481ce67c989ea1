"""The critical store's lookup server: each tag resolved by its own request.

Real behaviour it stands for: the isolated critical store is a key-value server in front of its
device. A tag names a critical entry (record, field, version); resolving it is one request: the
server spends `vault_lookup_time` of a worker thread on it (parse, index lookup, reply; a Redis
GET is ~12 us of one thread, see the model's doc), then reads the field from its device (one
command through the device's queue and IOPS gate, each command booked). The requests of one record are issued
together (after the one `vault_rtt`): they queue FIFO for the `vault_threads` threads, so under
load the lookups of a record with more critical fields wait longer, and a record's reads per
second are bounded by threads / (tags x lookup time) and by the device's IOPS / tags.
Bulk lookups (re-copies of many records) are handed to the threads in groups of `GROUP`
requests (a pipelined batch), so other requests interleave at most a group apart.
Left out: the server's own network stack (in `vault_rtt`), caching of hot entries.
"""

from __future__ import annotations

import simpy

from sim.systems.ransomware_recovery.nodes import ArrayNode

GROUP = 64  # lookups per thread hold in a bulk batch


class VaultServer:
    """Worker threads of the critical store's server; `resolve` is the lookups of a set of tags."""

    def __init__(
        self, env: simpy.Environment, node: ArrayNode, threads: int, lookup_time: float, entry_bytes: float
    ) -> None:
        self.env = env
        self.node = node
        self.threads = simpy.Resource(env, capacity=threads)
        self.lookup_time = lookup_time
        self.entry_bytes = entry_bytes  # a critical field and its key
        self.lookups = 0

    def resolve(self, tags: int):
        """Resolve `tags` tags, each its own request, issued together; returns when all are answered."""
        env = self.env
        self.lookups += tags
        if tags == 1:
            yield from self._request(1)
            return
        if tags > GROUP:
            procs = [env.process(self._request(min(GROUP, tags - i))) for i in range(0, tags, GROUP)]
        else:
            procs = [env.process(self._request(1)) for _ in range(tags)]
        yield env.all_of(procs)

    def _request(self, n: int):
        """`n` lookups on one thread, then their device reads (one command each)."""
        env = self.env
        if self.lookup_time > 0:
            with self.threads.request() as req:
                yield req
                yield env.timeout(n * self.lookup_time)
        disk = self.node.disk
        for _ in range(n):
            yield from disk.read(self.entry_bytes)
