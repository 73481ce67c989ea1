"""What the invariant checks against: the production write log (`data.WriteLog`), written by the
production writer alone, independent of the mechanism's bookkeeping (positions, undo, chunks).

Invariant `recovered_volume_equals_oracle`: every volume a recovery claims to have reached equals,
block by block, the production volume after the write it claims (the oracle's state at that write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.systems.cdp_streams.data import same_state, state_of_dict

if TYPE_CHECKING:
    from sim.systems.cdp_streams.model import CdpStreams
    from sim.systems.cdp_streams.recovery import Recovery

INVARIANT = "recovered_volume_equals_oracle"


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
