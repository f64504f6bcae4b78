"""Create evaluations: read and validate values against the current rating scheme, rate them, save them.

Used by the web forms, the file and endpoint flows (through drafts), the API and the CLI. Nothing is
written unless every value is valid; the caller commits.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import (
    Evaluation,
    EvaluationDraft,
    EvaluationSource,
    InfoField,
    InfoValue,
    Metric,
    MetricValue,
    MLModel,
    Phase,
)
from gaissa.models.base import utcnow
from gaissa.services import schemes, units
from gaissa.services.rating import InvalidValue, MetricRule, RatingResult, rate, validate_value

logger = logging.getLogger(__name__)
PHASES = tuple(phase.value for phase in Phase)
MAX_INFO_LENGTH = 2000


class EvaluationInputError(ValueError):
    """Invalid input for an evaluation; `errors` maps a field name to a message for users.

    Field names: "phase", "model_id", "values" (the whole set), "values.<metric key>",
    "info.<field key>", "inference_count".
    """

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass
class EvaluationInput:
    phase: str
    model_id: int | None = None
    # Metric key -> a number, or text as typed ("1.2 MWh", "0.8"); None or "" means not given.
    values: Mapping[str, Any] = field(default_factory=dict)
    # Info-field key -> text; "" means not given.
    info: Mapping[str, str] = field(default_factory=dict)
    source: str = EvaluationSource.FORM
    provenance: dict[str, Any] = field(default_factory=dict)
    value_provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    inference_count: int | None = None
    measurement: dict[str, Any] | None = None
    registered_at: datetime | None = None


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        raise EvaluationInputError({"phase": f"Unknown phase {phase!r}; use training or inference."})
    return phase


def metrics_of_phase(phase: str) -> list[Metric]:
    """Return the phase's metrics, heaviest in the current scheme first."""
    scheme = schemes.current_scheme(phase)
    weights = {entry.metric_key: entry.weight for entry in scheme.entries}
    metrics = db.session.scalars(select(Metric).where(Metric.phase == phase)).all()
    return sorted(metrics, key=lambda metric: (-(weights.get(metric.key) or 0.0), metric.name))


def info_fields_of_phase(phase: str) -> list[InfoField]:
    return list(db.session.scalars(select(InfoField).where(InfoField.phase == phase).order_by(InfoField.position)))


def parse_values(phase: str, raw: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """Convert typed values to numbers in each metric's unit and validate them; return (values, errors)."""
    metrics = {metric.key: metric for metric in metrics_of_phase(phase)}
    scheme_rules = {rule.key: rule for rule in schemes.rules_for(schemes.current_scheme(phase))}
    values: dict[str, float] = {}
    errors: dict[str, str] = {}

    for key, entered in raw.items():
        if entered is None or (isinstance(entered, str) and not entered.strip()):
            continue
        metric = metrics.get(key)
        if metric is None:
            known = ", ".join(sorted(metrics))
            errors[f"values.{key}"] = f"Unknown {phase} metric {key!r}; known metrics: {known}."
            continue
        try:
            number = units.parse_quantity(entered, metric.unit) if isinstance(entered, str) else float(entered)
        except (units.UnitError, TypeError, ValueError) as exc:
            errors[f"values.{key}"] = f"{metric.name}: {exc}."
            continue
        rule = scheme_rules.get(key) or MetricRule(
            key=key, name=metric.name, unit=metric.unit, direction=metric.direction, weight=0.0,
            boundaries=(0.0, 0.0, 0.0, 0.0), zero_is_missing=schemes.zero_is_missing(metric.unit),
        )
        try:
            values[key] = validate_value(rule, number)
        except InvalidValue as exc:
            errors[f"values.{key}"] = str(exc)
            continue
        range_error = _check_unit_range(metric, values[key])
        if range_error:
            errors[f"values.{key}"] = range_error
            del values[key]
    return values, errors


def _check_unit_range(metric: Metric, number: float) -> str | None:
    """Scores lie between 0 and 1 and counts are whole numbers; return the message when `number` is neither."""
    if metric.unit == "score" and number > 1:
        return (f"{metric.name} is a score from 0 to 1; got {number:g}. "
                f"For a percentage, write it with the sign, e.g. '{min(number, 100):g} %'.")
    if metric.unit == "count" and number != int(number):
        return f"{metric.name} is a count and must be a whole number; got {number:g}."
    return None


def parse_info(phase: str, raw: Mapping[str, str]) -> tuple[dict[InfoField, str], dict[str, str]]:
    fields = {info_field.key: info_field for info_field in info_fields_of_phase(phase)}
    chosen: dict[InfoField, str] = {}
    errors: dict[str, str] = {}
    for key, given in raw.items():
        text = (given or "").strip() if isinstance(given, str) else str(given)
        if not text:
            continue
        info_field = fields.get(key)
        if info_field is None:
            errors[f"info.{key}"] = f"Unknown {phase} information field {key!r}; known fields: {', '.join(sorted(fields))}."
        elif info_field.options and text not in info_field.options:
            errors[f"info.{key}"] = f"{info_field.name} must be one of: {', '.join(info_field.options)}; got {text!r}."
        elif info_field.key == "country" and not _is_known_country(text):
            errors[f"info.{key}"] = (f"Unknown country {text!r}; enter an ISO 3166 alpha-3 code such as ESP or a "
                                     "country name such as Spain, or leave it empty.")
        elif len(text) > MAX_INFO_LENGTH:
            errors[f"info.{key}"] = f"{info_field.name} is {len(text)} characters long; the maximum is {MAX_INFO_LENGTH}."
        else:
            chosen[info_field] = text
    return chosen, errors


def _is_known_country(text: str) -> bool:
    """Return True when the carbon-intensity data contains the country (always True while that data is not loaded)."""
    try:
        from gaissa.services import carbon
    except ImportError:
        return True
    if not carbon.countries_with_data():
        return True
    try:
        return not carbon.intensity_for(text).is_world_fallback
    except LookupError:
        return False


def derive_emissions(values: dict[str, float], info: Mapping[str, str]) -> dict[str, Any] | None:
    """Derive training CO2 from energy × the country's carbon intensity when emissions are missing.

    Returns the value's provenance, or None when nothing could be derived (no energy, no country,
    or no carbon-intensity data for that country).
    """
    if "co2_eq_emissions" in values or "energy" not in values:
        return None
    country = (info.get("country") or "").strip()
    if not country:
        return None
    try:
        from gaissa.services import carbon
    except ImportError:  # the carbon service is optional until the carbon-intensity data is installed
        return None
    try:
        lookup = carbon.intensity_for(country)
    except LookupError:
        return None
    if lookup is None or lookup.is_world_fallback:
        return None
    values["co2_eq_emissions"] = values["energy"] * lookup.g_per_kwh
    return {
        "kind": "derived",
        "formula": "energy × carbon intensity",
        "country": lookup.code,
        "country_name": lookup.name,
        "carbon_intensity_g_per_kwh": lookup.g_per_kwh,
        "carbon_intensity_year": lookup.year,
    }


def create_evaluation(data: EvaluationInput, user_id: int | None = None) -> Evaluation:
    """Validate, rate and add an evaluation with its values; raise EvaluationInputError and write nothing on bad input."""
    phase = check_phase(data.phase)
    errors: dict[str, str] = {}

    model = db.session.get(MLModel, data.model_id) if data.model_id is not None else None
    if model is None:
        errors["model_id"] = (
            "Select a model or create one." if data.model_id is None else f"No model with id {data.model_id}."
        )

    values, value_errors = parse_values(phase, data.values)
    errors.update(value_errors)
    info, info_errors = parse_info(phase, data.info)
    errors.update(info_errors)

    inference_count = data.inference_count
    if inference_count is not None and inference_count < 1:
        errors["inference_count"] = f"The number of inferences must be at least 1; got {inference_count}."

    value_provenance = {key: dict(item) for key, item in (data.value_provenance or {}).items()}
    if phase == Phase.TRAINING and not errors:
        derived = derive_emissions(values, {info_field.key: text for info_field, text in info.items()})
        if derived is not None:
            value_provenance["co2_eq_emissions"] = derived
    if not values and not value_errors:
        errors["values"] = "Enter at least one metric value."
    if errors:
        raise EvaluationInputError(errors)

    scheme = schemes.current_scheme(phase)
    rating = rate(schemes.rules_for(scheme), values)
    metrics = {metric.key: metric for metric in db.session.scalars(select(Metric).where(Metric.key.in_(values)))}
    evaluation = Evaluation(
        model=model, phase=phase, scheme=scheme, overall_grade=rating.overall_letter,
        graded_count=rating.graded_count, scheme_metric_count=rating.rated_metric_count,
        source=data.source, provenance=dict(data.provenance or {}), inference_count=inference_count,
        country_code=_country_code(info), measurement=data.measurement, created_by_id=user_id,
        registered_at=data.registered_at or utcnow(),
    )
    for key, number in values.items():
        grade = rating.metrics.get(key)
        evaluation.values.append(MetricValue(
            metric=metrics[key], metric_key=key, value=number, unit=metrics[key].unit,
            grade=grade.letter if grade else None,
            provenance=value_provenance.get(key) or {"kind": data.source},
        ))
    for info_field, text in info.items():
        evaluation.info_values.append(InfoValue(field=info_field, value=text))
    db.session.add(evaluation)
    db.session.flush()
    logger.info("Created %s evaluation %s of model %s (grade %s, source %s)",
                phase, evaluation.id, model.id, evaluation.overall_grade, data.source)
    return evaluation


def rerate(evaluation: Evaluation, scheme=None) -> RatingResult:
    """Rate an evaluation's stored values again, under its own scheme or under `scheme`."""
    target = scheme or evaluation.scheme
    return rate(schemes.rules_for(target), {value.metric_key: value.value for value in evaluation.values})


def create_model(name: str, author: str | None = None, description: str | None = None,
                 user_id: int | None = None) -> MLModel:
    """Add a user-created model; raise EvaluationInputError for a missing or too long name."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Enter the model's name."
    elif len(name) > 300:
        errors["name"] = f"The name is {len(name)} characters long; the maximum is 300."
    if author and len(author.strip()) > 200:
        errors["author"] = f"The author is {len(author.strip())} characters long; the maximum is 200."
    if errors:
        raise EvaluationInputError(errors)
    model = MLModel(name=name, author=(author or "").strip() or None,
                    description=(description or "").strip() or None, created_by_id=user_id)
    db.session.add(model)
    db.session.flush()
    logger.info("Created model %s %r", model.id, model.name)
    return model


def create_draft(phase: str, source: str, values: dict[str, float], info: dict[str, str] | None = None,
                 provenance: dict[str, Any] | None = None, value_provenance: dict[str, Any] | None = None,
                 measurement: dict[str, Any] | None = None, inference_count: int | None = None,
                 model_name: str | None = None, notes: list[str] | None = None) -> EvaluationDraft:
    """Store values waiting for review; the pre-filled form is opened with ?draft=<id>."""
    draft = EvaluationDraft(
        phase=check_phase(phase), source=source, values=values, info=info or {}, provenance=provenance or {},
        value_provenance=value_provenance or {}, measurement=measurement, inference_count=inference_count,
        model_name=model_name, notes=notes or [],
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def get_draft(draft_id: str | None) -> EvaluationDraft | None:
    return db.session.get(EvaluationDraft, draft_id) if draft_id else None


def _country_code(info: dict[InfoField, str]) -> str | None:
    for info_field, text in info.items():
        if info_field.key == "country":
            return text[:8].upper() if len(text) <= 3 else None
    return None


def format_for_input(value: float) -> str:
    """Write a number for a form field without losing precision or adding binary noise."""
    return f"{value:.12g}"


def input_from_draft(draft: EvaluationDraft, model_id: int | None, values: Mapping[str, str],
                     info: Mapping[str, str]) -> EvaluationInput:
    """Combine a reviewed form with its draft. Unchanged values keep the draft's provenance, and edited values record the edit."""
    value_provenance: dict[str, dict[str, Any]] = {}
    for key, text in values.items():
        if not (text or "").strip():
            continue
        original = (draft.values or {}).get(key)
        if original is not None and text.strip() == format_for_input(original):
            value_provenance[key] = (draft.value_provenance or {}).get(key) or {"kind": draft.source}
        elif original is not None:
            value_provenance[key] = {"kind": "form", "edited_from": original,
                                     "original": (draft.value_provenance or {}).get(key)}
        else:
            value_provenance[key] = {"kind": "form"}
    return EvaluationInput(
        phase=draft.phase, model_id=model_id, values=values, info=info, source=draft.source,
        provenance=dict(draft.provenance or {}), value_provenance=value_provenance,
        inference_count=draft.inference_count, measurement=draft.measurement,
    )


def discard_draft(draft: EvaluationDraft) -> None:
    db.session.delete(draft)
