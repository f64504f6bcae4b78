"""Number and date formatting shared by pages, labels and PDFs."""

import math
from datetime import datetime

# Units written after the number as they are; other units get a thin space.
_UNIT_LABELS = {"count": "", "score": "", "1": ""}


def format_number(value: float | int | None, digits: int = 3) -> str:
    """Format a number with `digits` significant digits, readable from 1e-12 to 1e12.

    1.1629e-9 → "1.16 × 10⁻⁹", 149200 → "149,200", 0.00063957 → "0.00064", 0.95 → "0.95".
    """
    if value is None:
        return "–"
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number == 0:
        return "0"
    magnitude = abs(number)
    if magnitude >= 1e9 or magnitude < 1e-4:
        mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa} × 10{_superscript(int(exponent))}"
    if magnitude >= 10 ** (digits - 1):
        return f"{round(number):,}"
    decimals = digits - 1 - math.floor(math.log10(magnitude))
    text = f"{number:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_quantity(value: float | int | None, unit: str, digits: int = 3) -> str:
    """Format a number followed by its unit ("1.16 × 10⁻⁹ kWh"); counts and scores get no unit."""
    text = format_number(value, digits)
    label = unit_label(unit)
    if value is None or not label:
        return text
    return f"{text} {label}"


def unit_label(unit: str) -> str:
    return _UNIT_LABELS.get(unit, unit)


def format_date(moment: datetime | None, with_time: bool = True) -> str:
    """Format a date in an unambiguous, locale-independent way: "21 Nov 2023, 17:59 UTC"."""
    if moment is None:
        return "no date"
    if with_time:
        return moment.strftime("%d %b %Y, %H:%M UTC").lstrip("0")
    return moment.strftime("%d %b %Y").lstrip("0")


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(exponent: int) -> str:
    return str(exponent).translate(_SUPERSCRIPTS)
