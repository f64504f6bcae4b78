"""Typed quantities: units convert, and anything that is not one plain number with a unit is rejected fast."""

import time

import pytest

from gaissa.services.units import UnitError, is_known_unit, parse_quantity


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("1.2 MWh", "kWh", 1200.0), ("350 ms", "ms", 350.0), ("93 %", "score", 0.93), ("2 days", "h", 48.0),
        ("90 min", "h", 1.5), ("5 µs", "ms", 0.005), ("5 tonne", "g", 5e6), ("4.1 TFLOPs", "GFLOPs", 4100.0),
        ("0,5", "kWh", 0.5), ("2.5e-05", "g", 2.5e-05), ("10 kg CO2", "g", 10000.0), ("5 g CO₂eq", "g", 5.0),
        ("3 W*h", "kWh", 0.003), ("1.5 GB/g", "B/g", 1.5e9), ("-3", "kWh", -3.0),
    ],
)
def test_quantities_convert(text, unit, expected):
    assert parse_quantity(text, unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9**9**9 kWh", "is not a number"), ("kWh**9**9**9", "is not a number"), ("3 kWh + 2 kWh", "is not a number"),
        ("1,500 kWh", "ambiguous"), ("1 500 kWh", "is not a number"), ("kWh", "has no number"),
        ("NaN", "not a finite number"), ("1e400", "not a finite number"), ("12 parsecs", "cannot be expressed in kWh"),
        ("3 kwh", "unknown unit 'kwh'"), ("", "no value given"), ("x" * 100, "too long"),
    ],
)
def test_invalid_quantities_rejected(text, message):
    started = time.perf_counter()
    with pytest.raises(UnitError, match=message):
        parse_quantity(text, "kWh")
    assert time.perf_counter() - started < 5, "rejecting an invalid quantity must not evaluate it"


def test_unsafe_unit_strings_are_unknown():
    assert is_known_unit("kWh")
    assert is_known_unit("B/g")
    assert not is_known_unit("kWh**9**9**9")
    assert not is_known_unit("(")
