"""The critical store and the context store of the split backup, record by record.

Real behaviour it stands for: the critical store (an isolated device) keeps each record's critical
fields under a key (record, field) with the version they belong to; the context store keeps the
rest of each record, with a tag in place of every critical field; a tag names the critical entry
(record, field, version). The critical store keeps the previous version of a record's critical
fields until the context write of the new one is durable (`pending`, durable), so that a crash
between the two writes leaves a context entry whose tags still resolve. Contents are arrays:
`crit_ver` (version held for the record's critical fields), `ctx_ver` (version of the context
entry, which its tags name) and `ctx_subst` (tags were substituted for the classified fields).
Left out: per-field versions (all of a record's critical fields are written together), the
critical store's own encryption and access control.
"""

from __future__ import annotations

import numpy as np

from sim.systems.ransomware_recovery.layout import FileTypes, Layout, classify, popcount, sorted_unique
from sim.systems.ransomware_recovery.nodes import ArrayNode
from sim.systems.ransomware_recovery.oracle import GARBAGE, LOST


class SplitStores:
    """Contents of the critical and context stores (seeded with the initial load, version 0)."""

    def __init__(self, layout: Layout, types: FileTypes, files: int, broken: str, vault: ArrayNode,
                 context: ArrayNode) -> None:
        n = layout.records
        self.layout = layout
        self.types = types
        self.broken = broken
        self.vault = vault
        self.context = context
        self.file_mask = classify(types, np.arange(files), broken)  # what the classifier found, per file
        self.n_tags = popcount(self.file_mask)  # per file
        self.crit_ver = np.zeros(n, dtype=np.int32)
        self.ctx_ver = np.zeros(n, dtype=np.int32)
        # tags substituted, per record: true everywhere unless substitution is skipped (BROKEN on
        # purpose), so an array (100 MB at 100 M records) is kept only then
        self.ctx_subst: np.ndarray | None = np.zeros(n, dtype=bool) if broken == "skip_tag_substitution" else None
        self.pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # batch -> (ids, previous crit versions)
        self._next_batch = 0

    # --- the split write ---------------------------------------------------------------------------
    def critical_begin(self, ids: np.ndarray) -> int:
        """Keep the current critical versions of `ids` as their previous slot (durable)."""
        prev = self.crit_ver[ids].copy()
        if self.pending:  # a torn earlier write: keep the slot that matches the context entry
            ok = self._in_pending(ids, self.ctx_ver[ids])
            prev[ok] = self.ctx_ver[ids][ok]
        key = self._next_batch
        self._next_batch += 1
        self.pending[key] = (ids, prev)
        return key

    def critical_commit(self, ids: np.ndarray, vers: np.ndarray) -> None:
        self.crit_ver[ids] = vers

    def context_commit(self, ids: np.ndarray, vers: np.ndarray, substituted: bool) -> None:
        self.ctx_ver[ids] = vers
        if self.ctx_subst is not None:
            self.ctx_subst[ids] = substituted
        elif not substituted:  # the first write without substitution: keep the array from now on
            self.ctx_subst = np.ones(self.layout.records, dtype=bool)
            self.ctx_subst[ids] = False

    def release(self, key: int) -> None:
        self.pending.pop(key, None)

    def _in_pending(self, ids: np.ndarray, vers: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(ids), dtype=bool)
        for pid, pver in self.pending.values():
            order = np.argsort(pid)
            sid, sver = pid[order], pver[order]
            pos = np.clip(np.searchsorted(sid, ids), 0, max(len(sid) - 1, 0))
            if len(sid):
                hit |= (sid[pos] == ids) & (sver[pos] == vers)
        return hit

    # --- reading a record back ---------------------------------------------------------------------
    def read_records(self, ids: np.ndarray) -> np.ndarray:
        """Each record reassembled: its context entry with every tag resolved against the critical
        store. A tag resolves only to the critical entry of the version it names (current or
        previous slot); a record that cannot be reassembled is `LOST` (declared), never guessed."""
        ctx = self.ctx_ver[ids]
        files = self.layout.file_of(ids)
        tagged = self.n_tags[files] > 0
        if self.ctx_subst is not None:
            tagged &= self.ctx_subst[ids]
        if self.broken == "skip_tag_resolution":  # BROKEN on purpose: tags handed out as data
            vals = np.where(tagged, GARBAGE, ctx)
        elif self.broken == "skip_tag_version_check":  # BROKEN on purpose: whatever the slot holds
            vals = np.where(~tagged | (self.crit_ver[ids] == ctx), ctx, GARBAGE)
        else:
            resolved = (self.crit_ver[ids] == ctx)
            if self.pending:
                resolved |= self._in_pending(ids, ctx)
            vals = np.where(~tagged | resolved, ctx, LOST)
        if self.context.encrypted_bytes or self.vault.encrypted_bytes:
            ext = sorted_unique(self.layout.extent_of(ids))  # ids are sorted
            bad = ext[self.context.encrypted(ext) | self.vault.encrypted(ext)]
            if len(bad):
                vals = np.where(np.isin(self.layout.extent_of(ids), bad), LOST, vals)
        return vals

    # --- what the stores hold ------------------------------------------------------------------------
    def critical_bytes_in_context(self) -> float:
        """Bytes of truly critical fields (by the file types' definitions) stored in clear in the context store."""
        lay = self.layout
        truth = self.types.truth_of_files()
        leaked_subst = popcount(truth & ~self.file_mask)  # per file, records with tags substituted
        leaked_plain = popcount(truth)  # per file, records stored without substitution
        subst_per_file = (np.full(len(truth), lay.rpf) if self.ctx_subst is None
                          else self.ctx_subst.reshape(-1, lay.rpf).sum(axis=1))
        fields = (leaked_subst * subst_per_file + leaked_plain * (lay.rpf - subst_per_file)).sum()
        return float(fields) * lay.field_size

    def bytes_stored(self, tag_size: float, key_size: float) -> tuple[float, float]:
        """(critical store bytes, context store bytes) for the records as stored."""
        lay = self.layout
        tags = float(self.n_tags.sum()) * lay.rpf  # critical fields stored, in all
        crit = tags * (lay.field_size + key_size)
        ctx = lay.records * lay.record_size - tags * lay.field_size + tags * tag_size
        return crit, ctx

    def critical_bytes_of(self, ids: np.ndarray) -> float:
        return float(self.n_tags[self.layout.file_of(ids)].sum()) * self.layout.field_size
