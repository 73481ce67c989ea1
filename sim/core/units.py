"""Units in scenario files: durations, sizes, counts per second and bytes per second.

Every quantity is resolved to an SI float at load time (seconds, bytes, 1/s, bytes/s), so models
never see a unit string. A plain number is taken as already in SI units.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_QTY = re.compile(r"^\s*" + _NUM + r"\s*([A-Za-zµ%]*)\s*(?:/\s*([A-Za-z]+))?\s*$")

DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
    "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0, "day": 86400.0,
}
SIZE_UNITS = {
    "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50,
    "kB": 1e3, "b": 0.125, "Kb": 125.0, "Mb": 1.25e5, "Gb": 1.25e8,
}
COUNT_UNITS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
PER = {"s": 1.0, "sec": 1.0, "ms": 1e3, "us": 1e6, "min": 1 / 60, "h": 1 / 3600, "hr": 1 / 3600, "d": 1 / 86400}


class UnitError(ValueError):
    """A quantity string that cannot be read in the expected dimension."""


def _split(value: object, what: str) -> tuple[float, str, str | None] | float:
    if isinstance(value, bool):
        raise UnitError(f"expected a {what}, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise UnitError(f"expected a {what}, got {type(value).__name__}")
    m = _QTY.match(value)
    if not m:
        raise UnitError(f"cannot read {value!r} as a {what}")
    return float(m.group(1)), m.group(2), m.group(3)


def _finite(x: float, raw: object) -> float:
    if math.isnan(x) or math.isinf(x):
        raise UnitError(f"{raw!r} is not a finite number")
    return x


def _to_si(value: object, kind: str, examples: str, units: dict[str, float], use: str,
           base_example: str | None = None) -> float:
    """`value` in SI units: a number as it is, else `<number><unit>` with a factor in `units`; a rate
    (`base_example` given: how the message shows a time base, from `num` and `unit`) also needs
    `/<time base>` from PER. `kind`, `examples` and `use` word the error messages."""
    parts = _split(value, f"{kind} (e.g. {examples})")
    if isinstance(parts, float):
        return _finite(parts, value)
    num, unit, per = parts
    if base_example is None:
        if per is not None or unit not in units:
            raise UnitError(f"unknown {kind} unit in {value!r}; use {use}")
        return _finite(num * units[unit], value)
    if per is None:
        raise UnitError(f"{kind} {value!r} needs a time base, e.g. {base_example.format(num=num, unit=unit)}")
    if unit not in units or per not in PER:
        raise UnitError(f"unknown {kind} unit in {value!r}; use {use}")
    return _finite(num * units[unit] * PER[per], value)


def to_seconds(value: object) -> float:
    """'150us' -> 1.5e-4; numbers are seconds."""
    return _to_si(value, "duration", "150us, 2s, 5min", DURATION_UNITS, "one of ns, us, ms, s, min, h, d")


def to_bytes(value: object) -> float:
    """'4KiB' -> 4096; numbers are bytes."""
    return _to_si(value, "size", "4KiB, 1.5GB", SIZE_UNITS, "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB")


def to_rate(value: object) -> float:
    """Events per second: '200k/s' -> 2e5, '5/min' -> 1/12; numbers are per second."""
    return _to_si(value, "rate", "200k/s, 5/min", COUNT_UNITS, "e.g. 200k/s, 1M/s, 30/min", "{num:g}{unit}/s")


def to_byte_rate(value: object) -> float:
    """Bytes per second: '10GB/s' -> 1e10, '100Gb/s' -> 1.25e10; numbers are bytes per second."""
    return _to_si(value, "bandwidth", "10GB/s, 100Gb/s", SIZE_UNITS, "e.g. 10GB/s, 25Gb/s, 500MiB/s",
                  "{num:g}{unit}/s")


def _positive(x: float) -> float:
    if x <= 0:
        raise ValueError("must be > 0")
    return x


def _non_negative(x: float) -> float:
    if x < 0:
        raise ValueError("must be >= 0")
    return x


# Pydantic field types: a scenario may write either a number (SI) or a string with a unit.
Duration = Annotated[float, BeforeValidator(to_seconds), AfterValidator(_non_negative)]
PositiveDuration = Annotated[float, BeforeValidator(to_seconds), AfterValidator(_positive)]
Size = Annotated[float, BeforeValidator(to_bytes), AfterValidator(_non_negative)]
PositiveSize = Annotated[float, BeforeValidator(to_bytes), AfterValidator(_positive)]
Rate = Annotated[float, BeforeValidator(to_rate), AfterValidator(_non_negative)]
PositiveRate = Annotated[float, BeforeValidator(to_rate), AfterValidator(_positive)]
ByteRate = Annotated[float, BeforeValidator(to_byte_rate), AfterValidator(_positive)]
