"""The cloud instance's own limits (issue 17, item 9): its network bandwidth, shared by every object
request it makes (chunk GETs and PUTs), and its EBS bandwidth and IOPS, which cap the I/O of the
volumes attached to it together with the volumes' own gp3 limits.

Both are "up to" figures on the instance sizes used (m5.large, m5.xlarge): a baseline the instance
sustains and a burst it can hold for a limited time (`BurstRate`). The burst allowance is a
credit of bytes above the baseline (`burst_time` of bursting), drawn while the instance moves more
than its baseline and refilled at a constant rate so that it fills again in `refill_period`
(the documented guarantee, "at least once every 24 hours" for EBS; AWS publishes no finer
mechanism, so this bucket is an **assumption**). A newly launched instance starts with a full
allowance; the apply instance keeps its allowance across its stop/start cycles.

Abstracted away: packets-per-second and tracked-connection allowances, the 5 Gb/s single-flow limit
(one object request is 90 MB/s), the do/undo stream reads over the network (at most 2 MiB/s per
shard), and the joint EBS cap of the appliance's two volumes (each is capped at the instance's rate;
its I/O is below 1 MB/s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.components.base import SharedBandwidth

if TYPE_CHECKING:
    import simpy

    from sim.components.cloud import CloudVolume
    from sim.systems.cdp_streams.params import InstanceLimits


class BurstRate:
    """A rate with a baseline and a time-limited burst: `rate()` is the burst while credit remains."""

    __slots__ = (
        "env",
        "baseline",
        "burst",
        "max_credit",
        "credit",
        "refill",
        "_t",
        "_moved",
        "_seen",
        "exhausted_at",
    )

    def __init__(
        self, env: simpy.Environment, baseline: float, burst: float, burst_time: float, refill_period: float
    ) -> None:
        self.env = env
        self.baseline = float(baseline)
        self.burst = float(max(burst, baseline))
        self.max_credit = (self.burst - self.baseline) * burst_time  # bytes above the baseline
        self.credit = self.max_credit
        self.refill = self.max_credit / refill_period
        self._t = env.now
        self._moved = 0.0  # bytes moved in total (the caller adds them)
        self._seen = 0.0  # ... as of the last update
        self.exhausted_at: float | None = None  # first time the burst ran out (None: never)

    def add(self, nbytes: float) -> None:
        """Count bytes the instance moved."""
        self._moved += nbytes

    def update(self) -> None:
        """Draw the credit for the bytes moved since the last update above the baseline; refill."""
        now = self.env.now
        dt = now - self._t
        if dt <= 0 and self._moved == self._seen:
            return
        excess = (self._moved - self._seen) - self.baseline * dt
        self.credit = min(self.max_credit, self.credit + self.refill * dt - max(0.0, excess))
        if self.credit <= 0.0 and self.exhausted_at is None and self.max_credit > 0:
            self.exhausted_at = now
        self._t = now
        self._seen = self._moved

    def rate(self) -> float:
        """The rate the instance can move now (bytes/s)."""
        return self.burst if self.credit > 0.0 else self.baseline

    def bursting(self) -> bool:
        return self.credit > 0.0


class InstanceLink:
    """One instance's network (a `SharedBandwidth` every object request shares, each request at most
    `connection_throughput`) and EBS budgets (bandwidth and IOPS, burst state from the bandwidth)."""

    __slots__ = ("net_budget", "nic", "ebs", "ebs_iops_baseline", "ebs_iops_burst")

    def __init__(self, env: simpy.Environment, lim: InstanceLimits, connection_throughput: float) -> None:
        self.net_budget = BurstRate(
            env, lim.network_baseline, lim.network_burst, lim.network_burst_time, lim.refill_period
        )
        self.nic = SharedBandwidth(env, self.net_budget.rate(), per_flow_cap=connection_throughput)
        self.ebs = BurstRate(env, lim.ebs_baseline, lim.ebs_burst, lim.ebs_burst_time, lim.refill_period)
        self.ebs_iops_baseline = lim.ebs_iops_baseline
        self.ebs_iops_burst = lim.ebs_iops_burst

    def network(self) -> SharedBandwidth:
        """The NIC, its capacity brought up to date with the burst credit (before a request)."""
        b = self.net_budget
        b._moved = self.nic.bytes_done
        b.update()
        r = b.rate()
        if r != self.nic.capacity:
            self.nic.set_capacity(r)
        return self.nic

    def ebs_limits(self) -> tuple[float, float]:
        """(IOPS, bytes/s) the instance's EBS connection allows now."""
        e = self.ebs
        e.update()
        return (self.ebs_iops_burst if e.bursting() else self.ebs_iops_baseline), e.rate()

    def cap_volume(self, vol: CloudVolume) -> tuple[float, float]:
        """The volume's effective (IOPS, bytes/s) on this instance: its own gp3 limits capped by the
        instance's EBS limits; the volume's shared channel is set to that throughput."""
        iops, rate = self.ebs_limits()
        vp = vol.params
        thr = min(vp.throughput, rate)
        if vol.read_channel.capacity != thr:
            vol.read_channel.set_capacity(thr)
        return min(vp.iops, iops), thr


def attach_link(vol: CloudVolume, link: InstanceLink) -> None:
    """`vol` is attached to the instance whose limits are `link` (its I/O is capped by them)."""
    vol.link = link  # type: ignore[attr-defined]
    link.cap_volume(vol)
