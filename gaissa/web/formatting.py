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


# Ladders of display units per quantity, smallest first; a value is shown in the largest unit it reaches 1 in.
_ENERGY_LADDER = (("nJ", 1e-9 / 3.6e6), ("µJ", 1e-6 / 3.6e6), ("mJ", 1e-3 / 3.6e6), ("J", 1 / 3.6e6), ("kJ", 1e3 / 3.6e6), ("Wh", 1e-3), ("kWh", 1.0), ("MWh", 1e3), ("GWh", 1e6))
_HUMAN_LADDERS = {
    # unit of the stored value -> (factor from that unit to the ladder's base unit, ladder in base units)
    "kWh": (1.0, _ENERGY_LADDER),
    "J": (1 / 3.6e6, _ENERGY_LADDER),
    "Wh": (1e-3, _ENERGY_LADDER),
    "g": (1.0, (("mg", 1e-3), ("g", 1.0), ("kg", 1e3), ("t", 1e6))),
    "kg": (1e3, (("mg", 1e-3), ("g", 1.0), ("kg", 1e3), ("t", 1e6))),
    "h": (3600.0, (("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0))),
    "s": (1.0, (("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0))),
    "ms": (1e-3, (("µs", 1e-6), ("ms", 1e-3), ("s", 1.0))),
    "MB": (1e6, (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12))),
    "B/g": (1.0, (("B/g", 1.0), ("kB/g", 1e3), ("MB/g", 1e6), ("GB/g", 1e9))),
    "GFLOPs": (1e9, (("MFLOPs", 1e6), ("GFLOPs", 1e9), ("TFLOPs", 1e12))),
}
_COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def humanize_quantity(value: float | int | None, unit: str, digits: int = 3) -> str:
    """Format a value in the most readable unit of its quantity: 1.1629e-9 kWh → "4.19 mJ", 149200 g → "149 kg"."""
    if value is None:
        return "–"
    number = float(value)
    if unit == "count" and math.isfinite(number):
        for threshold, suffix in _COUNT_SUFFIXES:
            if abs(number) >= threshold:
                return f"{format_number(number / threshold, digits)} {suffix}"
        return format_number(number, digits)
    ladder = _HUMAN_LADDERS.get(unit)
    if ladder is None or number == 0 or not math.isfinite(number):
        return format_quantity(number, unit, digits)
    factor, steps = ladder
    base = number * factor
    chosen_label, chosen_size = steps[0]
    for label, size in steps:
        if abs(base) >= size:
            chosen_label, chosen_size = label, size
    return f"{format_number(base / chosen_size, digits)} {chosen_label}"
