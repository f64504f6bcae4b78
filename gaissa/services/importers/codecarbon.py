"""CodeCarbon emissions.csv of every version, read by header name.

Units as CodeCarbon writes them: duration in s, emissions in kg CO2eq, energy_consumed and the
cpu/gpu/ram energies in kWh, powers in W, water_consumed in L. Since 2.3 CodeCarbon multiplies
the energies by `pue` while it measures. The importer therefore never applies the PUE again and
only reports it.

Column sets: 0.x and 1.x have 12 columns and no run_id; 2.0–2.1 have 29, 2.2 adds
codecarbon_version (30), 2.3 pue (31), 2.7 experiment_id (32), 3.0.8 water_consumed and wue
(34), 3.2.1 the utilisation columns and ram_used_gb (38). Column order varies between versions
and between files rewritten by pandas, so only header names are trusted.

Runs: CodeCarbon's FileOutput appends a row with the run's totals so far at every flush and at
stop. So with a run_id column, the rows of one run_id are the cumulative flushes of one tracker,
and the last of them in the file is the run total. A row with an empty run_id is a run of its
own. Files without run_id (0.x, 1.x) wrote one row per stopped tracker, so every row is a run,
named by its experiment_id.
"""

import math
import re
from datetime import datetime

from gaissa.services.importers.base import (
    FileImportError,
    ParsedFile,
    RowError,
    SourceRun,
    describe_invalid,
    join_words,
    no_energy_message,
    parse_number,
    short_id,
)
from gaissa.services.importers.tabular import TableRow, field_count_error, read_table, row_cells

REQUIRED_COLUMNS = ("timestamp", "duration", "emissions", "energy_consumed")

# Columns whose value must be NaN-free because they are the run's measurement.
KEY_COLUMNS = ("energy_consumed", "emissions", "duration")

# Numeric columns that cannot be below zero, with the unit used in messages.
NON_NEGATIVE_COLUMNS = {
    "duration": "s",
    "emissions": "kg",
    "emissions_rate": None,  # kg/s since 2.2, g/s in 2.0–2.1
    "cpu_power": "W",
    "gpu_power": "W",
    "ram_power": "W",
    "cpu_energy": "kWh",
    "gpu_energy": "kWh",
    "ram_energy": "kWh",
    "energy_consumed": "kWh",
    "water_consumed": "L",
    "cpu_count": None,
    "gpu_count": None,
    "ram_total_size": "GB",
    "pue": None,
    "wue": "L/kWh",
    "cpu_utilization_percent": "%",
    "gpu_utilization_percent": "%",
    "ram_utilization_percent": "%",
    "ram_used_gb": "GB",
}
SIGNED_COLUMNS = ("longitude", "latitude")
COMPONENTS = ("cpu", "gpu", "ram")

# Column count -> the CodeCarbon versions that wrote it.
LAYOUTS = {
    29: "2.0–2.1",
    30: "2.2",
    31: "2.3–2.6",
    32: "2.7–3.0.7",
    34: "3.0.8–3.2.0",
    38: "3.2.1 or later",
}

_ISO_ALPHA3 = re.compile(r"^[A-Za-z]{3}$")
_YES_NO = {"Y", "N"}
_TRACKING_MODES = {"machine", "process"}


def parse_codecarbon(data: bytes, file_name: str) -> ParsedFile:
    """Read a CodeCarbon emissions.csv (or the same table saved as XLSX) into runs and row errors."""
    table = read_table(data, file_name)
    header = table.header
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise FileImportError(
            f"{file_name} is not a CodeCarbon emissions.csv: the header has no {join_words(missing)} column; "
            f"found {', '.join(header[:12])}{'…' if len(header) > 12 else ''}. Choose the tool that wrote the file."
        )
    if not table.rows:
        raise FileImportError("no data rows: the file has a CodeCarbon header but no run under it")

    parsed = ParsedFile(columns=list(header), duplicate_columns=set(table.duplicate_columns))
    layout = LAYOUTS.get(len(header))
    if len(header) == 12:
        # 0.x wrote experiment_id first, 1.0–1.2 timestamp first.
        layout = "0.x" if header[0] == "experiment_id" else "1.x"
    if layout:
        parsed.notes.append(f"The {len(header)} columns match CodeCarbon {layout}.")
    for name in sorted(table.duplicate_columns):
        parsed.notes.append(f"column {name} appears more than once; its first occurrence is used.")

    groups: dict[str, list[tuple[TableRow, SourceRun | None]]] = {}
    has_run_id = "run_id" in header
    for row in table.rows:
        error = field_count_error(row, len(header))
        cells, run = None, None
        if error is None:
            cells = row_cells(header, row)
            run, error = _read_row(row.line, cells)
        if error is not None:
            parsed.errors.append(error)
        key = _run_key(row.line, cells, has_run_id)
        groups.setdefault(key, []).append((row, run))

    for rows in groups.values():
        last_row, last_run = rows[-1]
        if last_run is None:
            continue
        if len(rows) > 1:
            earlier = [str(row.line) for row, _ in rows[:-1]]
            left_out = f"line {earlier[0]} is" if len(earlier) == 1 else f"lines {', '.join(earlier)} are"
            last_run.notes.append(
                f"run {last_run.run_id} has {len(rows)} rows (cumulative flushes). The last one, line {last_row.line}, "
                f"is the run total, so {left_out} left out."
            )
        parsed.runs.append(last_run)
    parsed.runs.sort(key=lambda run: run.line)
    return parsed


def _run_key(line: int, cells: dict[str, str] | None, has_run_id: bool) -> str:
    run_id = (cells or {}).get("run_id", "") if has_run_id else ""
    if run_id:
        return f"run:{run_id}"
    return f"line:{line}"


def _read_row(line: int, cells: dict[str, str]) -> tuple[SourceRun | None, RowError | None]:
    """Check one CodeCarbon row and turn it into a run, or return the reasons it cannot be used."""
    problems: list[str] = []
    notes: list[str] = []
    skipped: set[str] = set()

    if not _is_timestamp(cells["timestamp"]):
        problems.append(f"timestamp is not a date ({cells['timestamp'][:40]!r}); the columns may be shifted")
    problems.extend(_text_column_problems(cells))

    numbers: dict[str, float | None] = {}
    not_finite: dict[str, list[str]] = {"NaN": [], "infinite": []}
    for column in (*NON_NEGATIVE_COLUMNS, *SIGNED_COLUMNS):
        text = cells.get(column, "")
        value = parse_number(text)
        numbers[column] = None
        if not text.strip():
            if column in KEY_COLUMNS:
                problems.append(f"{column} is empty")
            continue
        if value is None:
            problems.append(f"{column} is {text[:40]!r}, not a number")
            continue
        if column in SIGNED_COLUMNS:
            numbers[column] = value if math.isfinite(value) else None
            continue
        if column in KEY_COLUMNS and not math.isfinite(value):
            not_finite["NaN" if math.isnan(value) else "infinite"].append(column)
            continue
        invalid = describe_invalid(column, text, value, NON_NEGATIVE_COLUMNS[column])
        if invalid is None:
            numbers[column] = value
        elif not math.isfinite(value):
            # A NaN power or component energy is an unknown, not a measurement.
            notes.append(f"{invalid}, so it is treated as unknown.")
            skipped.add(column)
        else:
            problems.append(invalid)
    for state, columns in reversed(not_finite.items()):
        if columns:
            columns.sort(key=KEY_COLUMNS.index)
            verb = "is" if len(columns) == 1 else "are"
            problems.insert(0, f"{join_words(columns)} {verb} {state}")

    if problems:
        return None, RowError(line, f"line {line}: {'; '.join(problems)}")
    if numbers["energy_consumed"] == 0:
        return None, RowError(line, no_energy_message(line, "kWh", numbers["duration"]))
    return _source_run(line, cells, numbers, notes, skipped), None


def _source_run(
    line: int, cells: dict[str, str], numbers: dict[str, float | None], notes: list[str], skipped: set[str]
) -> SourceRun:
    energy = numbers["energy_consumed"]
    emissions = numbers["emissions"]
    duration = numbers["duration"]
    if emissions == 0:
        notes.append("emissions are 0 kg, which means CodeCarbon had no carbon intensity; they are left out.")
        skipped.add("emissions")
        emissions = None
    if duration == 0:
        notes.append("duration is 0 s, which means not measured, so it is left out.")
        skipped.add("duration")
        duration = None

    pue = numbers["pue"]
    if pue is not None and pue != 1:
        it_energy = energy / pue if pue > 0 else None
        detail = f"; IT energy {it_energy:.5g} kWh" if it_energy is not None else ""
        notes.append(f"energy already includes PUE {pue:g}{detail}. The PUE is not applied again.")

    components = {part: numbers[f"{part}_energy"] for part in COMPONENTS}
    run_id = cells.get("run_id") or None
    country = cells.get("country_iso_code", "").upper() or None
    return SourceRun(
        line=line,
        label=_label(line, cells),
        cells=cells,
        energy_kwh=energy,
        emissions_kg=emissions,
        duration_s=duration,
        country_code=country,
        tool_version=cells.get("codecarbon_version") or None,
        run_id=run_id,
        components_kwh=components,
        pue=pue,
        notes=notes,
        skipped_columns=skipped,
    )


def _label(line: int, cells: dict[str, str]) -> str:
    project = cells.get("project_name", "")
    identifier = cells.get("run_id") or ("" if "run_id" in cells else cells.get("experiment_id", ""))
    if identifier:
        kind = "run" if cells.get("run_id") else "experiment"
        name = f"{kind} {short_id(identifier)}"
        return f"{project}, {name}" if project else name
    return f"{project}, line {line}" if project else f"line {line}"


def _is_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _text_column_problems(cells: dict[str, str]) -> list[str]:
    """Check the columns with a fixed shape, which show when values sit under the wrong header."""
    problems = []
    country = cells.get("country_iso_code", "")
    if country and not _ISO_ALPHA3.match(country):
        problems.append(f"country_iso_code is {country[:40]!r}, not a 3-letter code such as ESP")
    on_cloud = cells.get("on_cloud", "")
    if on_cloud and on_cloud not in _YES_NO:
        problems.append(f"on_cloud is {on_cloud[:40]!r}, not Y or N")
    mode = cells.get("tracking_mode", "")
    if mode and mode not in _TRACKING_MODES:
        problems.append(f"tracking_mode is {mode[:40]!r}, not machine or process")
    return problems
