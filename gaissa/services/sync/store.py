"""Write training records of synced models: create or update the model, its synced training and their values.

A synced model is found by (provider, external id) only, so models that users created are never
touched, whatever their name. Its synced training is the one evaluation with source "huggingface";
evaluations that users added to a synced model are left alone. New models are written with bulk
INSERT statements (a sync creates thousands); changed ones through the ORM. Nothing here commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from gaissa.extensions import db
from gaissa.models import (
    Evaluation,
    EvaluationSource,
    InfoField,
    InfoValue,
    Metric,
    MetricValue,
    MLModel,
    Phase,
)
from gaissa.models.base import utcnow
from gaissa.models.sync import SyncAction
from gaissa.services import schemes, units
from gaissa.services.rating import InvalidValue, MetricRule, RatingResult, rate, validate_value
from gaissa.services.sync.derive import TrainingRecord


# Units in which derive.py expresses each metric; values are converted when a manager changed a metric's unit.
DERIVED_UNITS = {
    "co2_eq_emissions": "g", "size_efficiency": "B/g", "dataset_size_efficiency": "B/g", "downloads": "count",
    "performance_score": "score",
}


@dataclass(frozen=True)
class MetricEntry:
    id: int
    key: str
    name: str
    unit: str
    direction: str


@dataclass(frozen=True)
class FieldEntry:
    id: int
    key: str
    name: str
    options: tuple[str, ...] | None


@dataclass(frozen=True)
class Catalogue:
    """The training metrics, information fields and current rating scheme, read once per run."""

    scheme_id: int
    scheme_label: str
    rules: tuple[MetricRule, ...]
    metrics: dict[str, MetricEntry]
    fields: dict[str, FieldEntry]

    @classmethod
    def load(cls) -> "Catalogue":
        scheme = schemes.current_scheme(Phase.TRAINING)
        metrics = {
            metric.key: MetricEntry(metric.id, metric.key, metric.name, metric.unit, metric.direction)
            for metric in db.session.scalars(select(Metric).where(Metric.phase == Phase.TRAINING))
        }
        fields = {
            item.key: FieldEntry(item.id, item.key, item.name, tuple(item.options) if item.options else None)
            for item in db.session.scalars(select(InfoField).where(InfoField.phase == Phase.TRAINING))
        }
        return cls(scheme.id, scheme.label, tuple(schemes.rules_for(scheme)), metrics, fields)

    def rule(self, key: str) -> MetricRule | None:
        for rule in self.rules:
            if rule.key == key:
                return rule
        metric = self.metrics.get(key)
        if metric is None:
            return None
        # A catalogue metric outside the scheme is stored ungraded, but its value is still checked.
        return MetricRule(key=key, name=metric.name, unit=metric.unit, direction=metric.direction, weight=0.0,
                          boundaries=(0.0, 0.0, 0.0, 0.0), zero_is_missing=schemes.zero_is_missing(metric.unit))


@dataclass
class Selection:
    """The values and information a record may store, and why the others were left out."""

    values: dict[str, tuple[float, Any]] = field(default_factory=dict)  # key -> (value in the metric's unit, candidate)
    rejected: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    dropped_info: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """The result of saving one record: its action, its model's id (once the batch is written) and its changes."""

    action: SyncAction
    model_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)


def select_for_catalogue(record: TrainingRecord, catalogue: Catalogue) -> Selection:
    """Keep the values the rating rules accept and the information values the fields allow."""
    selection = Selection()
    for candidate in record.candidates:
        metric = catalogue.metrics.get(candidate.key)
        rule = catalogue.rule(candidate.key)
        if metric is None or rule is None:
            selection.rejected[candidate.key] = f"The catalogue has no training metric {candidate.key!r}."
            continue
        try:
            value = _in_metric_unit(candidate.key, candidate.value, metric.unit)
            value = validate_value(rule, value)
        except units.UnitError as exc:
            selection.rejected[candidate.key] = f"{metric.name}: {exc}."
            continue
        except InvalidValue as exc:
            selection.rejected[candidate.key] = str(exc)
            continue
        selection.values[candidate.key] = (value, candidate)

    for key, text in record.info.items():
        info_field = catalogue.fields.get(key)
        if info_field is None:
            selection.dropped_info[key] = f"The catalogue has no training information field {key!r}."
        elif info_field.options and text not in info_field.options:
            selection.dropped_info[key] = (
                f"{info_field.name} {text!r} is not one of the field's options ({', '.join(info_field.options)})."
            )
        else:
            selection.info[key] = text
    return selection


def _in_metric_unit(key: str, value: float, unit: str) -> float:
    derived_unit = DERIVED_UNITS.get(key, unit)
    return value if derived_unit == unit else units.convert(value, derived_unit, unit)


def describe_selection(selection: Selection) -> dict[str, Any]:
    """Return what a record could not store, for the sync item."""
    details: dict[str, Any] = {}
    if selection.rejected:
        details["rejected_values"] = dict(selection.rejected)
    if selection.dropped_info:
        details["dropped_info"] = dict(selection.dropped_info)
    return details


# --- Reading what is stored ---------------------------------------------------------------------

@dataclass(frozen=True)
class Stored:
    """A synced model already in the database: its id, Hub metadata and the id of its synced training.

    Plain values, not ORM objects, so that they stay readable after the commits between batches.
    """

    model_id: int
    metadata: dict[str, Any]
    evaluation_id: int | None


def load_synced(provider: str, external_ids: Iterable[str]) -> dict[str, Stored]:
    """Return the synced models with these ids and the ids of their synced trainings, in two queries."""
    ids = list(external_ids)
    if not ids:
        return {}
    models = db.session.execute(
        select(MLModel.id, MLModel.external_id, MLModel.hub_metadata)
        .where(MLModel.provider == provider, MLModel.external_id.in_(ids))
    ).all()
    if not models:
        return {}
    rows = db.session.execute(
        select(Evaluation.model_id, Evaluation.id)
        .where(Evaluation.model_id.in_([model_id for model_id, _, _ in models]),
               Evaluation.source == EvaluationSource.HUGGING_FACE, Evaluation.phase == Phase.TRAINING)
        .order_by(Evaluation.id)
    ).all()
    evaluation_ids: dict[int, int] = {}
    for model_id, evaluation_id in rows:
        evaluation_ids.setdefault(model_id, evaluation_id)
    return {external_id: Stored(model_id, metadata or {}, evaluation_ids.get(model_id))
            for model_id, external_id, metadata in models}


def base_emissions(provider: str, base_ids: Iterable[str]) -> dict[str, float]:
    """Return the trusted CO2 grams of synced base models, by repository id."""
    ids = list(dict.fromkeys(base_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(MLModel.external_id, MLModel.hub_metadata).where(MLModel.provider == provider,
                                                                 MLModel.external_id.in_(ids))
    ).all()
    found = {}
    for external_id, metadata in rows:
        co2 = (metadata or {}).get("co2") or {}
        if co2.get("grams") is not None and co2.get("trusted"):
            found[external_id] = float(co2["grams"])
    return found


# --- Writing ------------------------------------------------------------------------------------

@dataclass
class _Planned:
    record: TrainingRecord
    stored: Stored | None
    outcome: Outcome
    rating: RatingResult | None = None
    metadata: dict[str, Any] | None = None


def save_records(items: list[tuple[TrainingRecord, Stored | None]], catalogue: Catalogue, provider: str,
                 run_id: int) -> list[Outcome]:
    """Create or update the synced models of a batch of records; unchanged records write nothing.

    Returns one outcome per record, in order, with the model ids set. The caller flushes and commits.
    """
    planned: list[_Planned] = []
    for record, stored in items:
        selection = select_for_catalogue(record, catalogue)
        unchanged = (stored is not None and stored.evaluation_id is not None
                     and stored.metadata.get("fingerprint") == record.fingerprint)
        if unchanged:
            planned.append(_Planned(record, stored, Outcome(SyncAction.UNCHANGED, stored.model_id, selection=selection)))
            continue
        action = SyncAction.CREATED if stored is None else SyncAction.UPDATED
        rating = rate(catalogue.rules, {key: value for key, (value, _) in selection.values.items()})
        metadata = {**record.hub_metadata, "fingerprint": record.fingerprint, "sync_run_id": run_id,
                    "synced_at": utcnow().isoformat()}
        planned.append(_Planned(record, stored, Outcome(action, selection=selection), rating, metadata))

    updates = [item for item in planned if item.outcome.action == SyncAction.UPDATED]
    models = _load_models([item.stored.model_id for item in updates])
    evaluations = _load_evaluations([item.stored.evaluation_id for item in updates if item.stored.evaluation_id])
    for item in updates:
        item.outcome.model_id = item.stored.model_id
        item.outcome.changes = _update(item, models[item.stored.model_id], evaluations.get(item.stored.evaluation_id),
                                       catalogue)
    _insert_new([item for item in planned if item.outcome.action == SyncAction.CREATED], catalogue, provider)
    return [item.outcome for item in planned]


def _load_models(ids: list[int]) -> dict[int, MLModel]:
    if not ids:
        return {}
    return {model.id: model for model in db.session.scalars(select(MLModel).where(MLModel.id.in_(ids)))}


def _load_evaluations(ids: list[int]) -> dict[int, Evaluation]:
    if not ids:
        return {}
    evaluations = db.session.scalars(
        select(Evaluation)
        .options(selectinload(Evaluation.values), selectinload(Evaluation.info_values))
        .where(Evaluation.id.in_(ids))
    ).all()
    return {evaluation.id: evaluation for evaluation in evaluations}


def _insert_new(items: list[_Planned], catalogue: Catalogue, provider: str) -> None:
    """Insert new models, their synced trainings, values and information with one INSERT per table."""
    if not items:
        return
    now = utcnow()
    model_ids = db.session.scalars(
        insert(MLModel).returning(MLModel.id, sort_by_parameter_order=True),
        [{
            "name": item.record.name, "author": item.record.author, "description": None,
            "created_at": item.record.created_at or item.record.registered_at or now, "provider": provider,
            "external_id": item.record.repo_id, "external_url": item.record.url, "hub_metadata": item.metadata,
            "hidden": False,
        } for item in items],
    ).all()
    evaluation_ids = db.session.scalars(
        insert(Evaluation).returning(Evaluation.id, sort_by_parameter_order=True),
        [{
            "model_id": model_id, "phase": Phase.TRAINING.value, "registered_at": item.record.registered_at or now,
            "source": EvaluationSource.HUGGING_FACE.value, "hidden": False, **_rating_columns(item, catalogue),
        } for item, model_id in zip(items, model_ids, strict=True)],
    ).all()

    values, infos = [], []
    for item, model_id, evaluation_id in zip(items, model_ids, evaluation_ids, strict=True):
        item.outcome.model_id = model_id
        for key, (value, candidate) in item.outcome.selection.values.items():
            values.append({"evaluation_id": evaluation_id, **_metric_value_columns(key, value, candidate, item.rating,
                                                                                     catalogue)})
        for key, text in item.outcome.selection.info.items():
            infos.append({"evaluation_id": evaluation_id, "field_id": catalogue.fields[key].id, "value": text})
    if values:
        db.session.execute(insert(MetricValue), values)
    if infos:
        db.session.execute(insert(InfoValue), infos)


def _update(item: _Planned, model: MLModel, evaluation: Evaluation | None, catalogue: Catalogue) -> dict[str, Any]:
    """Update a synced model and its synced training in place; return the changed fields as [before, after]."""
    record, selection = item.record, item.outcome.selection
    before = _snapshot(model, evaluation, catalogue)

    model.name, model.author, model.external_url = record.name, record.author, record.url
    model.created_at = record.created_at or model.created_at
    model.hub_metadata = item.metadata
    if evaluation is None:
        evaluation = Evaluation(model=model, phase=Phase.TRAINING, source=EvaluationSource.HUGGING_FACE)
        db.session.add(evaluation)
    evaluation.registered_at = record.registered_at or evaluation.registered_at or utcnow()
    for name, value in _rating_columns(item, catalogue).items():
        setattr(evaluation, name, value)

    current = {value.metric_key: value for value in evaluation.values}
    for key, old in current.items():
        if key not in selection.values:
            evaluation.values.remove(old)
    for key, (value, candidate) in selection.values.items():
        columns = _metric_value_columns(key, value, candidate, item.rating, catalogue)
        old = current.get(key)
        if old is None:
            evaluation.values.append(MetricValue(**columns))
        else:
            for name, column_value in columns.items():
                setattr(old, name, column_value)

    current_info = {info.field_id: info for info in evaluation.info_values}
    wanted = {catalogue.fields[key].id: text for key, text in selection.info.items()}
    for field_id, info in current_info.items():
        if field_id not in wanted:
            evaluation.info_values.remove(info)
    for field_id, text in wanted.items():
        if field_id in current_info:
            current_info[field_id].value = text
        else:
            evaluation.info_values.append(InfoValue(field_id=field_id, value=text))

    after = _snapshot(model, evaluation, catalogue)
    return {key: [before.get(key), after.get(key)] for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)}


def _rating_columns(item: _Planned, catalogue: Catalogue) -> dict[str, Any]:
    record, rating = item.record, item.rating
    return {
        "scheme_id": catalogue.scheme_id,
        "overall_grade": rating.overall_letter,
        "graded_count": rating.graded_count,
        "scheme_metric_count": rating.rated_metric_count,
        "provenance": {
            "kind": "huggingface", "repo_id": record.repo_id, "sha": record.hub_metadata.get("sha"),
            "url": record.url, "scheme": catalogue.scheme_label, "flags": [flag.as_dict() for flag in record.flags],
        },
    }


def _metric_value_columns(key: str, value: float, candidate: Any, rating: RatingResult,
                          catalogue: Catalogue) -> dict[str, Any]:
    metric = catalogue.metrics[key]
    grade = rating.metrics.get(key)
    return {
        "metric_id": metric.id, "metric_key": key, "value": value, "unit": metric.unit,
        "grade": grade.letter if grade is not None else None,
        "provenance": {"kind": "huggingface", "card_field": candidate.card_field, "raw": candidate.raw},
    }


def _snapshot(model: MLModel, evaluation: Evaluation | None, catalogue: Catalogue) -> dict[str, Any]:
    """Return the stored fields that an update can change, for the item's list of changes."""
    metadata = model.hub_metadata or {}
    snapshot: dict[str, Any] = {
        "sha": metadata.get("sha"),
        "downloads": metadata.get("downloads"),
        "likes": metadata.get("likes"),
        "co2_raw": (metadata.get("co2") or {}).get("raw"),
        "flags": sorted(flag.get("code") for flag in metadata.get("flags") or ()),
    }
    if evaluation is None:
        return snapshot
    snapshot["grade"] = evaluation.overall_grade
    for value in evaluation.values:
        snapshot[f"value.{value.metric_key}"] = value.value
    field_keys = {entry.id: entry.key for entry in catalogue.fields.values()}
    for info in evaluation.info_values:
        snapshot[f"info.{field_keys.get(info.field_id, info.field_id)}"] = info.value
    return snapshot
