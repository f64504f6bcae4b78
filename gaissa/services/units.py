"""Unit parsing and conversion with pint, for values users type and columns tools write.

Besides pint's own units, the registry defines `FLOPs` and `score`. FLOPs (floating-point
operations) get a dimension of their own, so that GFLOPs and FLOPs convert. A score is a
dimensionless 0–1 figure, so that "95 %" becomes 0.95. `count` is pint's dimensionless count. MB is SI: 10^6 bytes.
"""

import math
import tokenize
from functools import lru_cache

import pint


class UnitError(ValueError):
    """A value or unit that cannot be read or converted; the message is meant for users."""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("FLOPs = [computation] = FLOP = flop = flops")
    ureg.define("score = []")
    return ureg


def is_known_unit(unit: str) -> bool:
    """Return True when pint can parse the unit string and reduce it to base dimensions."""
    try:
        registry().parse_units(unit).dimensionality
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, tokenize.TokenError,
            OverflowError):
        return False
    return True


def dimensionality(unit: str) -> str:
    return str(registry().parse_units(unit).dimensionality)


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a number between two units, raising UnitError with both units named."""
    if from_unit == to_unit:
        return float(value)
    ureg = registry()
    try:
        converted = ureg.Quantity(value, from_unit).to(to_unit).magnitude
    except pint.errors.DimensionalityError:
        raise UnitError(f"cannot convert {from_unit} to {to_unit}: they measure different quantities") from None
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, tokenize.TokenError,
            OverflowError) as exc:
        raise UnitError(f"unknown unit in {from_unit!r} → {to_unit!r}: {exc}") from None
    return _tidy(float(converted))


def parse_quantity(text: str, unit: str) -> float:
    """Read a number typed by a user, with or without a unit, and return it in `unit`.

    "1.2 MWh" with unit kWh gives 1200.0; "0.5" gives 0.5 (already in `unit`); a decimal comma
    ("0,5") is accepted when the text has no other comma.
    """
    cleaned = text.strip().replace("\u00a0", " ")
    if not cleaned:
        raise UnitError("no value given")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        number = None
    if number is not None:
        return _finite(number)
    ureg = registry()
    try:
        quantity = ureg.Quantity(cleaned)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, SyntaxError,
            tokenize.TokenError, OverflowError):
        raise UnitError(f"{text.strip()!r} is not a number or a quantity with a unit such as '1.2 {unit}'") from None
    if isinstance(quantity, (int, float)):
        return _finite(float(quantity))
    try:
        if quantity.dimensionless and ureg.parse_units(unit).dimensionless:
            return _finite(_tidy(float(quantity.to(unit).magnitude)))
        return _finite(_tidy(float(quantity.to(unit).magnitude)))
    except (pint.errors.DimensionalityError, OverflowError):
        raise UnitError(f"{text.strip()!r} cannot be expressed in {unit}") from None


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise UnitError(f"{value} is not a finite number; enter a measured value")
    return value


def _tidy(value: float) -> float:
    """Drop binary noise from a conversion (0.9500000000000001 → 0.95) by keeping 15 significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.15g}")
