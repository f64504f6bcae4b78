"""Data types shared by the file importers, and the number checks every format uses.

The importers are pure: bytes and a tool description in, an ImportReport out. They never touch
Flask or the database, so the upload pages, the API and the tests call them the same way.
"""

import math
from dataclasses import dataclass, field

PHASES = ("training", "inference")


class FileImportError(ValueError):
    """A whole file that cannot be read; the message is meant for users and names the fix."""


@dataclass(frozen=True)
class ColumnMapping:
    """One column of a tool's output file and the metric or information field it feeds."""

    column: str
    # "metric" or "info".
    target: str
    # Metric key (e.g. "energy") or information-field key (e.g. "country").
    key: str
    # Unit of the column's values as pint reads it ("kWh", "kg", "s", "B", "FLOPs", "count"), or None.
    column_unit: str | None
    # Unit of the metric; None for information fields.
    metric_unit: str | None
    # True when an inference file's column already contains one inference's value, so it is not divided by the
    # number of inferences. False means a total of the measured run.
    per_inference: bool = False

    @property
    def is_metric(self) -> bool:
        return self.target == "metric"


@dataclass(frozen=True)
class ToolSpec:
    """A calculation tool as the importers need it: its file format and one phase's mappings."""

    name: str
    # "codecarbon", "tabular", "carbontracker" or "eco2ai".
    file_format: str
    mappings: tuple[ColumnMapping, ...]


@dataclass
class ImportedRun:
    """One measured run found in a file, with the mapped metric values in the metrics' units.

    For an inference import, values from energy, time and mass columns are divided by the number
    of inferences, so they are per inference, unless the tool marks the column as per inference
    already. energy_kwh, emissions_kg and duration_s stay the totals of the run.
    """

    # project_name and run id, or "line N" when the file names nothing.
    label: str
    # 1-based physical line of the row in the file; the header is line 1.
    line: int
    values: dict[str, float]
    info: dict[str, str]
    energy_kwh: float | None
    emissions_kg: float | None
    duration_s: float | None
    # ISO 3166-1 alpha-3 code when the file gives one.
    country_code: str | None
    tool_version: str | None
    # Non-fatal remarks shown to the user, e.g. "energy already includes PUE 1.58".
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None
    # CPU, GPU and RAM energy in kWh; None where the file has no split, never a made-up 0.
    components_kwh: dict[str, float | None] = field(default_factory=dict)
    # PUE the tool already multiplied into the energy figures, when the file states it.
    pue: float | None = None
    # The row as written in the file, header name -> text.
    cells: dict[str, str] = field(default_factory=dict)
    # Metric keys whose values come from run-total columns (energy, mass or time, not per inference). Only
    # these add up when rows that cover parts of one run are summed.
    run_total_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RowError:
    """A row that cannot be used (line set) or a whole file that cannot be used (line None)."""

    line: int | None
    message: str


@dataclass
class ImportReport:
    """Everything found in one uploaded file: usable runs, per-row errors and whole-file errors."""

    file_name: str
    sha256: str
    tool: str
    runs: list[ImportedRun]
    errors: list[RowError]
    # Remarks about the whole file, e.g. which CodeCarbon version its columns match.
    notes: list[str] = field(default_factory=list)

    @property
    def file_errors(self) -> list[RowError]:
        return [error for error in self.errors if error.line is None]

    @property
    def row_errors(self) -> list[RowError]:
        return [error for error in self.errors if error.line is not None]

    @property
    def ok(self) -> bool:
        """True when the file gave at least one run and has no whole-file error."""
        return bool(self.runs) and not self.file_errors


@dataclass
class SourceRun:
    """A usable run as a format parser found it, before the tool's mappings are applied."""

    line: int
    label: str
    # Column name -> text as written; the mappings read their columns from here.
    cells: dict[str, str]
    energy_kwh: float | None = None
    emissions_kg: float | None = None
    duration_s: float | None = None
    country_code: str | None = None
    tool_version: str | None = None
    run_id: str | None = None
    components_kwh: dict[str, float | None] = field(default_factory=dict)
    pue: float | None = None
    notes: list[str] = field(default_factory=list)
    # Columns the parser found unusable but harmless, such as a NaN power or a clock time as
    # duration. The mappings skip them, and the run's notes explain why.
    skipped_columns: set[str] = field(default_factory=set)


@dataclass
class ParsedFile:
    """Output of a format parser: its runs, its per-row errors and the columns it exposes."""

    columns: list[str]
    runs: list[SourceRun] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Header names that occur more than once; a mapping on one of them is ambiguous.
    duplicate_columns: set[str] = field(default_factory=set)


def parse_number(text: str) -> float | None:
    """Read a plain number as a tool writes it ("1.6e-06", "NaN", "-0.000412"); None when it is not one."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def describe_invalid(column: str, text: str, value: float, unit: str | None) -> str | None:
    """Return why a measured value is unusable (NaN, infinite, below zero), or None when it is fine."""
    if math.isnan(value):
        return f"{column} is NaN"
    if math.isinf(value):
        return f"{column} is infinite"
    if value < 0:
        unit_text = f" {unit}" if unit else ""
        return f"{column} is {text.strip()}{unit_text}, below zero"
    return None


def format_seconds(seconds: float | None) -> str:
    """Format a duration for messages: "51 s", "0.024 s", "2.1 h"."""
    if seconds is None:
        return "an unknown time"
    if seconds >= 3 * 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 10:
        return f"{seconds:.0f} s"
    return f"{seconds:.2g} s"


NO_ENERGY_ADVICE = (". The run was too short for the tool to measure, or the tool could not read the hardware's power: "
                    "remove the row or measure a longer run")


def no_energy_message(line: int, unit: str, duration_s: float | None) -> str:
    """Build the message for a row whose energy is 0, which means the tool measured nothing."""
    return f"line {line}: no energy measured (0 {unit} over {format_seconds(duration_s)}){NO_ENERGY_ADVICE}"


def join_words(words: list[str]) -> str:
    """Join names as prose: "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def short_id(identifier: str) -> str:
    """Shorten a UUID to its first 8 characters for labels; other ids stay whole."""
    if len(identifier) == 36 and identifier.count("-") == 4:
        return identifier[:8]
    return identifier
