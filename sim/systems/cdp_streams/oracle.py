"""What the invariant checks against: the production write log (`data.WriteLog`), written by the
production writer alone, independent of the mechanism's bookkeeping (positions, undo, chunks).

Invariant `recovered_volume_equals_oracle`: every volume a recovery claims to have reached equals,
block by block, the production volume after the write it claims (the oracle's state at that write).

Invariant `replica_equals_oracle_at_applied`: the replica itself (the volume's contents, or the
chunk objects the committed chunk map names, read from the object store) equals the oracle after
the write the mechanism claims to have applied. Checked after every apply the instance crashed in
(before any later write can overwrite what a crash lost), when a recovery takes the replica over,
and at the end of the run. Skipped while writes are lost from the do stream (the replica then
legitimately lacks them; recoveries past the loss are refused, not claimed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.systems.cdp_streams.data import same_state, state_of_dict

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams
    from sim.systems.cdp_streams.recovery import Recovery

INVARIANT = "recovered_volume_equals_oracle"
REPLICA_INVARIANT = "replica_equals_oracle_at_applied"


def check_replica(m: CdpStreams, when: str) -> bool | None:
    """Compare the replica (as stored, `variant.replica_state`) with the oracle at `m.applied`;
    record a violation if they differ. None: not checked (writes lost, or the replica unreadable)."""
    if m.writes_lost or m.records_expired:
        return None
    data = m.variant.replica_state(m)
    if data is None:
        return None
    applied = m.applied
    ok, ndiff = same_state(state_of_dict(data), m.log.state(applied))
    m.replica_checks += 1
    if not ok:
        m.violation_log.add(
            REPLICA_INVARIANT,
            f"{m.params.variant}: replica {when} differs from the oracle at the applied write {applied} "
            f"in {ndiff} blocks", m.env.now, applied=applied, differing_blocks=ndiff)
    return ok


def verify_recovery(m: CdpStreams, r: Recovery, data: dict) -> None:
    """Compare the recovered `{block: version}` volume with the oracle at `r.point_seq`; record a
    violation in the model's log if they differ."""
    ok, ndiff = same_state(state_of_dict(data), m.log.state(r.point_seq))
    r.matched, r.differing = ok, ndiff
    now = m.env.now
    if not ok:
        m.violation_log.add(
            INVARIANT,
            f"{m.params.variant}: volume recovered to write {r.point_seq} (t={r.point_time:.3f} s, {r.kind}) "
            f"differs from the oracle in {ndiff} blocks", now,
            point_seq=r.point_seq, differing_blocks=ndiff)
    m.sim.note("recovered", kind=r.kind, point_write=r.point_seq, rto_s=r.rto, matches_oracle=ok)
