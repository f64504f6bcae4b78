"""carbontracker output logs (the *_output.log file): the measured "Actual consumption" block.

A log holds an "Actual consumption for N epoch(s):" block with Time (h:mm:ss), Energy (kWh) and
CO2eq (grams), and usually a "Predicted consumption" block for the planned epochs, which is an
extrapolation and never used. The actual block reports the totals so far, so when a log holds
several, the last one is the run total. The parser exposes the columns energy_kwh, co2eq_g and
duration_s for the tool's mappings.
"""

import re

from gaissa.services import units
from gaissa.services.importers.base import FileImportError, ParsedFile, RowError, SourceRun, describe_invalid
from gaissa.services.importers.tabular import decode_text

COLUMNS = ["energy_kwh", "co2eq_g", "duration_s"]

_BLOCK = re.compile(r"(Actual|Predicted) consumption for (\d+) epoch\(?s?\)?:?", re.IGNORECASE)
_FIELD = re.compile(r"^\s*(Time|Energy|CO2eq)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_QUANTITY = re.compile(r"^(-?[0-9.eE+-]+|nan|inf)\s*([A-Za-z0-9]+)$", re.IGNORECASE)
_VERSION = re.compile(r"carbontracker(?: version|==| v)\s*([0-9][\w.]*)", re.IGNORECASE)
_TOO_SHORT = "epoch duration is too short"


def parse_carbontracker(data: bytes, file_name: str) -> ParsedFile:
    """Read the last "Actual consumption" block of a carbontracker output log as one run."""
    lines = decode_text(data, file_name).splitlines()
    blocks = _blocks(lines)
    actual = [block for block in blocks if block["kind"] == "actual"]
    predicted = [block for block in blocks if block["kind"] == "predicted"]

    if not actual:
        if predicted:
            raise FileImportError(
                f"run aborted: no actual consumption in {file_name}, only a prediction for "
                f"{predicted[-1]['epochs']} epoch(s), which is not a measurement. Upload the log of a finished run."
            )
        raise FileImportError(
            f"{file_name} is not a carbontracker output log: it has no \"Actual consumption\" block. "
            "Upload the *_output.log file that carbontracker writes, or choose the tool that wrote this file."
        )

    parsed = ParsedFile(columns=list(COLUMNS))
    block = actual[-1]
    line = block["line"]
    problems = []
    values: dict[str, float | None] = {}
    for field_name, column, unit in (("energy", "energy_kwh", "kWh"), ("co2eq", "co2eq_g", "g")):
        values[column], problem = _quantity(block, field_name, column, unit)
        if problem:
            problems.append(problem)
    values["duration_s"], problem = _duration(block)
    if problem:
        problems.append(problem)
    if problems:
        parsed.errors.append(RowError(line, f"line {line}: {'; '.join(problems)}"))
        return parsed

    energy = values["energy_kwh"]
    duration = values["duration_s"]
    if not energy:
        reason = ", because carbontracker found the epoch too short to measure" if _reports_short_epoch(lines) else ""
        parsed.errors.append(RowError(
            line, f"line {line}: no energy measured (0 kWh over {duration:g} s){reason}; measure a longer run."
        ))
        return parsed

    notes = [f"Actual consumption of {block['epochs']} epoch(s) is used."]
    if predicted:
        notes.append(
            f"The prediction for {predicted[-1]['epochs']} epoch(s) "
            f"({predicted[-1]['fields'].get('energy', '?')}) is an extrapolation and is not used."
        )
    co2_g = values["co2eq_g"]
    cells = {
        "energy_kwh": repr(energy),
        "co2eq_g": repr(co2_g) if co2_g else "",
        "duration_s": repr(duration) if duration else "",
    }
    parsed.runs.append(SourceRun(
        line=line,
        label=f"{block['epochs']} epoch(s), line {line}",
        cells=cells,
        energy_kwh=energy,
        emissions_kg=units.convert(co2_g, "g", "kg") if co2_g else None,
        duration_s=duration or None,
        tool_version=_version(lines),
        notes=notes,
    ))
    return parsed


def _blocks(lines: list[str]) -> list[dict]:
    """Collect each consumption block with its line number, epoch count and Time/Energy/CO2eq texts."""
    blocks: list[dict] = []
    current: dict | None = None
    for number, text in enumerate(lines, start=1):
        match = _BLOCK.search(text)
        if match:
            current = {"kind": match.group(1).lower(), "epochs": int(match.group(2)), "line": number, "fields": {}}
            blocks.append(current)
            continue
        field_match = _FIELD.match(text)
        if current is not None and field_match:
            current["fields"][field_match.group(1).lower()] = field_match.group(2)
    return blocks


def _quantity(block: dict, field_name: str, column: str, unit: str) -> tuple[float | None, str | None]:
    """Read "0.003504 kWh" from a block and convert it to `unit`."""
    text = block["fields"].get(field_name)
    label = "CO2eq" if field_name == "co2eq" else field_name.capitalize()
    if text is None:
        return None, f"the block has no {label} line"
    match = _QUANTITY.match(text)
    if not match:
        return None, f"{label} is {text!r}, not a number with a unit"
    value = float(match.group(1))
    invalid = describe_invalid(label, match.group(1), value, match.group(2))
    if invalid:
        return None, invalid
    try:
        return units.convert(value, match.group(2), unit), None
    except units.UnitError:
        return None, f"{label} is in {match.group(2)!r}, which cannot be converted to {unit}"


def _duration(block: dict) -> tuple[float | None, str | None]:
    """Read carbontracker's h:mm:ss time (also "1 day, 2:03:04" and fractional seconds) in seconds."""
    text = block["fields"].get("time")
    if text is None:
        return None, "the block has no Time line"
    match = _DURATION.match(text)
    if not match:
        return None, f"Time is {text!r}, not h:mm:ss"
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return total, None


def _reports_short_epoch(lines: list[str]) -> bool:
    return any(_TOO_SHORT in line.lower() for line in lines)


def _version(lines: list[str]) -> str | None:
    for line in lines:
        match = _VERSION.search(line)
        if match:
            return match.group(1)
    return None
