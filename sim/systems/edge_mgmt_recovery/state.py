"""Management state of user files: the entry a management file keeps per file, the operations, HLC.

An entry holds what an edge NAS keeps per user file in its management information file (Hitachi
Data Ingestor style): the management `state` (local only, dirty after migration, migrated with a
cached local copy, stubbed, deleted), a change `version` counter, the `size` (KiB), the
`location` of the migrated copy in core storage (an object id) and the file's `name` (a name id;
rename changes it). Per-file state lives in one numpy structured array (17 bytes a file) so that
10 million files fit; only the management files a failure loses are materialised for a rebuild.

`apply_history` is the mechanism's replay of logged operations onto a management file (the
oracle has its own transition code, `oracle.py`). `HybridLogicalClock` is the HLC of Kulkarni et
al. 2014 ("Logical physical clocks", OPODIS 2014), Fig. 5: (l, c) with l >= the physical clock.
"""

from __future__ import annotations

import numpy as np

ENTRY = np.dtype([("state", "u1"), ("version", "u4"), ("size", "u4"), ("location", "u4"), ("name", "u4")],
                 align=False)

# management states (0 is a pre-existing local file: the initial population costs no memory)
LOCAL, DIRTY, MIGRATED, STUB, DELETED = 0, 1, 2, 3, 4
STATE_NAMES = ("local", "dirty", "migrated", "stub", "deleted")
# operations
CREATE, WRITE, RENAME, DELETE, MIGRATE, STUBIFY, RECALL = range(7)
OP_NAMES = ("create", "write", "rename", "delete", "migrate", "stub", "recall")


def valid_op(state: int, op: int) -> int:
    """The operation a client or the tiering daemon can issue on a file in `state` (falls back to a
    create for a deleted file and to a write when the drawn operation does not apply)."""
    if state == DELETED:
        return CREATE
    if op == CREATE:
        return WRITE
    if op == MIGRATE and state not in (LOCAL, DIRTY):
        return WRITE
    if op == STUBIFY and state != MIGRATED:
        return WRITE
    if op == RECALL and state != STUB:
        return WRITE
    return op


def transition(state: int, op: int) -> int:
    """New management state after `op` (total: a replay in the wrong order must not raise)."""
    if op == CREATE:
        return LOCAL
    if op == DELETE:
        return DELETED
    if op == WRITE:
        return DIRTY if state in (MIGRATED, STUB) else state
    if op == MIGRATE:
        return MIGRATED if state in (LOCAL, DIRTY) else state
    if op == STUBIFY:
        return STUB if state == MIGRATED else state
    if op == RECALL:
        return MIGRATED if state == STUB else state
    return state  # rename


def apply_one(table: np.ndarray, i: int, op: int, arg: int) -> None:
    """Apply one operation to entry `i` of `table` (the file system's own metadata update)."""
    e = table[i]
    st, ver, size, loc, name = int(e["state"]), int(e["version"]), int(e["size"]), int(e["location"]), int(e["name"])
    table[i] = _next(st, ver, size, loc, name, op, arg)


def _next(st: int, ver: int, size: int, loc: int, name: int, op: int, arg: int) -> tuple:
    nst = transition(st, op)
    if op in (CREATE, WRITE):
        size = arg
    elif op == MIGRATE and nst == MIGRATED and st != MIGRATED:
        loc = arg
    elif op == RENAME:
        name = arg
    if op == CREATE:
        loc = 0
    return (nst, ver + 1, size, loc, name)


def apply_history(base: np.ndarray, present: np.ndarray, files: np.ndarray, ops: np.ndarray,
                  args: np.ndarray) -> None:
    """Replay an ordered history (`files` relative to the management file) onto `base` in place;
    `present[i]` becomes True for every file the history touches."""
    st = base["state"].tolist()
    ver = base["version"].tolist()
    size = base["size"].tolist()
    loc = base["location"].tolist()
    name = base["name"].tolist()
    for f, op, arg in zip(files.tolist(), ops.tolist(), args.tolist(), strict=True):
        st[f], ver[f], size[f], loc[f], name[f] = _next(st[f], ver[f], size[f], loc[f], name[f], op, arg)
    base["state"], base["version"], base["size"], base["location"], base["name"] = st, ver, size, loc, name
    present[files] = True


class HybridLogicalClock:
    """HLC (Kulkarni et al. 2014): `l` tracks the largest physical time seen, `c` orders events
    within one `l`; every send/local event and every receive advances (l, c)."""

    __slots__ = ("l", "c", "pt")

    def __init__(self, pt) -> None:
        self.pt = pt  # the node's physical clock (callable)
        self.l = 0.0
        self.c = 0

    def send(self) -> tuple[float, int]:
        """A local or send event: returns its timestamp."""
        pt = self.pt()
        if pt > self.l:
            self.l, self.c = pt, 0
        else:
            self.c += 1
        return self.l, self.c

    def recv(self, ts: tuple[float, int]) -> tuple[float, int]:
        """A receive of a message stamped `ts`."""
        ml, mc = ts
        pt = self.pt()
        lo = self.l
        self.l = max(lo, ml, pt)
        if self.l == lo and self.l == ml:
            self.c = max(self.c, mc) + 1
        elif self.l == lo:
            self.c += 1
        elif self.l == ml:
            self.c = mc + 1
        else:
            self.c = 0
        return self.l, self.c
