"""import_file: pick the parser for the tool's file format, then apply the tool's column mappings.

Mapped metric columns are converted with pint from the column's unit to the metric's unit.
Columns of energy, time or mass hold totals of the measured run, as CodeCarbon, carbontracker
and eco2ai write them. For an inference import they are divided by the number of inferences the
run performed, so energy_consumed in kWh becomes J per inference and duration in s becomes ms
per inference. A mapping marked per inference (a latency_ms column, say) already contains one
inference's value and is not divided. Other columns (parameters, file size, FLOPs) are taken as
they are.
"""

import hashlib
import logging
import re
from collections.abc import Callable
from functools import lru_cache

from gaissa.services import units
from gaissa.services.importers.base import (
    PHASES,
    ColumnMapping,
    FileImportError,
    ImportedRun,
    ImportReport,
    ParsedFile,
    RowError,
    SourceRun,
    ToolSpec,
    describe_invalid,
    join_words,
    no_energy_message,
    parse_number,
)
from gaissa.services.importers.carbontracker import parse_carbontracker
from gaissa.services.importers.codecarbon import parse_codecarbon
from gaissa.services.importers.eco2ai import parse_eco2ai
from gaissa.services.importers.tabular import parse_tabular

logger = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[bytes, str], ParsedFile]] = {
    "codecarbon": parse_codecarbon,
    "tabular": parse_tabular,
    "carbontracker": parse_carbontracker,
    "eco2ai": parse_eco2ai,
}

# Longer information texts are cut, so a wrong mapping onto a huge column cannot flood the page.
MAX_INFO_LENGTH = 500
_ISO_ALPHA3 = re.compile(r"^[A-Za-z]{3}$")
_TOTAL_UNITS = {"energy": "kWh", "mass": "kg", "time": "s"}


def import_file(
    data: bytes, file_name: str, tool: ToolSpec, phase: str, inference_count: int | None = None
) -> ImportReport:
    """Read one uploaded file with the tool's parser and mappings into runs, row errors and file errors."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}; got {phase!r}")
    report = ImportReport(
        file_name=file_name, sha256=hashlib.sha256(data).hexdigest(), tool=tool.name, runs=[], errors=[]
    )

    try:
        _check_tool(tool, phase)
        if not data.strip():
            raise FileImportError("file is empty")
        _check_inference_count(tool, phase, inference_count)
        parser = PARSERS.get(tool.file_format)
        if parser is None:
            raise FileImportError(
                f"the tool {tool.name} has the unknown file format {tool.file_format!r}; "
                f"a QA manager can set one of {', '.join(PARSERS)}."
            )
        parsed = parser(data, file_name)
        report.notes.extend(parsed.notes)
        report.notes.extend(_check_columns(parsed, tool))
    except FileImportError as exc:
        report.errors.append(RowError(None, str(exc)))
        logger.info("Rejected %s (tool %s, %s): %s", file_name, tool.name, phase, exc)
        return report

    report.errors.extend(parsed.errors)
    for source in parsed.runs:
        result = _apply_mappings(source, tool, phase, inference_count)
        if isinstance(result, RowError):
            report.errors.append(result)
        else:
            report.runs.append(result)
    report.errors.sort(key=lambda error: error.line or 0)
    _make_labels_unique(report.runs)
    logger.info(
        "Read %s (tool %s, %s): %d runs, %d rows with errors", file_name, tool.name, phase,
        len(report.runs), len(report.errors),
    )
    return report


def _make_labels_unique(runs: list[ImportedRun]) -> None:
    """Append the line number to labels that several runs share, e.g. placeholder run ids."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
    for run in runs:
        if seen[run.label] > 1:
            run.label = f"{run.label} (line {run.line})"


def tool_spec_from_model(tool, phase: str) -> ToolSpec:
    """Build a ToolSpec from a CalculationTool row and its ToolMapping rows (duck-typed, no database access)."""
    mappings = []
    for mapping in tool.mappings:
        if mapping.phase != phase:
            continue
        if mapping.metric is not None:
            mappings.append(ColumnMapping(mapping.column, "metric", mapping.metric.key, mapping.column_unit,
                                          mapping.metric.unit, per_inference=bool(mapping.per_inference)))
        elif mapping.field is not None:
            mappings.append(ColumnMapping(mapping.column, "info", mapping.field.key, None, None))
    return ToolSpec(name=tool.name, file_format=tool.file_format, mappings=tuple(mappings))


@lru_cache(maxsize=64)
def quantity_kind(unit: str | None) -> str | None:
    """Return "energy", "time" or "mass" when the unit measures a run total, else None."""
    if not unit or not units.is_known_unit(unit):
        return None
    dimension = units.dimensionality(unit)
    for kind, reference in (("energy", "J"), ("time", "s"), ("mass", "kg")):
        if dimension == units.dimensionality(reference):
            return kind
    return None


def _check_tool(tool: ToolSpec, phase: str) -> None:
    """Reject a tool whose mappings cannot be applied: none for the phase, or units that do not convert."""
    if not tool.mappings:
        raise FileImportError(
            f"the tool {tool.name} has no column mappings for the {phase} phase; "
            "choose another tool or ask a QA manager to add mappings."
        )
    for mapping in tool.mappings:
        if not mapping.is_metric:
            continue
        if not mapping.metric_unit:
            raise FileImportError(f"the mapping of column {mapping.column} to metric {mapping.key} has no metric unit.")
        source_unit = mapping.column_unit or mapping.metric_unit
        try:
            units.convert(1.0, source_unit, mapping.metric_unit)
        except units.UnitError as exc:
            raise FileImportError(
                f"the tool {tool.name} maps column {mapping.column} ({source_unit}) to metric {mapping.key} "
                f"({mapping.metric_unit}), but {exc}; a QA manager must fix the mapping's unit."
            ) from None


def run_total_columns(tool: ToolSpec, phase: str) -> list[str]:
    """Return the mapped columns that an inference import divides by the number of inferences."""
    if phase != "inference":
        return []
    return [
        m.column for m in tool.mappings
        if m.is_metric and not m.per_inference and quantity_kind(m.column_unit or m.metric_unit)
    ]


def needs_inference_count(tool: ToolSpec, phase: str) -> bool:
    """Tell whether importing this tool's files for the phase needs the number of inferences."""
    return bool(run_total_columns(tool, phase))


def _check_inference_count(tool: ToolSpec, phase: str, inference_count: int | None) -> None:
    totals = run_total_columns(tool, phase)
    if not totals:
        return
    valid = isinstance(inference_count, int) and not isinstance(inference_count, bool) and inference_count >= 1
    if not valid:
        received = "it is missing" if inference_count is None else f"got {inference_count!r}"
        raise FileImportError(
            "enter the number of inferences the measured run performed (a whole number of at least 1), "
            f"so that {join_words(totals)} can be given per inference; {received}."
        )


def _check_columns(parsed: ParsedFile, tool: ToolSpec) -> list[str]:
    """Reject a file that has none of the mapped columns, or a mapped column twice; note the missing ones."""
    mapped = list(dict.fromkeys(mapping.column for mapping in tool.mappings))
    present = [column for column in mapped if column in parsed.columns]
    if not present:
        raise FileImportError(
            f"none of the columns of {tool.name} ({', '.join(mapped)}) is in the file, whose header has "
            f"{', '.join(parsed.columns[:12])}{'…' if len(parsed.columns) > 12 else ''}. "
            "Choose the tool that wrote the file."
        )
    ambiguous = [column for column in present if column in parsed.duplicate_columns]
    if ambiguous:
        raise FileImportError(
            f"the mapped column {join_words(ambiguous)} appears more than once in the header; rename the copies."
        )
    return [
        f"The file has no {mapping.column} column, so {mapping.key} is left out."
        for mapping in tool.mappings
        if mapping.column not in parsed.columns
    ]


def _apply_mappings(source: SourceRun, tool: ToolSpec, phase: str, inference_count: int | None) -> ImportedRun | RowError:
    """Turn a parsed run into an ImportedRun with mapped, converted values, or the row's error."""
    line = source.line
    info: dict[str, str] = {}
    notes = list(source.notes)
    problems: list[str] = []
    readings: list[tuple[ColumnMapping, float, str, str | None]] = []
    for mapping in tool.mappings:
        text = source.cells.get(mapping.column, "").strip()
        if not text or mapping.column in source.skipped_columns:
            continue
        if not mapping.is_metric:
            info[mapping.key] = text[:MAX_INFO_LENGTH]
            continue
        source_unit = mapping.column_unit or mapping.metric_unit
        value, problem = _read_value(mapping.column, text, source_unit)
        if problem:
            problems.append(problem)
        else:
            readings.append((mapping, value, source_unit, quantity_kind(source_unit)))
    if problems:
        return RowError(line, f"line {line}: {'; '.join(problems)}")

    # Run totals in kWh, kg and s: the parser's, else the first mapped run-total column of that kind.
    totals = {"energy": source.energy_kwh, "mass": source.emissions_kg, "time": source.duration_s}
    for mapping, value, source_unit, kind in readings:
        if _is_run_total(mapping, kind, phase) and totals[kind] is None and value != 0:
            totals[kind] = units.convert(value, source_unit, _TOTAL_UNITS[kind])

    values: dict[str, float] = {}
    run_total_keys: list[str] = []
    divided: list[str] = []
    already_per_inference: list[str] = []
    for mapping, value, source_unit, kind in readings:
        if value == 0 and kind == "energy":
            return RowError(line, no_energy_message(line, source_unit, totals["time"]))
        if value == 0 and kind is not None:
            notes.append(f"{mapping.column} is 0 {source_unit}, which means not measured, so {mapping.key} is left out.")
            continue
        if _is_run_total(mapping, kind, phase):
            run_total_keys.append(mapping.key)
            if phase == "inference":
                value = value / inference_count
                divided.append(mapping.column)
        elif phase == "inference" and kind is not None:
            already_per_inference.append(mapping.column)
        values[mapping.key] = units.convert(value, source_unit, mapping.metric_unit)

    if not values:
        metric_columns = [m.column for m in tool.mappings if m.is_metric]
        return RowError(line, f"line {line}: none of the mapped columns ({', '.join(metric_columns)}) has a value")
    if divided:
        notes.append(f"{join_words(divided)} {'is' if len(divided) == 1 else 'are'} divided by {inference_count:,} inferences.")
    if already_per_inference:
        several = len(already_per_inference) > 1
        notes.append(f"{join_words(already_per_inference)} {'are' if several else 'is'} already per inference, "
                     f"so {'they are' if several else 'it is'} not divided.")

    country = source.country_code
    if country is None and _ISO_ALPHA3.match(info.get("country", "")):
        country = info["country"].upper()
    return ImportedRun(
        label=source.label,
        line=line,
        values=values,
        info=info,
        energy_kwh=totals["energy"],
        emissions_kg=totals["mass"],
        duration_s=totals["time"],
        country_code=country,
        tool_version=source.tool_version,
        notes=notes,
        run_id=source.run_id,
        components_kwh=dict(source.components_kwh),
        pue=source.pue,
        cells=dict(source.cells),
        run_total_keys=run_total_keys,
    )


def _is_run_total(mapping: ColumnMapping, kind: str | None, phase: str) -> bool:
    """Tell whether a metric column contains a total of the measured run: energy, mass or time, not per inference."""
    if kind is None:
        return False
    return not (phase == "inference" and mapping.per_inference)


def _read_value(column: str, text: str, unit: str) -> tuple[float | None, str | None]:
    """Read a cell as a number in `unit`: plain, with a decimal comma, or with its own unit ("12 Wh")."""
    value = parse_number(text)
    if value is None:
        try:
            value = units.parse_quantity(text, unit)
        except units.UnitError:
            return None, f"{column} is {text[:40]!r}, not a number"
    invalid = describe_invalid(column, text, value, unit)
    if invalid:
        return None, invalid
    return value, None
