"""Fault kinds and the schema of a scenario's `faults:` entries.

Each entry names a `kind`, a `target` (a name from the system's `fault_targets()`, or a pattern
such as `node[*]` or `disk*` expanding to every matching name) and *when*: either `at:` (a
duration, or a distribution `{dist: uniform, low: 1s, high: 9s}` drawn from the stream
`faults[i]`), `mtbf:` / `mttr:` (recurring failures per target: exponential times between
failures and repair times), or `point:` (a named fault point of the model, with `hit: n` for its
n-th hit or `probability: p` for each hit, at most `times` strikes). Kind-specific keys (`restart_after`, `duration`, `latency_factor`,
`rate`, ...) are validated by the kind's model below and resolved to SI units; duration-valued
keys may be distributions too. `lose_data`, `corrupt_data` and `ransomware` pass unknown keys
through to the model unchanged (model-specific choices such as `what:` or `count:`).

The resolved form (plain JSON, SI floats) is itself valid input, so a resolved scenario from a
manifest validates again to the same thing.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sim.core.registry import register
from sim.core.units import ByteRate, Duration, PositiveDuration, to_seconds

# --- distributions of times -----------------------------------------------------------------------
# name -> (keys that are durations, keys that are plain numbers)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "exponential": (("mean",), ()),
    "normal": (("mean", "sd"), ()),  # truncated at 0
    "lognormal": (("median",), ("sigma",)),
    "triangular": (("low", "mode", "high"), ()),
}


def _dist(raw: dict) -> dict[str, Any]:
    """Validate a `{dist: name, ...}` mapping and resolve its durations to seconds."""
    name = raw.get("dist")
    if name not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {name!r}; use one of {', '.join(DISTRIBUTIONS)}")
    times, plain = DISTRIBUTIONS[name]
    keys = set(raw) - {"dist"}
    want = set(times) | set(plain)
    if keys != want:
        missing = sorted(want - keys)
        extra = sorted(keys - want)
        what = "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                     f"unknown {', '.join(extra)}" if extra else "") if x)
        raise ValueError(f"distribution {name!r} takes {', '.join(times + plain)}: {what}")
    out: dict[str, Any] = {"dist": name}
    for k in times:
        v = to_seconds(raw[k])
        if v < 0:
            raise ValueError(f"{k} must be >= 0")
        out[k] = v
    for k in plain:
        v = raw[k]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{k} must be a finite number >= 0")
        out[k] = float(v)
    if name in ("uniform", "triangular") and out["low"] > out["high"]:
        raise ValueError("low must be <= high")
    if name == "triangular" and not out["low"] <= out["mode"] <= out["high"]:
        raise ValueError("mode must lie between low and high")
    return out


def _time_or_dist(value: Any) -> Any:
    if isinstance(value, dict):
        return _dist(value)
    v = to_seconds(value)
    if v < 0:
        raise ValueError("must be >= 0")
    return v


def _signed_seconds(value: Any) -> float:
    return to_seconds(value[1:]) * -1 if isinstance(value, str) and value.strip().startswith("-") \
        else to_seconds(value)


TimeOrDist = Annotated[float | dict, BeforeValidator(_time_or_dist)]
SignedDuration = Annotated[float, BeforeValidator(_signed_seconds)]


def draw(value: float | dict | None, rng) -> float | None:
    """A concrete time from a resolved value: a number as is, a distribution drawn from `rng`."""
    if value is None or not isinstance(value, dict):
        return value
    d = value["dist"]
    if d == "constant":
        return value["value"]
    if d == "uniform":
        return float(rng.uniform(value["low"], value["high"]))
    if d == "exponential":
        return float(rng.exponential(value["mean"])) if value["mean"] > 0 else 0.0
    if d == "normal":
        return max(0.0, float(rng.normal(value["mean"], value["sd"])))
    if d == "lognormal":
        return float(value["median"] * math.exp(value["sigma"] * rng.standard_normal()))
    if d == "triangular":
        if value["low"] == value["high"]:
            return value["low"]
        return float(rng.triangular(value["low"], value["mode"], value["high"]))
    raise ValueError(f"unknown distribution {d!r}")  # pragma: no cover - rejected at validation


# --- fault kinds ---------------------------------------------------------------------------------
class FaultSpec(BaseModel):
    """Keys common to every fault entry."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: str
    target: str = Field(min_length=1, description="component name or pattern (node[*], disk*)")
    at: TimeOrDist | None = Field(None, description="when it strikes: a duration or a distribution")
    mtbf: PositiveDuration | None = Field(None, description="recurring: mean time between failures (exponential)")
    mttr: PositiveDuration | None = Field(None, description="recurring: mean time to repair (exponential)")
    after: Duration = Field(0.0, description="recurring: failures start after this time")
    until: Duration | None = Field(None, description="recurring: no new failure after this time")
    targets: list[str] | None = Field(None, description="resolved: the names the target expands to")
    point: str | None = Field(None, min_length=1, description="strike at a hit of this fault point (instead of `at`)")
    hit: int | None = Field(None, ge=1, description="with `point`: strike at its hit number `hit` (1: the first)")
    probability: float | None = Field(None, gt=0.0, le=1.0, description="with `point`: strike at each hit with "
                                      "this probability")
    times: int = Field(1, ge=1, description="with `point` and `probability`: strike at most this many times")

    #: the kind-specific key holding the time until the fault heals (None: instantaneous kind)
    heal_key: ClassVar[str | None] = "duration"
    #: kind-specific keys whose value may be a distribution (drawn at schedule time)
    drawn_keys: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _when(self):
        if sum(x is not None for x in (self.at, self.mtbf, self.point)) != 1:
            raise ValueError("give exactly one of `at` (one fault), `mtbf` (recurring faults) or `point` "
                             "(at a fault point)")
        if self.point is not None and (self.hit is None) == (self.probability is None):
            raise ValueError("a fault at a `point` needs exactly one of `hit` (its n-th hit) or `probability`")
        if self.point is None and (self.hit is not None or self.probability is not None or self.times != 1):
            raise ValueError("`hit`, `probability` and `times` go with `point`")
        if self.hit is not None and self.times != 1:
            raise ValueError("`times` goes with `probability` (a `hit` strikes once)")
        if self.mttr is not None and self.mtbf is None:
            raise ValueError("`mttr` goes with `mtbf`")
        if self.mttr is not None and self.heal_key is None:
            raise ValueError(f"a {self.kind} fault is instantaneous: it takes no `mttr`")
        if self.mtbf is None and (self.until is not None or self.after):
            raise ValueError("`after`/`until` go with `mtbf`")
        if self.until is not None and self.until <= self.after:
            raise ValueError("`until` must be later than `after`")
        return self

    def kind_params(self) -> dict[str, Any]:
        """The kind-specific keys (and pass-through extras), as resolved values."""
        common = set(FaultSpec.model_fields)
        out = {k: v for k, v in self.model_dump(mode="json").items() if k not in common}
        return out


class Crash(FaultSpec):
    """node crash: volatile state lost, durable state kept; restarts after `restart_after` if given"""

    restart_after: TimeOrDist | None = Field(None, description="restart delay (none: stays down)")
    heal_key: ClassVar[str | None] = "restart_after"
    drawn_keys: ClassVar[tuple[str, ...]] = ("restart_after",)


class PowerLoss(FaultSpec):
    """power loss: DRAM contents lost, PMEM and disks kept; power back after `restore_after`"""

    restore_after: TimeOrDist | None = Field(None, description="power restored after (none: stays off)")
    heal_key: ClassVar[str | None] = "restore_after"
    drawn_keys: ClassVar[tuple[str, ...]] = ("restore_after",)


class LinkDown(FaultSpec):
    """link down / network partition for `duration` (none: until the heal phase or the end)"""

    duration: TimeOrDist | None = None
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)


class SlowLink(FaultSpec):
    """slow link: latency multiplied or increased, bandwidth divided or capped, for `duration`"""

    duration: TimeOrDist | None = None
    latency_factor: float | None = Field(None, ge=1.0, description="latency multiplied by this")
    bandwidth_factor: float | None = Field(None, gt=0.0, le=1.0, description="bandwidth multiplied by this")
    latency: Duration | None = Field(None, description="absolute latency while degraded")
    bandwidth: ByteRate | None = Field(None, description="absolute bandwidth while degraded")
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)

    @model_validator(mode="after")
    def _some_degradation(self):
        if all(v is None for v in (self.latency_factor, self.bandwidth_factor, self.latency, self.bandwidth)):
            raise ValueError("slow_link needs latency_factor, bandwidth_factor, latency or bandwidth")
        if self.latency_factor is not None and self.latency is not None:
            raise ValueError("give latency_factor or latency, not both")
        if self.bandwidth_factor is not None and self.bandwidth is not None:
            raise ValueError("give bandwidth_factor or bandwidth, not both")
        return self


class LoseData(FaultSpec):
    """loss of a log segment, stored object or record (`what:` and other keys are the model's)"""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    what: str | None = Field(None, description="which item, e.g. log_segment | object | newest_metadata_record")
    heal_key: ClassVar[str | None] = None


class CorruptData(LoseData):
    """silent corruption of a log segment, stored object or record (`what:` and other keys are the model's)"""


class Outage(FaultSpec):
    """cloud service outage: every request fails for `duration`"""

    duration: TimeOrDist | None = None
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)


class Throttle(FaultSpec):
    """cloud service throttling: the accepted request rate is multiplied by `factor` for `duration`"""

    duration: TimeOrDist | None = None
    factor: float = Field(gt=0.0, le=1.0, description="fraction of the normal rate still accepted")
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)


class Ransomware(FaultSpec):
    """a ransomware process encrypting data at `rate` bytes/s (for `duration`, or until stopped)"""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    rate: ByteRate = Field(description="bytes encrypted per second")
    duration: TimeOrDist | None = None
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)


class ClockSkew(FaultSpec):
    """clock skew or drift: the node's clock jumps by `offset` and runs fast by `drift` (ratio) for `duration`"""

    offset: SignedDuration = Field(0.0, description="step of the clock (may be negative)")
    drift: float = Field(0.0, ge=-0.5, le=0.5, description="rate error, e.g. 50e-6 = 50 ppm fast")
    duration: TimeOrDist | None = None
    drawn_keys: ClassVar[tuple[str, ...]] = ("duration",)

    @model_validator(mode="after")
    def _some_skew(self):
        if self.offset == 0.0 and self.drift == 0.0:
            raise ValueError("clock_skew needs a non-zero offset or drift")
        return self


KINDS: dict[str, type[FaultSpec]] = {
    "crash": Crash,
    "power_loss": PowerLoss,
    "link_down": LinkDown,
    "slow_link": SlowLink,
    "lose_data": LoseData,
    "corrupt_data": CorruptData,
    "outage": Outage,
    "throttle": Throttle,
    "ransomware": Ransomware,
    "clock_skew": ClockSkew,
}

for _name, _cls in KINDS.items():
    register("faults", _name)(_cls)
