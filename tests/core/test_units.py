import math

import pytest

from sim.core.units import UnitError, to_byte_rate, to_bytes, to_rate, to_seconds


@pytest.mark.parametrize("text,expected", [
    ("150us", 150e-6), ("2s", 2.0), ("5min", 300.0), ("1.5h", 5400.0), ("10ms", 0.01), (3, 3.0), ("250ns", 2.5e-7),
])
def test_durations(text, expected):
    assert math.isclose(to_seconds(text), expected)


@pytest.mark.parametrize("text,expected", [
    ("4KiB", 4096), ("1.5GB", 1.5e9), ("512B", 512), ("2MiB", 2 * 2**20), (100, 100.0),
])
def test_sizes(text, expected):
    assert math.isclose(to_bytes(text), expected)


@pytest.mark.parametrize("text,expected", [("200k/s", 2e5), ("30/min", 0.5), ("1M/s", 1e6), ("5/ms", 5000.0)])
def test_rates(text, expected):
    assert math.isclose(to_rate(text), expected)


@pytest.mark.parametrize("text,expected", [("10GB/s", 1e10), ("100Gb/s", 1.25e10), ("500MiB/s", 500 * 2**20)])
def test_byte_rates(text, expected):
    assert math.isclose(to_byte_rate(text), expected)


@pytest.mark.parametrize("fn,text", [
    (to_seconds, "5 parsecs"), (to_seconds, "4KiB"), (to_bytes, "4XB"), (to_rate, "200k"),
    (to_byte_rate, "10GB"), (to_seconds, "abc"), (to_seconds, True), (to_bytes, [1]), (to_seconds, "nan"),
])
def test_bad_units_are_errors(fn, text):
    with pytest.raises(UnitError):
        fn(text)
