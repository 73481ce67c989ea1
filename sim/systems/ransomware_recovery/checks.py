"""The invariants, checked against the oracle (never against the stores' or backups' own records).

- `check_restored` (when the copy-back or rollback completes): every record on the primary is
  its last value committed before the attack (or a later committed one), or is counted lost
  (restored older: `stale`; declared unrecoverable: `lost`); anything else (encrypted, torn,
  unresolved, never copied) is `wrong`, a violation. For the mechanism a loss is also a
  violation unless the stores it would come from were themselves encrypted, and every record must
  hold exactly its latest committed value when the applications move back to the primary.
- `check_end_state` (end of run): the context store holds no critical field; after the split
  backup's restore the primary holds every committed value (writes after it included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.systems.ransomware_recovery.oracle import GARBAGE, LOST, NOT_RESTORED

if TYPE_CHECKING:
    from sim.systems.ransomware_recovery.model import RansomwareRecovery

CHUNK = 1 << 20  # records per check pass (4 M: ~60 MB more peak RSS at 100 M records, measured)


def check_restored(system: RansomwareRecovery) -> tuple[float, float]:
    """(records lost, records wrong) of the primary as just restored; violations recorded."""
    oracle, vals, log, now = system.oracle, system.prim_ver, system.violation_log, system.env.now
    split = system.params.variant == "split_backup"
    lost = wrong = 0
    for a in range(0, len(vals), CHUNK):
        ids = np.arange(a, min(a + CHUNK, len(vals)))
        v = vals[ids]
        j = oracle.judge(ids, v)
        n_stale, n_lost, n_wrong = int(j["stale"].sum()), int(j["lost"].sum()), int(j["wrong"].sum())
        lost += n_stale + n_lost
        wrong += n_wrong
        if n_wrong:
            r = int(ids[j["wrong"]][0])
            garbage = int((v[j["wrong"]] == GARBAGE).sum())
            never = int((v[j["wrong"]] == NOT_RESTORED).sum())
            name = "encrypted_never_restored_as_data" if garbage and not split else "restored_equals_oracle"
            log.add(name, f"{n_wrong} record(s) restored wrong ({garbage} garbage, {never} never copied), e.g. "
                    f"record {r}: {int(v[r - a])}, pre-attack {int(oracle.pre_attack(np.array([r]))[0])}",
                    now, count=n_wrong, record=r)
        if split and n_stale:
            r = int(ids[j["stale"]][0])
            log.add("committed_record_lost", f"{n_stale} record(s) restored to an older version than committed "
                    f"before the attack, e.g. record {r}", now, count=n_stale, record=r)
        if split:
            behind = (v >= 0) & (v != oracle.latest[ids])
            if behind.any():
                behind &= ~oracle._abandoned(ids, v)
            if behind.any():
                r = int(ids[behind][0])
                log.add("primary_equals_oracle_at_switch_back", f"{int(behind.sum())} record(s) on the primary "
                        f"differ from the last committed value when the applications move back, e.g. record {r}: "
                        f"{int(v[r - a])} vs {int(oracle.latest[r])}", now, count=int(behind.sum()), record=r)
        if split and n_lost:
            unexplained = _unexplained_losses(system, ids[j["lost"]])
            if unexplained:
                log.add("committed_record_lost", f"{unexplained} record(s) declared unrecoverable though the "
                        "stores holding them were not encrypted", now, count=unexplained)
    return float(lost), float(wrong)


def _unexplained_losses(system: RansomwareRecovery, ids: np.ndarray) -> int:
    ext = system.layout.extent_of(ids)
    u = np.unique(ext)
    hit = system.context_store.encrypted(u) | system.vault.encrypted(u)
    return int((~np.isin(ext, u[hit])).sum())


def check_end_state(system: RansomwareRecovery) -> None:
    log, now = system.violation_log, system.env.now
    if system.stores is not None:
        leak = system.stores.critical_bytes_in_context()
        if leak > 0:
            log.add("context_holds_no_critical_field", f"{leak:.0f} bytes of critical fields stored in clear in "
                    "the context store", now, bytes=leak)
    if system.phase != "done" or system.params.variant != "split_backup":
        return
    vals, latest = system.prim_ver, system.oracle.latest
    for a in range(0, len(vals), CHUNK):
        ids = np.arange(a, min(a + CHUNK, len(vals)))
        v = vals[ids]
        bad = (v != latest[ids]) & (v != LOST)
        if bad.any():
            bad &= ~system.oracle._abandoned(ids, v)
        if bad.any():
            r = int(ids[bad][0])
            log.add("primary_equals_oracle_at_end", f"{int(bad.sum())} record(s) on the restored primary differ "
                    f"from the last committed value, e.g. record {r}: {int(v[r - a])} vs {int(latest[r])}",
                    now, count=int(bad.sum()), record=r)
