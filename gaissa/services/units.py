"""Unit parsing and conversion with pint, for values users type and columns tools write.

Besides pint's own units, the registry defines `FLOPs` and `score`. FLOPs (floating-point
operations) get a dimension of their own, so that GFLOPs and FLOPs convert. A score is a
dimensionless 0–1 figure, so that "95 %" becomes 0.95. `count` is pint's dimensionless count. MB is SI: 10^6 bytes.
"""

import math
import re
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
    if not is_safe_unit(unit):
        return False
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
    for unit in (from_unit, to_unit):
        if not is_safe_unit(unit):
            raise UnitError(f"unsupported unit {unit!r}: use unit names with '/', '*' and one-digit powers")
    ureg = registry()
    try:
        converted = ureg.Quantity(value, from_unit).to(to_unit).magnitude
    except pint.errors.DimensionalityError:
        raise UnitError(f"cannot convert {from_unit} to {to_unit}: they measure different quantities") from None
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, tokenize.TokenError,
            OverflowError) as exc:
        raise UnitError(f"unknown unit in {from_unit!r} → {to_unit!r}: {exc}") from None
    return _tidy(float(converted))


# A typed quantity: one plain number, then optionally a unit made of unit names joined by "/", "*", "·"
# or spaces, each with an optional one-digit exponent ("m^2", "s**-1"). Anything else (arithmetic,
# long exponents such as "9**9**9", thousands separators) is rejected before pint parses it, because
# pint evaluates whole expressions and a short text could take minutes.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
_UNIT_NAME = r"(?:[A-Za-zµμΩ°%][A-Za-z0-9_µμΩ°%]*?)(?:(?:\^|\*\*)-?\d)?"
_UNIT = rf"{_UNIT_NAME}(?:\s*[/*·]\s*{_UNIT_NAME}|\s+{_UNIT_NAME})*"
_QUANTITY = re.compile(rf"^\s*(?P<number>{_NUMBER})?\s*(?P<unit>{_UNIT})?\s*$")
_UNIT_ONLY = re.compile(rf"^\s*{_UNIT}\s*$")
_GAS_SUFFIX = re.compile(r"\s*(?:CO2|CO₂)(?:e|eq|-eq)?\s*$", re.IGNORECASE)
_AMBIGUOUS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def is_safe_unit(unit: str) -> bool:
    """Return True when a unit string has the simple shape pint may be given (names, / and one-digit powers)."""
    return bool(_UNIT_ONLY.match(unit or "")) and len(unit) <= 40


def parse_quantity(text: str, unit: str) -> float:
    """Read a number typed by a user, with or without a unit, and return it in `unit`.

    "1.2 MWh" with unit kWh gives 1200.0; "0.5" gives 0.5 (already in `unit`); a decimal comma
    ("0,5") is accepted. "1,500" is rejected as ambiguous (thousands or decimal separator).
    """
    original = text.strip()
    cleaned = original.replace("\u00a0", " ").replace("\u202f", " ")
    if not cleaned:
        raise UnitError("no value given")
    wanted = _describe_unit(unit)
    if cleaned.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise UnitError(f"{original!r} is not a finite number; enter a measured value")
    number_part = cleaned.split()[0] if cleaned.split() else cleaned
    if _AMBIGUOUS_COMMA.match(number_part):
        raise UnitError(f"{original!r} is ambiguous: write {number_part.replace(',', '')} without separators, "
                        f"or use a dot for decimals")
    if re.match(r"^[+-]?\d+,\d+", number_part) and "." not in number_part:
        cleaned = cleaned.replace(",", ".", 1)
    # "10 kg CO2e" and "5 g CO₂eq" name the gas after the unit; the unit alone is the quantity.
    cleaned = _GAS_SUFFIX.sub("", cleaned)
    if len(cleaned) > 60:
        raise UnitError(f"{original[:60]!r}… is too long for a value; enter a number such as '1.2 {wanted}'")
    match = _QUANTITY.match(cleaned)
    if match is None:
        raise UnitError(f"{original!r} is not a number or a number with a unit such as '1.2 {wanted}'")
    number_text, unit_text = match.group("number"), match.group("unit")
    if number_text is None:
        raise UnitError(f"{original!r} has no number; enter one such as '1.2 {wanted}'")
    number = _finite(float(number_text), original)
    if not unit_text:
        return number
    ureg = registry()
    try:
        given = ureg.parse_units(unit_text.strip())
        converted = ureg.Quantity(number, given).to(unit).magnitude
    except pint.errors.DimensionalityError:
        raise UnitError(f"{original!r} cannot be expressed in {wanted}") from None
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, SyntaxError,
            tokenize.TokenError, OverflowError):
        raise UnitError(f"{original!r} has an unknown unit {unit_text.strip()!r}; use a unit such as {wanted}") from None
    return _finite(_tidy(float(converted)), original)


def _describe_unit(unit: str) -> str:
    return "a plain number" if unit in ("count", "score", "1", "") else unit


def _finite(value: float, text: str | None = None) -> float:
    if math.isnan(value) or math.isinf(value):
        shown = repr(text) if text is not None else str(value)
        raise UnitError(f"{shown} is not a finite number; enter a measured value")
    return value


def _tidy(value: float) -> float:
    """Drop binary noise from a conversion (0.9500000000000001 → 0.95) by keeping 15 significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.15g}")
