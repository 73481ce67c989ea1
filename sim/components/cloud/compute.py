"""Cloud compute instance (Amazon EC2 m5.large, Linux, on-demand, by default).

`yield from inst.start()` powers it on and waits the boot delay; it then runs processes
(`inst.process(gen)`) on its vCPU workers (`inst.cpu`, a SimPy resource) until `stop()`, which
interrupts them (their state is volatile). Billing is per second while running with a 60 s
minimum per start. An `outage` fault makes starts fail (InsufficientInstanceCapacity) with
`ServiceUnavailable` after the API round trip; a `crash` stops the instance (processes interrupted).

Abstracted away: instance types beyond their price and vCPU count, the instance's own network and
EBS bandwidth limits (compose a `Link` or volume params), spot interruptions.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy
from pydantic import Field

from sim.components.base import Component, NotRunning, ServiceUnavailable
from sim.components.host import HostDown, ProcessGroup
from sim.core.registry import register
from sim.core.system import Params
from sim.core.units import Duration


class ComputeParams(Params):
    """EC2 m5.large, Linux on-demand, us-east-1 (see docs/calibration.md)."""

    vcpus: int = Field(2, ge=1, description="worker threads the instance runs at once")
    boot_time: Duration = Field(40.0, description="power-on to ready, s")
    api_latency: Duration = Field(0.5, description="a start/stop API call's round trip, s")
    price_per_hour_usd: float = Field(0.096, ge=0)
    min_billed: Duration = Field(60.0, description="minimum billed time per start, s")


@register("components", "compute_instance")
class ComputeInstance(Component):
    """A cloud VM: power-on/boot delay, vCPU workers, cost per hour while running, stop."""

    fault_kinds = ("outage", "crash")
    Params = ComputeParams

    def __init__(self, sim, params: ComputeParams | None = None, name: str = "instance") -> None:
        params = params if params is not None else ComputeParams()
        super().__init__(sim, params, name)
        self.cpu = simpy.Resource(self.env, capacity=params.vcpus)
        self.procs = ProcessGroup(self.env)
        self.running = False
        self.booting = False
        self.start_failures_pending = False
        self._started_at = 0.0
        self.billed_seconds = 0.0
        self.starts = 0
        self.failed_starts = 0

    def start(self) -> Generator[Any, Any, None]:
        """Power on and boot; raises ServiceUnavailable if the provider cannot start it now."""
        if self.running or self.booting:
            return
        yield self.env.timeout(self.params.api_latency)
        if self.start_failures_pending:
            self.failed_starts += 1
            raise ServiceUnavailable(f"{self.name}: insufficient capacity, instance did not start")
        self.booting = True
        self._started_at = self.env.now  # billed from power-on (pending -> running)
        self.starts += 1
        yield self.env.timeout(self.params.boot_time)
        self.booting = False
        if self._started_at is None:  # stopped (crash) during boot
            return
        self.running = True

    def process(self, gen) -> simpy.Process:
        """Run `gen` on this instance (interrupted with HostDown when it stops)."""
        if not self.running:
            raise NotRunning(f"{self.name} is not running")
        return self.procs.start(gen)

    def stop(self, reason: str = "stop") -> None:
        """Power off now: billing stops (60 s minimum), processes are interrupted."""
        if self._started_at is not None and (self.running or self.booting):
            self.billed_seconds += max(self.env.now - self._started_at, self.params.min_billed)
        self.running = False
        self._started_at = None  # type: ignore[assignment]
        self.procs.interrupt_all(HostDown(self.name, reason))
        self.cpu = simpy.Resource(self.env, capacity=self.params.vcpus)

    def running_seconds(self) -> float:
        """Billed seconds so far, counting the current run."""
        cur = 0.0
        if self._started_at is not None and (self.running or self.booting):
            cur = max(self.env.now - self._started_at, self.params.min_billed)
        return self.billed_seconds + cur

    def cost_usd(self) -> dict[str, float]:
        return {"compute_usd": self.running_seconds() / 3600.0 * self.params.price_per_hour_usd}

    # --- faults --------------------------------------------------------------------------------
    def _inject_outage(self, fault: Any) -> None:
        self.start_failures_pending = True

    def _heal_outage(self, fault: Any) -> None:
        self.start_failures_pending = False

    def _inject_crash(self, fault: Any) -> None:
        self.stop("crash")
