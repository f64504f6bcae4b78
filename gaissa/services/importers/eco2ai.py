"""eco2ai emission.csv files of every layout since 2022.

Layouts seen in the history of sb-ai-lab/Eco2AI:

- TAB-separated files, written until June 2022;
- comma-separated files that quote a field containing a comma with `*` instead of `"`;
- the header `power_consumption(kWTh)`, renamed `power_consumption(kWh)` in August 2022 (the
  values were kWh all along);
- the current layout, which adds id, epoch, region/country and cost.

Units: duration in s, energy in kWh, CO2 in kg. Every data row is listed as a run. In eco2ai's
training mode a row covers one epoch, and the rows of one training share an id (see _read_row).
Whatever the file's layout, the parser exposes the current header names duration(s),
power_consumption(kWh) and CO2_emissions(kg) to the tool's mappings.
"""

import math

from gaissa.services.importers.base import (
    FileImportError,
    ParsedFile,
    RowError,
    SourceRun,
    describe_invalid,
    no_energy_message,
    parse_number,
    short_id,
)
from gaissa.services.importers.tabular import Table, decode_text, field_count_error, read_csv_text, row_cells

ENERGY = "power_consumption(kWh)"
EMISSIONS = "CO2_emissions(kg)"
DURATION = "duration(s)"

# Older header names (lower case) -> the current name.
ALIASES = {
    "power_consumption(kwth)": ENERGY,
    "power_consumption(kwh)": ENERGY,
    "co2_emissions(kg)": EMISSIONS,
    "duration(s)": DURATION,
    "time(s)": DURATION,
    "experiment_description(model type etc.)": "experiment_description",
}


def parse_eco2ai(data: bytes, file_name: str) -> ParsedFile:
    """Read an eco2ai CSV (TAB or comma separated, `"` or `*` quoted) into one run per row."""
    table = _read(decode_text(data, file_name))
    header = [ALIASES.get(name.lower(), name) for name in table.header]
    if ENERGY not in header:
        raise FileImportError(
            f"{file_name} is not an eco2ai file: the header has no power_consumption(kWh) column; "
            f"found {', '.join(table.header[:10])}. Choose the tool that wrote the file."
        )
    if not table.rows:
        raise FileImportError("no data rows: the file has an eco2ai header but no run under it")

    parsed = ParsedFile(columns=header)
    if any(name.lower() == "power_consumption(kwth)" for name in table.header):
        parsed.notes.append("The column power_consumption(kWTh) of older eco2ai versions is read as kWh.")
    for row in table.rows:
        error = field_count_error(row, len(header))
        if error is not None:
            parsed.errors.append(error)
            continue
        run, error = _read_row(row.line, row_cells(header, row))
        if error is not None:
            parsed.errors.append(error)
        else:
            parsed.runs.append(run)
    return parsed


def _read(text: str) -> Table:
    """Read the table with `"` quoting, or with `*` quoting when that fits the header better."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line else ","
    table = read_csv_text(text, delimiter=delimiter)
    if "*" not in text:
        return table
    starred = read_csv_text(text, quotechar="*", delimiter=delimiter)
    if _misfits(starred) < _misfits(table):
        return starred
    return table


def _misfits(table: Table) -> int:
    return sum(1 for row in table.rows if len(row.fields) != len(table.header))


def _read_row(line: int, cells: dict[str, str]) -> tuple[SourceRun | None, RowError | None]:
    problems: list[str] = []
    notes: list[str] = []
    values: dict[str, float | None] = {}
    for column, unit in ((ENERGY, "kWh"), (EMISSIONS, "kg")):
        text = cells.get(column, "")
        value = parse_number(text)
        values[column] = None
        if not text:
            if column == ENERGY:
                problems.append(f"{column} is empty")
            continue
        if value is None:
            problems.append(f"{column} is {text[:40]!r}, not a number")
            continue
        invalid = describe_invalid(column, text, value, unit)
        if invalid:
            problems.append(invalid)
            continue
        values[column] = value

    skipped: set[str] = set()
    duration = parse_number(cells.get(DURATION, ""))
    if duration is None or not math.isfinite(duration) or duration < 0:
        if cells.get(DURATION):
            # An early eco2ai version wrote a date-time here, which cannot be turned back into seconds.
            notes.append(f"{DURATION} is {cells[DURATION]!r}, not a number of seconds, so the duration is left out.")
            skipped.add(DURATION)
        duration = None

    if problems:
        return None, RowError(line, f"line {line}: {'; '.join(problems)}")
    if values[ENERGY] == 0:
        return None, RowError(line, no_energy_message(line, "kWh", duration))

    emissions = values[EMISSIONS]
    if emissions == 0:
        notes.append("CO2_emissions(kg) is 0, which means not measured, so it is left out.")
        skipped.add(EMISSIONS)
        emissions = None
    epoch = cells.get("epoch", "")
    if epoch and epoch.upper() != "N/A":
        # Per-epoch, not cumulative: Tracker.new_epoch writes the epoch's row, then resets the energy counters and
        # the start time, and every row of one start_training carries the tracker's id (sb-ai-lab/Eco2AI,
        # eco2ai/emission_track.py, version 0.3.13). The training is therefore the sum of its rows, which the run
        # choice offers. After the epoch number, the column lists the parameters passed to new_epoch.
        notes.append(f"This row covers {epoch.split(',')[0].strip()}.")
    return SourceRun(
        line=line,
        label=_label(line, cells),
        cells=cells,
        energy_kwh=values[ENERGY],
        emissions_kg=emissions,
        duration_s=duration or None,
        run_id=cells.get("id") or None,
        notes=notes,
        skipped_columns=skipped,
    ), None


def _label(line: int, cells: dict[str, str]) -> str:
    parts = [cells.get("project_name", ""), cells.get("experiment_description", "")]
    if cells.get("id"):
        parts.append(f"run {short_id(cells['id'])}")
    else:
        parts.append(f"line {line}")
    return ", ".join(part for part in parts if part)
