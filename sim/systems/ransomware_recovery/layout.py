"""The data on the primary: files of records, file types, their critical fields, extents.

Real behaviour it stands for: a file type (a database table, a spreadsheet, a ledger export)
fixes its record structure; some fields of it are critical (account numbers, keys, amounts), the
rest is context. `FileTypes` is that ground truth (the workload's own schema, which the oracle
checks against); `classify` is the mechanism's classifier, which examines a file's structure to
find its critical fields. Records are numbered 0..R-1, file by file; an extent (the block the
ransomware encrypts, on every device) holds `records_per_extent` consecutive records.
Left out: variable-length records, files whose type changes, fields that are critical in some
records of a type only.
"""

from __future__ import annotations

import numpy as np

from sim.systems.ransomware_recovery.params import RansomwareRecoveryParams


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (cheaper than np.unique's hashing)."""
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def popcount(masks: np.ndarray) -> np.ndarray:
    """Set bits of each int64 bit mask (fields_per_record <= 62)."""
    m = masks.astype(np.uint64)
    out = np.zeros(m.shape, dtype=np.int64)
    for _ in range(64):
        if not m.any():
            break
        out += (m & np.uint64(1)).astype(np.int64)
        m = m >> np.uint64(1)
    return out


class FileTypes:
    """Ground truth: each file's type and each type's critical-field bit mask."""

    def __init__(self, p: RansomwareRecoveryParams, rng: np.random.Generator) -> None:
        f = p.fields_per_record
        n_crit = 0 if p.critical_fraction == 0 else max(1, round(p.critical_fraction * f))
        masks = np.zeros(p.file_types, dtype=np.int64)
        for t in range(p.file_types):
            for field in rng.choice(f, size=n_crit, replace=False):
                masks[t] |= np.int64(1) << np.int64(field)
        self.critical_mask = masks  # type -> critical fields
        self.file_type = rng.integers(0, p.file_types, p.files).astype(np.int16)
        self.n_critical = popcount(masks)  # type -> number of critical fields
        self.all_fields = np.int64((1 << f) - 1)

    def truth_of_files(self) -> np.ndarray:
        """Each file's critical-field mask, from its type's definition."""
        return self.critical_mask[self.file_type]


def classify(types: FileTypes, files: np.ndarray, broken: str) -> np.ndarray:
    """The mechanism's classifier: examine each file's structure (its header names its type; the
    type's record layout names the critical fields) and return each file's critical-field mask.

    BROKEN on purpose: `skip_classify` finds no critical field; `misclassify` applies the next
    type's layout."""
    if broken == "skip_classify":
        return np.zeros(len(files), dtype=np.int64)
    ftype = types.file_type[files].astype(np.int64)
    if broken == "misclassify":
        ftype = (ftype + 1) % len(types.critical_mask)
    return types.critical_mask[ftype]


class Layout:
    """Record numbering, extents and the per-record byte counts of each store."""

    def __init__(self, p: RansomwareRecoveryParams) -> None:
        self.records = p.records
        self.rpf = p.records_per_file
        self.record_size = float(p.record_size)
        self.field_size = p.field_size
        self.rpe = max(1, int(p.extent_size // p.record_size))  # records per extent
        self.extents = -(-self.records // self.rpe)

    def extent_of(self, ids: np.ndarray) -> np.ndarray:
        return ids // self.rpe

    def file_of(self, ids: np.ndarray) -> np.ndarray:
        return ids // self.rpf
