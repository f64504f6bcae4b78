"""Metrics for QA managers: list, validate, create, edit and delete, with weights and boundaries in the draft scheme."""

import difflib
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select, update

from gaissa.extensions import db
from gaissa.models import Direction, Metric, MetricValue, SchemeEntry, ToolMapping
from gaissa.services import audit, scheme_admin, units
from gaissa.services.rating import HIGHER_IS_BETTER, LOWER_IS_BETTER, InvalidBoundaries, check_boundaries
from gaissa.services.text_search import contains_text
from gaissa.web.formatting import format_number, unit_label

logger = logging.getLogger(__name__)
KEY_MAX_LENGTH = 64
NAME_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
UNIT_MAX_LENGTH = 32
MAX_RECOMMENDATIONS = 30
RECOMMENDATION_MAX_LENGTH = 500
DIRECTION_NAMES = {
    Direction.LOWER_IS_BETTER.value: "Lower is better",
    Direction.HIGHER_IS_BETTER.value: "Higher is better",
}
BOUNDARY_FIELDS = ("b1", "b2", "b3", "b4")
METRIC_FIELDS = ("key", "phase", "name", "unit", "direction", "description", "how_to_measure", "recommendations")
UNIT_HINT = ("Use a unit such as kWh, J, g, kg, s, ms, MB, GFLOPs or B/g, 'count' for a number of things, "
             "or 'score' for a figure from 0 to 1.")
# Weights are relative, so a cap loses nothing: 1000 against 1 already makes the other metric negligible.
MAX_WEIGHT = 1000.0
# Units that metrics commonly use, offered when a typed unit is unknown or differs from one of them only in case.
COMMON_UNITS = (
    "kWh", "Wh", "mWh", "MWh", "GWh", "J", "mJ", "kJ", "MJ", "W", "kW", "g", "mg", "kg", "t", "g/kWh", "s", "ms",
    "µs", "min", "h", "B", "kB", "MB", "GB", "TB", "B/g", "FLOPs", "MFLOPs", "GFLOPs", "TFLOPs", "count", "score", "%",
)
# Units with a fixed scale: the inclusive range of their boundaries and what the unit measures.
# Boundaries of every other unit only need to be ≥ 0.
BOUNDED_UNITS = {"score": (0.0, 1.0, "a score"), "%": (0.0, 100.0, "a percentage"),
                 "percent": (0.0, 100.0, "a percentage")}
# Names of the quantity a unit measures, for messages, by pint dimensionality.
QUANTITY_NAMES = {
    "[mass] * [length] ** 2 / [time] ** 2": "an energy",
    "[mass] * [length] ** 2 / [time] ** 3": "a power",
    "[mass]": "a mass",
    "[time]": "a time",
    "[computation]": "a number of operations",
}


class MetricInputError(ValueError):
    """Invalid metric input; `errors` maps a form field name to a message for users."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass
class MetricInput:
    """The metric editor's input as typed. Numbers may carry a unit ("1.2 kWh")."""

    name: str
    unit: str
    direction: str
    weight: str
    b1: str
    b2: str
    b3: str
    b4: str
    description: str = ""
    how_to_measure: str = ""
    recommendations: str = ""


@dataclass(frozen=True)
class CleanMetric:
    name: str
    unit: str
    direction: str
    weight: float
    boundaries: tuple[float, float, float, float]
    description: str
    how_to_measure: str
    recommendations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MetricRow:
    metric: Metric
    entry: object | None
    value_count: int
    # True when the draft changes this metric's rating compared with the latest published version.
    in_draft: bool
    weight_share: float | None


@dataclass(frozen=True)
class DeletionImpact:
    values: int
    evaluations: int
    mappings: int
    published: bool


def slugify_key(name: str) -> str:
    """Derive a key from a name: ASCII lower case, runs of anything else become one underscore."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    key = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    return key[:KEY_MAX_LENGTH].rstrip("_")


def get_metric(metric_id: int) -> Metric | None:
    return db.session.get(Metric, metric_id)


def list_metrics(phase: str, text: str = "") -> list[MetricRow]:
    """Return the phase's metrics with their working weight, heaviest first; `text` filters names and keys."""
    scheme_admin.check_phase(phase)
    query = select(Metric).where(Metric.phase == phase)
    if text.strip():
        needle = text.strip()
        query = query.where(contains_text(Metric.name, needle) | contains_text(Metric.key, needle))
    metrics = db.session.scalars(query).all()

    working = scheme_admin.draft_of(phase) or scheme_admin.latest_published(phase)
    published = scheme_admin.latest_published(phase)
    working_entries = {entry.metric_key: entry for entry in (working.entries if working else [])}
    published_entries = {entry.metric_key: entry for entry in (published.entries if published else [])}
    total_weight = sum(max(0.0, entry.weight or 0.0) for entry in working_entries.values())
    counts = dict(db.session.execute(
        select(MetricValue.metric_id, func.count(MetricValue.id))
        .where(MetricValue.metric_id.in_([metric.id for metric in metrics]))
        .group_by(MetricValue.metric_id)
    ).all()) if metrics else {}

    rows = []
    for metric in metrics:
        entry = working_entries.get(metric.key)
        before = published_entries.get(metric.key)
        in_draft = working is not published and (
            (entry is None) != (before is None)
            or (entry is not None and before is not None
                and any(getattr(entry, name) != getattr(before, name) for name in scheme_admin.ENTRY_FIELDS))
        )
        share = (entry.weight / total_weight) if entry is not None and total_weight > 0 else None
        rows.append(MetricRow(metric, entry, counts.get(metric.id, 0), in_draft, share))
    rows.sort(key=lambda row: (-(row.entry.weight if row.entry is not None else -1.0), row.metric.name.lower()))
    return rows


def value_count(metric: Metric) -> int:
    return db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.metric_id == metric.id)) or 0


def deletion_impact(metric: Metric) -> DeletionImpact:
    """Count what deleting the metric removes: stored values (and their evaluations) and tool mappings."""
    values, evaluations = db.session.execute(
        select(func.count(MetricValue.id), func.count(func.distinct(MetricValue.evaluation_id)))
        .where(MetricValue.metric_id == metric.id)
    ).one()
    mappings = db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.metric_id == metric.id)) or 0
    published = scheme_admin.published_entry(metric.phase, metric.key) is not None
    return DeletionImpact(values or 0, evaluations or 0, mappings, published)


def clean(data: MetricInput, phase: str, metric: Metric | None = None) -> tuple[str, CleanMetric]:
    """Validate the editor's input; return (key, clean values) or raise MetricInputError with errors per field."""
    errors: dict[str, str] = {}

    name = (data.name or "").strip()
    key = metric.key if metric is not None else slugify_key(name)
    if not name:
        errors["name"] = "Enter the metric's name, e.g. 'Training energy'."
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = f"The name is {len(name)} characters long; the maximum is {NAME_MAX_LENGTH}."
    elif metric is None:
        if not key:
            errors["name"] = f"{name!r} gives an empty key; use letters or digits in the name."
        else:
            taken = db.session.scalar(select(Metric).where(Metric.key == key))
            if taken is not None:
                errors["name"] = (f"The key {key!r} is already used by the {taken.phase} metric {taken.name!r}; "
                                  "choose another name.")
    if name and "name" not in errors:
        namesake = _metric_named(name, phase, metric)
        if namesake is not None:
            errors["name"] = (f"The {phase} metric {namesake.name!r} (key {namesake.key}) already has this name; "
                              "choose another name so that labels and forms can tell them apart.")

    unit = (data.unit or "").strip()
    if not unit:
        errors["unit"] = f"Enter the unit of the values. {UNIT_HINT}"
    elif len(unit) > UNIT_MAX_LENGTH:
        errors["unit"] = f"The unit is {len(unit)} characters long; the maximum is {UNIT_MAX_LENGTH}."
    elif not units.is_known_unit(unit):
        suggestion = _suggest_units(unit)
        errors["unit"] = (f"The unit {unit!r} is not known; did you mean {suggestion}? Units are case-sensitive: "
                          "mWh is a milliwatt-hour, MWh a megawatt-hour." if suggestion
                          else f"The unit {unit!r} is not known. {UNIT_HINT}")
    elif (metric is None or unit != metric.unit) and (misread := _misread_unit(unit)):
        errors["unit"] = misread
    elif metric is not None and unit != metric.unit:
        stored = value_count(metric)
        if stored:
            errors["unit"] = (f"The unit cannot change from {metric.unit} to {unit} while {stored} stored values are "
                              f"in {metric.unit}; create a new metric for the new unit instead.")

    direction = data.direction
    if direction not in DIRECTION_NAMES:
        errors["direction"] = "Choose whether lower or higher values are better."

    weight = _number(data.weight, "weight", errors, required_message="Enter a weight ≥ 0; 0 leaves the metric "
                     "out of the overall grade.")
    if weight is not None and weight < 0:
        errors["weight"] = f"The weight must be ≥ 0; got {weight:g}."
    elif weight is not None and weight > MAX_WEIGHT:
        errors["weight"] = (f"The weight must be at most {MAX_WEIGHT:,.0f}; got {weight:g}. Weights are relative: "
                            "0.2 against 0.1 counts the same as 200 against 100.")

    unit_for_numbers = unit if "unit" not in errors else ""
    boundaries = [
        _quantity(getattr(data, name), name, unit_for_numbers, errors) for name in BOUNDARY_FIELDS
    ]
    _check_range(boundaries, unit_for_numbers, errors)
    if direction in DIRECTION_NAMES and all(value is not None for value in boundaries) \
            and not any(name in errors for name in BOUNDARY_FIELDS):
        _check_order(direction, boundaries, unit, errors)  # type: ignore[arg-type]

    description = (data.description or "").strip()
    how_to_measure = (data.how_to_measure or "").strip()
    for field_name, text in (("description", description), ("how_to_measure", how_to_measure)):
        if len(text) > TEXT_MAX_LENGTH:
            errors[field_name] = f"The text is {len(text)} characters long; the maximum is {TEXT_MAX_LENGTH}."
    recommendations = [line.strip() for line in (data.recommendations or "").splitlines() if line.strip()]
    if len(recommendations) > MAX_RECOMMENDATIONS:
        errors["recommendations"] = (f"{len(recommendations)} recommendations given; "
                                     f"the maximum is {MAX_RECOMMENDATIONS}.")
    elif any(len(line) > RECOMMENDATION_MAX_LENGTH for line in recommendations):
        errors["recommendations"] = f"Each recommendation may have at most {RECOMMENDATION_MAX_LENGTH} characters."

    if errors:
        raise MetricInputError(errors)
    return key, CleanMetric(name, unit, direction, weight, tuple(boundaries), description,  # type: ignore[arg-type]
                            how_to_measure, recommendations)


def create_metric(phase: str, data: MetricInput) -> Metric:
    """Add a metric of the phase and put its weight and boundaries into the phase's draft scheme."""
    scheme_admin.check_phase(phase)
    key, values = clean(data, phase)
    metric = Metric(
        key=key, phase=phase, name=values.name, unit=values.unit, direction=values.direction,
        description=values.description, how_to_measure=values.how_to_measure,
        recommendations=values.recommendations,
    )
    db.session.add(metric)
    db.session.flush()
    scheme_admin.set_entry(metric, values.weight, values.boundaries)
    audit.record("create", "metric", metric.key, None, _snapshot(metric),
                 f"Created {phase} metric {metric.name!r} ({metric.key}); its rating is in the draft scheme")
    logger.info("Created %s metric %s", phase, metric.key)
    return metric


def update_metric(metric: Metric, data: MetricInput) -> bool:
    """Save the editor's input; return True when the rating changed, which puts it into the draft scheme."""
    before = _snapshot(metric)
    _, values = clean(data, metric.phase, metric)
    metric.name = values.name
    metric.unit = values.unit
    metric.direction = values.direction
    metric.description = values.description
    metric.how_to_measure = values.how_to_measure
    metric.recommendations = values.recommendations
    db.session.flush()

    rating_changed = scheme_admin.set_entry(metric, values.weight, values.boundaries) is not None
    if not rating_changed:
        scheme_admin.sync_metric_details(metric)
    after = _snapshot(metric)
    if after != before:
        changed = ", ".join(audit.changed_fields(before, after))
        audit.record("update", "metric", metric.key, before, after,
                     f"Edited {metric.phase} metric {metric.name!r}: {changed}")
    return rating_changed


def delete_metric(metric: Metric) -> DeletionImpact:
    """Delete the metric with its stored values and tool mappings; it leaves the draft scheme.

    Published versions keep their copy of the metric (key, name, unit and boundaries), and stored
    evaluations keep their overall grade.
    """
    counts = deletion_impact(metric)
    before = _snapshot(metric)
    key, name, phase = metric.key, metric.name, metric.phase
    scheme_admin.remove_entry(metric.phase, metric.key)
    # Explicit deletes, because SQLite enforces no ON DELETE rule unless foreign keys are switched on.
    db.session.execute(update(SchemeEntry).where(SchemeEntry.metric_id == metric.id).values(metric_id=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(MetricValue.__table__.delete().where(MetricValue.metric_id == metric.id))
    db.session.execute(ToolMapping.__table__.delete().where(ToolMapping.metric_id == metric.id))
    db.session.delete(metric)
    db.session.flush()
    db.session.expire_all()
    audit.record("delete", "metric", key, before, None,
                 f"Deleted {phase} metric {name!r} with {counts.values} stored values and "
                 f"{counts.mappings} tool mappings")
    logger.info("Deleted metric %s (%d values)", key, counts.values)
    return counts


# --- The five-segment scale of the live preview ---------------------------------------------------


@dataclass(frozen=True)
class ScaleSegment:
    letter: str
    text: str


@dataclass(frozen=True)
class ScalePreview:
    segments: list[ScaleSegment]
    error: str = ""


def preview_scale(direction: str, raw_boundaries: list[str], unit: str) -> ScalePreview:
    """Return the value range of each grade for the editor's live preview, or an error message."""
    errors: dict[str, str] = {}
    unit = (unit or "").strip()
    known_unit = unit if unit and units.is_known_unit(unit) else ""
    numbers = [_quantity(text, name, known_unit, errors) for name, text in zip(BOUNDARY_FIELDS, raw_boundaries)]
    if errors or any(value is None for value in numbers):
        return ScalePreview([], "Enter the four boundaries to see the scale.")
    if direction not in DIRECTION_NAMES:
        return ScalePreview([], "Choose a direction to see the scale.")
    _check_range(numbers, known_unit, errors)
    if errors:
        return ScalePreview([], next(iter(errors.values())))
    try:
        check_boundaries(direction, numbers)  # type: ignore[arg-type]
    except InvalidBoundaries as exc:
        return ScalePreview([], f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    label = f" {unit_label(unit)}" if unit_label(unit) else ""
    shown = [f"{format_number(value, _digits_of(value))}{label}" for value in numbers]
    if direction == LOWER_IS_BETTER:
        texts = [f"≤ {shown[0]}", f"≤ {shown[1]}", f"≤ {shown[2]}", f"≤ {shown[3]}", f"> {shown[3]}"]
    else:
        texts = [f"≥ {shown[0]}", f"≥ {shown[1]}", f"≥ {shown[2]}", f"≥ {shown[3]}", f"< {shown[3]}"]
    return ScalePreview([ScaleSegment(letter, text) for letter, text in zip("ABCDE", texts)])


def _digits_of(value: float) -> int:
    """Return the significant digits that show a boundary as typed (at least 3), for the site's number format."""
    digits = len(Decimal(repr(value)).normalize().as_tuple().digits)
    return min(max(3, digits), 15)


# --- Helpers -------------------------------------------------------------------------------------


def _number(text: str, name: str, errors: dict[str, str], required_message: str) -> float | None:
    cleaned = (text or "").strip()
    if cleaned.count(",") == 1 and "." not in cleaned:  # a decimal comma, as in "0,25"
        cleaned = cleaned.replace(",", ".")
    if not cleaned:
        errors[name] = required_message
        return None
    try:
        number = float(cleaned)
    except ValueError:
        errors[name] = f"Enter a number; got {text.strip()!r}."
        return None
    if not math.isfinite(number):
        errors[name] = f"Enter a finite number; got {text.strip()!r}."
        return None
    return number


def _quantity(text: str, name: str, unit: str, errors: dict[str, str]) -> float | None:
    """Read a boundary as a number in the metric's unit; "1.2 MWh" is converted when the unit is known."""
    position = BOUNDARY_FIELDS.index(name) + 1
    if not (text or "").strip():
        errors[name] = f"Enter boundary {position}."
        return None
    if unit:
        try:
            return units.parse_quantity(text, unit)
        except units.UnitError as exc:
            errors[name] = f"Boundary {position}: {exc}."
            return None
    return _number(text, name, errors, required_message=f"Enter boundary {position}.")


def _check_range(boundaries: list[float | None], unit: str, errors: dict[str, str]) -> None:
    """Put an error on each boundary outside the values a metric can have.

    Rated values are never negative (the rating rejects them), so a negative boundary could never be
    reached. A score runs from 0 to 1 and a percentage from 0 to 100.
    """
    bounded = unit in BOUNDED_UNITS
    low, high, measured = BOUNDED_UNITS[unit] if bounded else (0.0, math.inf, _quantity_name(unit))
    for position, (name, value) in enumerate(zip(BOUNDARY_FIELDS, boundaries), start=1):
        if value is None or name in errors:
            continue
        if bounded and not low <= value <= high:
            hint = " For percentages use the unit %." if unit == "score" else ""
            errors[name] = (f"Boundary {position} must be from {low:g} to {high:g}, the range of {measured}; "
                            f"got {value:g}.{hint}")
        elif value < 0:
            shown_unit = f" {unit}" if unit_label(unit) else ""
            errors[name] = (f"Boundary {position} must be ≥ 0, because {measured} cannot be negative; "
                            f"got {value:g}{shown_unit}.")


def _quantity_name(unit: str) -> str:
    """Name what a known unit measures ("an energy", "a data size"), for messages."""
    if unit == "count":
        return "a count"
    if unit in ("B", "kB", "MB", "GB", "TB"):  # bytes are dimensionless in pint
        return "a data size"
    if not unit:
        return "a rated value"
    return QUANTITY_NAMES.get(units.dimensionality(unit), f"a value in {unit}")


def _suggest_units(unit: str) -> str:
    """Return "kWh", "mWh or MWh", or "" for a typed unit that resembles none of the common units."""
    same_letters = [known for known in COMMON_UNITS if known.lower() == unit.lower()]
    candidates = same_letters or difflib.get_close_matches(unit, COMMON_UNITS, n=2, cutoff=0.75)
    return " or ".join(candidates)


def _misread_unit(unit: str) -> str:
    """Return an error for a unit that pint reads as something else than the common unit it is spelt like, else "".

    For example pint reads "mb" as millibarn (an area), not MB (megabyte).
    """
    if unit in COMMON_UNITS:
        return ""
    for known in COMMON_UNITS:
        if known.lower() != unit.lower():
            continue
        try:
            same = units.convert(1.0, unit, known) == 1.0
        except units.UnitError:
            same = False
        if not same:
            meaning = str(units.registry().parse_units(unit))
            return (f"The unit {unit!r} means {meaning.replace('_', ' ')}; did you mean {known}? "
                    "Units are case-sensitive.")
    return ""


def _metric_named(name: str, phase: str, metric: Metric | None) -> Metric | None:
    """Return another metric of the phase with this name, ignoring case.

    Names are compared in Python, because SQLite's lower() changes only ASCII letters.
    """
    # NOTE: two managers saving the same name at the same instant both pass this check. No unique
    # constraint on (phase, name) backs it, because names are compared without case.
    folded = name.casefold()
    for candidate in db.session.scalars(select(Metric).where(Metric.phase == phase)):
        if candidate.name.strip().casefold() == folded and (metric is None or candidate.id != metric.id):
            return candidate
    return None


def _check_order(direction: str, boundaries: list[float], unit: str, errors: dict[str, str]) -> None:
    """Put an error on each boundary that breaks the strict order the direction needs."""
    try:
        check_boundaries(direction, boundaries)
        return
    except InvalidBoundaries:
        pass
    higher = direction == HIGHER_IS_BETTER
    for index in range(1, 4):
        previous, current = boundaries[index - 1], boundaries[index]
        ordered = current < previous if higher else current > previous
        if not ordered:
            relation = "below" if higher else "above"
            errors[BOUNDARY_FIELDS[index]] = (
                f"Boundary {index + 1} must be strictly {relation} boundary {index} ({previous:g} {unit}) "
                f"for a {'higher' if higher else 'lower'}-is-better metric; got {current:g}."
            )
    errors["boundaries"] = (
        "Boundaries must decrease strictly from A/B to D/E for a higher-is-better metric."
        if higher else "Boundaries must increase strictly from A/B to D/E for a lower-is-better metric."
    )


def _snapshot(metric: Metric) -> dict:
    snapshot = audit.snapshot(metric, METRIC_FIELDS)
    entry = scheme_admin.working_entry(metric.phase, metric.key)
    if entry is not None:
        snapshot.update(audit.snapshot(entry, ("weight", "b1", "b2", "b3", "b4")))
    return snapshot
