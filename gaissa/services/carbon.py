"""Carbon intensity of electricity per country and year: import from Our World in Data, and lookup.

Values are stored in g CO2eq/kWh. The import reads the OWID grapher CSV and its other known
layouts (see VALUE_COLUMNS) and upserts every (country, year), so running it again with the same
file changes nothing. A lookup gives a country's latest year with data, or the world value of its
latest year when the country is unknown or has no data, always with the data year.

Codes: ISO 3166-1 alpha-3 for countries; OWID_ codes for OWID's own entities, which are
aggregates (OWID_WRL is the world) except the territories in OWID_TERRITORIES; no code for
regional aggregates such as "Africa (Ember)". Aggregates never match a country lookup.
"""

import csv
import io
import logging
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models.geo import WORLD_CODE, CarbonIntensity, Country
from gaissa.services.catalogue_defaults import WORLD_INTENSITY_2024_G_PER_KWH

logger = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "owid-carbon-intensity-electricity.csv"

# A country's latest value is flagged stale when it is more than this many years older than the
# newest year in the database (Western Sahara's latest OWID value is from 2009).
STALE_AFTER_YEARS = 5

# OWID_ codes of real territories, which OWID gives its own code because they have no ISO code.
OWID_TERRITORIES = frozenset({"OWID_KOS"})
# Other codes users type for those territories: XKX is the user-assigned code the EU uses for Kosovo.
CODE_ALIASES = {"XKX": "OWID_KOS"}

# Header names, compared after normalise_header(), of the columns the import reads.
ENTITY_COLUMNS = ("entity", "country")
CODE_COLUMNS = ("code", "isocode")
YEAR_COLUMNS = ("year",)
# Value column -> its unit. OWID grapher headers old and new, owid-energy-data, and kg variants.
VALUE_COLUMNS = {
    "Carbon intensity of electricity - gCO2/kWh": "g/kWh",
    "Carbon intensity of electricity (gCO2/kWh)": "g/kWh",
    "Carbon intensity of electricity (gCO2eq/kWh)": "g/kWh",
    "co2_intensity__gco2_kwh": "g/kWh",
    "carbon_intensity_elec": "g/kWh",
    "Carbon intensity of electricity - kgCO2/kWh": "kg/kWh",
    "Carbon intensity of electricity (kgCO2/kWh)": "kg/kWh",
    "Carbon intensity of electricity (kgCO2eq/kWh)": "kg/kWh",
    "co2_intensity__kgco2_kwh": "kg/kWh",
    "carbon_intensity_kg_per_kwh": "kg/kWh",
}
# Real grid intensities lie between 0 and about 1,300 g/kWh, so a g/kWh column whose values sit
# below 1 was written in kg/kWh, and a kg/kWh column whose values sit above 5 was written in g/kWh.
_SUSPECT_BELOW_G = 1.0
_SUSPECT_ABOVE_KG = 5.0
_MAX_PROBLEMS_SHOWN = 5
# Length of the countries.name column.
MAX_NAME_LENGTH = 200


class CarbonFileError(ValueError):
    """A carbon-intensity file that cannot be imported; nothing is written. The message names the fix."""


@dataclass(frozen=True)
class IntensityRow:
    line: int
    name: str
    code: str | None
    year: int
    g_per_kwh: float


@dataclass(frozen=True)
class ParsedIntensities:
    """The usable rows of a carbon-intensity file, already in g/kWh."""

    rows: tuple[IntensityRow, ...]
    value_column: str
    # Unit of the file's value column: "g/kWh" or "kg/kWh".
    unit: str
    # Rows whose value cell is empty, e.g. a country without data for that year.
    skipped_rows: int
    warnings: tuple[str, ...]

    @property
    def newest_year(self) -> int:
        return max(row.year for row in self.rows)


@dataclass(frozen=True)
class ImportCounts:
    """How many (country, year) values an import created, changed and left as they were."""

    created: int
    updated: int
    unchanged: int
    countries_created: int = 0


@dataclass(frozen=True)
class IntensityLookup:
    """A carbon intensity with the year and the country or aggregate it belongs to."""

    g_per_kwh: float
    year: int
    code: str
    name: str
    # True when the world value is returned because the country is unknown or has no data.
    is_world_fallback: bool
    # True when the year is more than STALE_AFTER_YEARS older than the newest year in the database.
    is_stale: bool


def normalise_header(name: str) -> str:
    """Lower-case a header and drop spaces, dots and underscores, so spelling variants compare equal."""
    return re.sub(r"[\s._]+", "", name.strip().lstrip("\ufeff")).lower()


_VALUE_LOOKUP = {normalise_header(name): unit for name, unit in VALUE_COLUMNS.items()}


def is_aggregate_code(code: str | None) -> bool:
    """Tell whether a code belongs to an aggregate (no code, or an OWID_ code that is not a territory)."""
    if code is None:
        return True
    return code.startswith("OWID_") and code not in OWID_TERRITORIES


def parse_owid_csv(data: bytes | str) -> ParsedIntensities:
    """Read an OWID carbon-intensity CSV into rows in g/kWh, raising CarbonFileError on any bad row."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CarbonFileError(f"the carbon-intensity file is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    else:
        text = data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise CarbonFileError("the carbon-intensity file is empty")
    columns = _find_columns(header)

    rows: list[IntensityRow] = []
    problems: list[str] = []
    skipped = 0
    seen: dict[tuple[str, int], int] = {}
    previous_end = reader.line_num
    for fields in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in fields):
            continue
        if len(fields) < len(header):
            problems.append(f"line {line}: {len(fields)} fields, header has {len(header)}")
            continue
        row, problem = _read_row(line, fields, columns)
        if problem:
            problems.append(problem)
            continue
        if row is None:
            skipped += 1
            continue
        key = (row.name, row.year)
        if key in seen:
            problems.append(f"line {line}: {row.name} {row.year} already appears on line {seen[key]}")
            continue
        seen[key] = line
        rows.append(row)

    problems.extend(_code_conflicts(rows))
    if problems:
        listed = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - _MAX_PROBLEMS_SHOWN} more)" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
        raise CarbonFileError(f"the carbon-intensity file has invalid rows, so nothing was imported: {listed}{more}")
    if not rows:
        raise CarbonFileError("the carbon-intensity file has no values: every row's value cell is empty")

    unit = columns["unit"]
    warnings = _suspect_values(rows, unit)
    if unit == "kg/kWh":
        rows = [_in_grams(row) for row in rows]
    return ParsedIntensities(tuple(rows), columns["value_name"], unit, skipped, tuple(warnings))


def _find_columns(header: list[str]) -> dict:
    normalised = [normalise_header(name) for name in header]

    def index_of(aliases: tuple[str, ...]) -> int | None:
        return next((i for i, name in enumerate(normalised) if name in aliases), None)

    value_index = next((i for i, name in enumerate(normalised) if name in _VALUE_LOOKUP), None)
    if value_index is None:
        known = ", ".join(repr(name) for name in VALUE_COLUMNS)
        raise CarbonFileError(
            f"no known carbon-intensity column in the header ({', '.join(header)}); "
            f"expected one of {known}. Download the OWID grapher CSV \"carbon-intensity-electricity\"."
        )
    found = {"entity": index_of(ENTITY_COLUMNS), "code": index_of(CODE_COLUMNS), "year": index_of(YEAR_COLUMNS)}
    missing = [name for name, index in found.items() if index is None]
    if missing:
        raise CarbonFileError(
            f"the carbon-intensity file has no {', '.join(missing)} column; the header has {', '.join(header)}."
        )
    return {
        **found,
        "value": value_index,
        "value_name": header[value_index].strip().lstrip("\ufeff"),
        "unit": _VALUE_LOOKUP[normalised[value_index]],
    }


def _read_row(line: int, fields: list[str], columns: dict) -> tuple[IntensityRow | None, str | None]:
    """Return the row, or None for a row without a value, or a problem message."""
    name = fields[columns["entity"]].strip()
    code = fields[columns["code"]].strip().upper() or None
    year_text = fields[columns["year"]].strip()
    value_text = fields[columns["value"]].strip()

    if not value_text or value_text.lower() == "nan":
        return None, None
    if not name:
        return None, f"line {line}: the entity name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return None, f"line {line}: the entity name is longer than {MAX_NAME_LENGTH} characters"
    if code is not None and len(code) > 16:
        return None, f"line {line}: code {code[:20]!r} is longer than 16 characters"
    try:
        year = int(year_text)
    except ValueError:
        return None, f"line {line}: year {year_text!r} is not a whole number"
    try:
        value = float(value_text)
    except ValueError:
        return None, f"line {line}: carbon intensity {value_text!r} is not a number"
    if math.isinf(value) or value < 0:
        return None, f"line {line}: carbon intensity of {name} {year} is {value_text}, which is not a value ≥ 0"
    return IntensityRow(line, name, code, year, value), None


def _code_conflicts(rows: list[IntensityRow]) -> list[str]:
    """List codes used by two names and names used with two codes, which would merge or split a country."""
    names_by_code: dict[str, str] = {}
    codes_by_name: dict[str, str | None] = {}
    problems = []
    for row in rows:
        if row.code is not None and names_by_code.setdefault(row.code, row.name) != row.name:
            problems.append(f"line {row.line}: code {row.code} is used by {names_by_code[row.code]} and {row.name}")
        if codes_by_name.setdefault(row.name, row.code) != row.code:
            problems.append(f"line {row.line}: {row.name} has the codes {codes_by_name[row.name]} and {row.code}")
    return problems


def _suspect_values(rows: list[IntensityRow], unit: str) -> list[str]:
    """Raise for a column whose values are in the other unit, and warn about single odd values."""
    positive = [row.g_per_kwh for row in rows if row.g_per_kwh > 0]
    if not positive:
        return []
    median = statistics.median(positive)
    if unit == "g/kWh" and median < _SUSPECT_BELOW_G:
        raise CarbonFileError(
            f"the values under the g/kWh header have a median of {median:g}, which is a kg/kWh figure; "
            "convert the column to g/kWh or name it in kg/kWh (e.g. 'Carbon intensity of electricity (kgCO2/kWh)')."
        )
    if unit == "kg/kWh" and median > _SUSPECT_ABOVE_KG:
        raise CarbonFileError(
            f"the values under the kg/kWh header have a median of {median:g}, which is a g/kWh figure; "
            "name the column in g/kWh (e.g. 'Carbon intensity of electricity - gCO2/kWh')."
        )
    warnings = []
    for row in rows:
        if unit == "g/kWh" and 0 < row.g_per_kwh < _SUSPECT_BELOW_G:
            warnings.append(f"line {row.line}: {row.name} {row.year} is {row.g_per_kwh:g} g/kWh, suspiciously low")
        if unit == "kg/kWh" and row.g_per_kwh > _SUSPECT_ABOVE_KG:
            warnings.append(f"line {row.line}: {row.name} {row.year} is {row.g_per_kwh:g} kg/kWh, suspiciously high")
    return warnings


def _in_grams(row: IntensityRow) -> IntensityRow:
    # 15 significant digits drop the binary noise of the product (0.056039 × 1000 = 56.039000000000004).
    grams = float(f"{row.g_per_kwh * 1000:.15g}")
    return IntensityRow(row.line, row.name, row.code, row.year, grams)


def import_owid(data: bytes | str) -> ImportCounts:
    """Upsert every (country, year) value of an OWID file; a bad file raises CarbonFileError and writes nothing.

    The session is flushed, not committed: the caller commits, so the whole import is one transaction.
    """
    parsed = parse_owid_csv(data)
    all_countries = list(db.session.scalars(select(Country)))
    countries_by_code = {country.code: country for country in all_countries if country.code}
    countries_by_name = {country.name: country for country in all_countries}
    existing = {
        (value.country_id, value.year): value for value in db.session.scalars(select(CarbonIntensity))
    }

    created = updated = unchanged = countries_created = 0
    countries: dict[str, Country] = {}
    for row in parsed.rows:
        country = countries.get(row.name)
        if country is None:
            country, is_new = _country_for(row, countries_by_code, countries_by_name)
            countries[row.name] = country
            countries_created += is_new

        current = existing.get((country.id, row.year)) if country.id is not None else None
        if current is None:
            country.intensities.append(CarbonIntensity(year=row.year, g_per_kwh=row.g_per_kwh))
            created += 1
        elif math.isclose(current.g_per_kwh, row.g_per_kwh, rel_tol=1e-12, abs_tol=1e-12):
            unchanged += 1
        else:
            current.g_per_kwh = row.g_per_kwh
            updated += 1
    db.session.flush()

    counts = ImportCounts(created, updated, unchanged, countries_created)
    logger.info(
        "Imported carbon intensities from column %r: %s, %d rows without a value skipped",
        parsed.value_column, counts, parsed.skipped_rows,
    )
    for warning in parsed.warnings[:_MAX_PROBLEMS_SHOWN]:
        logger.warning("Carbon-intensity import: %s", warning)
    return counts


def _country_for(
    row: IntensityRow, by_code: dict[str, Country], by_name: dict[str, Country]
) -> tuple[Country, bool]:
    """Find the row's country by code, else by name, else create it; keep its name and code current."""
    country = by_code.get(row.code) if row.code else None
    if country is None:
        country = by_name.get(row.name)
    if country is None:
        country = Country(code=row.code, name=row.name, is_aggregate=is_aggregate_code(row.code))
        db.session.add(country)
        by_name[row.name] = country
        if row.code:
            by_code[row.code] = country
        return country, True

    # OWID renames entities now and then; the code identifies them.
    if country.name != row.name and row.name not in by_name:
        by_name.pop(country.name, None)
        country.name = row.name
        by_name[row.name] = country
    if row.code and country.code != row.code and row.code not in by_code:
        country.code = row.code
        by_code[row.code] = country
    country.is_aggregate = is_aggregate_code(country.code)
    return country, False


def intensity_for(code_or_name: str | None) -> IntensityLookup:
    """Return the latest carbon intensity of a country (ISO alpha-3 code or name), else the world value."""
    newest = db.session.scalar(select(func.max(CarbonIntensity.year)))
    country = _find_country(code_or_name)
    if country is not None:
        latest = _latest(country)
        if latest is not None:
            return _lookup(country, latest, newest, is_world_fallback=False)

    world = db.session.scalar(select(Country).where(Country.code == WORLD_CODE))
    latest = _latest(world) if world is not None else None
    if latest is None:
        # NOTE: only before the first import; `flask gaissa import-carbon-intensity` loads the shipped file.
        logger.warning("No carbon intensities imported; using the world value of 2024, %s g/kWh", WORLD_INTENSITY_2024_G_PER_KWH)
        return IntensityLookup(WORLD_INTENSITY_2024_G_PER_KWH, 2024, WORLD_CODE, "World", True, False)
    return _lookup(world, latest, newest, is_world_fallback=True)


def _find_country(code_or_name: str | None) -> Country | None:
    text = (code_or_name or "").strip()
    if not text:
        return None
    code = CODE_ALIASES.get(text.upper(), text.upper())
    country = db.session.scalar(select(Country).where(Country.code == code, Country.is_aggregate.is_(False)))
    if country is None:
        country = db.session.scalar(
            select(Country).where(func.lower(Country.name) == text.lower(), Country.is_aggregate.is_(False))
        )
    return country


def _latest(country: Country) -> CarbonIntensity | None:
    return db.session.scalar(
        select(CarbonIntensity).where(CarbonIntensity.country_id == country.id).order_by(CarbonIntensity.year.desc()).limit(1)
    )


def _lookup(country: Country, value: CarbonIntensity, newest: int | None, is_world_fallback: bool) -> IntensityLookup:
    is_stale = newest is not None and newest - value.year > STALE_AFTER_YEARS
    return IntensityLookup(
        g_per_kwh=value.g_per_kwh,
        year=value.year,
        code=country.code or "",
        name=country.name,
        is_world_fallback=is_world_fallback,
        is_stale=is_stale,
    )


def countries_with_data() -> list[tuple[str, str]]:
    """Return (code, name) of every country (not aggregate) with at least one value, sorted by name."""
    query = (
        select(Country.code, Country.name)
        .where(Country.is_aggregate.is_(False), Country.code.is_not(None))
        .where(select(CarbonIntensity.id).where(CarbonIntensity.country_id == Country.id).exists())
        .order_by(Country.name)
    )
    return [(code, name) for code, name in db.session.execute(query)]
