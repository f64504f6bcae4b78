"""Curating the ROI catalogue: create, update and delete stages, architectures, sources, metrics,
tactics, parameter options, expected reductions and analyses, with every change in the audit log.

Each function validates, changes the session and flushes; the caller commits. A refused change
raises CatalogueError with a message per form field and changes nothing.
"""

import logging
import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select

from gaissa.extensions import db
from gaissa.models.roi import (
    AnalysisMetricValue,
    ExpectedReduction,
    ModelArchitecture,
    PipelineStage,
    RoiAnalysis,
    RoiMetric,
    Tactic,
    TacticParameterOption,
    TacticSource,
    tactic_architectures,
    tactic_metrics,
    tactic_sources,
)
from gaissa.services import audit

logger = logging.getLogger(__name__)

ENERGY_UNIT = "J"
MIN_REDUCTION = -10.0
MAX_REDUCTION = 1.0


class CatalogueError(ValueError):
    """A refused catalogue change; `errors` maps form fields (or "form") to messages meant for users."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


SNAPSHOT_FIELDS = {
    PipelineStage: ("name", "description"),
    ModelArchitecture: ("name", "information"),
    TacticSource: ("title", "url"),
    RoiMetric: ("name", "unit", "description", "is_energy", "higher_is_better", "min_value", "max_value"),
    Tactic: ("name", "information", "stage_id"),
    TacticParameterOption: ("tactic_id", "name", "value"),
    ExpectedReduction: ("architecture_id", "option_id", "metric_id", "value", "source_id", "is_illustrative", "note"),
    RoiAnalysis: ("kind", "architecture_id", "option_id", "country_code", "source_id"),
}


def snapshot(row) -> dict[str, Any] | None:
    """Return the audited fields of a catalogue row (tactics also list their related ids)."""
    if row is None:
        return None
    data = audit.snapshot(row, SNAPSHOT_FIELDS[type(row)])
    if isinstance(row, Tactic):
        data["source_ids"] = sorted(source.id for source in row.sources)
        data["architecture_ids"] = sorted(architecture.id for architecture in row.architectures)
        data["metric_ids"] = sorted(metric.id for metric in row.metrics)
    if isinstance(row, RoiAnalysis):
        data["values"] = [audit.snapshot(value, ("metric_id", "baseline", "expected_reduction",
                                                 "energy_price_eur_per_kwh", "implementation_cost_eur"))
                          for value in row.values]
    return data


def _record(action: str, row, before: dict | None, summary: str) -> None:
    audit.record(action, f"roi_{type(row).__tablename__.removeprefix('roi_')}", row.id, before,
                 snapshot(row) if action != "delete" else None, summary)


# ---------------------------------------------------------------- simple entities


def save_stage(data: dict[str, Any], stage: PipelineStage | None = None) -> PipelineStage:
    """Create or update a pipeline stage with a unique name."""
    name = _clean(data.get("name"))
    _require_unique(PipelineStage, PipelineStage.name, name, stage, "pipeline stage")
    before = snapshot(stage)
    stage = stage or PipelineStage()
    stage.name, stage.description = name, _clean(data.get("description"))
    return _saved(stage, before, f"pipeline stage {name!r}")


def save_architecture(data: dict[str, Any], architecture: ModelArchitecture | None = None) -> ModelArchitecture:
    """Create or update a model architecture with a unique name."""
    name = _clean(data.get("name"))
    _require_unique(ModelArchitecture, ModelArchitecture.name, name, architecture, "model architecture")
    before = snapshot(architecture)
    architecture = architecture or ModelArchitecture()
    architecture.name, architecture.information = name, _clean(data.get("information")) or None
    return _saved(architecture, before, f"model architecture {name!r}")


def save_source(data: dict[str, Any], source: TacticSource | None = None) -> TacticSource:
    """Create or update a source (a paper or report with an http(s) URL)."""
    title, url = _clean(data.get("title")), _clean(data.get("url"))
    errors = {}
    if not title:
        errors["title"] = "Enter the title of the paper or report."
    if not url.startswith(("http://", "https://")):
        errors["url"] = f"Enter a full http:// or https:// URL; got {url[:80]!r}."
    if errors:
        raise CatalogueError(errors)
    before = snapshot(source)
    source = source or TacticSource()
    source.title, source.url = title, url
    return _saved(source, before, f"source {title[:60]!r}")


def save_metric(data: dict[str, Any], metric: RoiMetric | None = None) -> RoiMetric:
    """Create or update a metric; an energy-related metric must be in joules per inference."""
    name = _clean(data.get("name"))
    _require_unique(RoiMetric, RoiMetric.name, name, metric, "metric")
    unit = _clean(data.get("unit"))
    is_energy = bool(data.get("is_energy"))
    low, high = data.get("min_value"), data.get("max_value")

    errors = {}
    if is_energy and unit != ENERGY_UNIT:
        errors["unit"] = (f"An energy-related metric is energy per inference in joules; set its unit to "
                          f"{ENERGY_UNIT!r} (got {unit!r}).")
    for key, bound in (("min_value", low), ("max_value", high)):
        if bound is not None and not math.isfinite(bound):
            errors[key] = f"Enter a finite number or leave it empty; got {bound}."
    if low is not None and high is not None and low > high:
        errors["max_value"] = f"The maximum ({high:g}) must not be below the minimum ({low:g})."
    if errors:
        raise CatalogueError(errors)

    before = snapshot(metric)
    metric = metric or RoiMetric()
    metric.name, metric.unit, metric.description = name, unit, _clean(data.get("description"))
    metric.is_energy, metric.higher_is_better = is_energy, bool(data.get("higher_is_better"))
    metric.min_value, metric.max_value = low, high
    return _saved(metric, before, f"metric {name!r}")


# ---------------------------------------------------------------- tactics, options, reductions


def save_tactic(data: dict[str, Any], tactic: Tactic | None = None) -> Tactic:
    """Create or update a tactic with its stage, sources, compatible architectures and applicable metrics."""
    name = _clean(data.get("name"))
    _require_unique(Tactic, Tactic.name, name, tactic, "tactic")
    stage = db.session.get(PipelineStage, data.get("stage_id") or 0)
    sources = _rows(TacticSource, data.get("source_ids"))
    architectures = _rows(ModelArchitecture, data.get("architecture_ids"))
    metrics = _rows(RoiMetric, data.get("metric_ids"))

    errors = {}
    if stage is None:
        errors["stage"] = "Choose the pipeline stage of the tactic."
    if not sources:
        errors["sources"] = "Choose at least one source (paper or report) that describes the tactic."
    if not architectures:
        errors["architectures"] = "Choose at least one compatible model architecture."
    if not metrics:
        errors["metrics"] = "Choose at least one applicable metric."
    if errors:
        raise CatalogueError(errors)

    before = snapshot(tactic)
    tactic = tactic or Tactic()
    tactic.name, tactic.information, tactic.stage = name, _clean(data.get("information")) or None, stage
    tactic.sources, tactic.architectures, tactic.metrics = sources, architectures, metrics
    return _saved(tactic, before, f"tactic {name!r}")


def save_option(data: dict[str, Any], option: TacticParameterOption | None = None) -> TacticParameterOption:
    """Create or update a tactic parameter option; (tactic, parameter, value) is unique."""
    tactic = db.session.get(Tactic, data.get("tactic_id") or 0)
    name, value = _clean(data.get("name")), _clean(data.get("value"))
    errors = {}
    if tactic is None:
        errors["tactic"] = "Choose the tactic this parameter belongs to."
    if not name:
        errors["name"] = "Enter the parameter's name."
    if not value:
        errors["value"] = "Enter the parameter's value."
    if errors:
        raise CatalogueError(errors)
    duplicate = db.session.scalar(select(TacticParameterOption.id).where(
        TacticParameterOption.tactic_id == tactic.id, TacticParameterOption.name == name,
        TacticParameterOption.value == value))
    if duplicate is not None and (option is None or duplicate != option.id):
        raise CatalogueError({"value": f"The tactic '{tactic.name}' already has the parameter {name}: {value}."})

    before = snapshot(option)
    option = option or TacticParameterOption()
    option.tactic, option.name, option.value = tactic, name, value
    return _saved(option, before, f"parameter {name}: {value} of {tactic.name!r}")


def save_reduction(data: dict[str, Any], reduction: ExpectedReduction | None = None) -> ExpectedReduction:
    """Create or update the one expected reduction of an architecture × option × metric.

    The architecture must be compatible with the option's tactic and the metric applicable to it.
    A figure without a source is always illustrative.
    """
    option = db.session.get(TacticParameterOption, data.get("option_id") or 0)
    architecture = db.session.get(ModelArchitecture, data.get("architecture_id") or 0)
    metric = db.session.get(RoiMetric, data.get("metric_id") or 0)
    source = db.session.get(TacticSource, data.get("source_id")) if data.get("source_id") else None
    value = data.get("value")

    errors = {}
    if option is None:
        errors["option"] = "Choose a tactic parameter."
    if architecture is None:
        errors["architecture"] = "Choose a model architecture."
    if metric is None:
        errors["metric"] = "Choose a metric."
    if value is None or not math.isfinite(value) or not MIN_REDUCTION <= value <= MAX_REDUCTION:
        errors["percent"] = (f"The expected reduction must be between {MIN_REDUCTION * 100:g} % and "
                             f"{MAX_REDUCTION * 100:g} % (negative for an increase); got {value!r}.")
    if errors:
        raise CatalogueError(errors)

    tactic = option.tactic
    if architecture not in tactic.architectures:
        errors["architecture"] = (f"The tactic '{tactic.name}' is not compatible with the model architecture "
                                  f"'{architecture.name}'; add the architecture to the tactic first.")
    if metric not in tactic.metrics:
        errors["metric"] = (f"The metric '{metric.name}' is not applicable for the tactic '{tactic.name}'; "
                            "add the metric to the tactic first.")
    duplicate = db.session.scalar(select(ExpectedReduction.id).where(
        ExpectedReduction.option_id == option.id, ExpectedReduction.architecture_id == architecture.id,
        ExpectedReduction.metric_id == metric.id))
    if duplicate is not None and (reduction is None or duplicate != reduction.id):
        errors["metric"] = (f"An expected reduction of {metric.name} for {tactic.name} – {option.label} on "
                            f"{architecture.name} already exists; edit that one.")
    moved = reduction is not None and (reduction.option_id, reduction.architecture_id, reduction.metric_id) != (
        option.id, architecture.id, metric.id)
    used = _analyses_using(reduction) if moved else 0
    if used:
        errors["form"] = (f"The expected reduction is used by {_count_noun(used, 'analysis', 'analyses')}, so its "
                          "parameter, architecture and metric cannot change; create a new expected reduction instead.")
    if errors:
        raise CatalogueError(errors)

    before = snapshot(reduction)
    reduction = reduction or ExpectedReduction()
    reduction.option, reduction.architecture, reduction.metric = option, architecture, metric
    reduction.value, reduction.source = value, source
    reduction.is_illustrative = bool(data.get("is_illustrative")) or source is None
    reduction.note = _clean(data.get("note"))
    summary = f"reduction of {metric.name} for {tactic.name} – {option.label} on {architecture.name}"
    return _saved(reduction, before, summary)


# ---------------------------------------------------------------- deleting


def delete_row(row) -> None:
    """Delete a catalogue row or an analysis; refuse while analyses or tactics still use it."""
    blockers = _blockers(row)
    if blockers:
        raise CatalogueError({"form": blockers})

    before = snapshot(row)
    if isinstance(row, ModelArchitecture):
        db.session.execute(delete(ExpectedReduction).where(ExpectedReduction.architecture_id == row.id))
        db.session.execute(delete(tactic_architectures).where(tactic_architectures.c.architecture_id == row.id))
    elif isinstance(row, RoiMetric):
        db.session.execute(delete(ExpectedReduction).where(ExpectedReduction.metric_id == row.id))
        db.session.execute(delete(tactic_metrics).where(tactic_metrics.c.metric_id == row.id))
    elif isinstance(row, TacticSource):
        db.session.execute(delete(tactic_sources).where(tactic_sources.c.source_id == row.id))
    elif isinstance(row, TacticParameterOption):
        db.session.execute(delete(ExpectedReduction).where(ExpectedReduction.option_id == row.id))
    elif isinstance(row, Tactic):
        option_ids = [option.id for option in row.options]
        if option_ids:
            db.session.execute(delete(ExpectedReduction).where(ExpectedReduction.option_id.in_(option_ids)))

    _record("delete", row, before, f"deleted {_describe(row)}")
    db.session.delete(row)
    db.session.flush()
    db.session.expire_all()


def _blockers(row) -> str | None:
    name = _describe(row)
    if isinstance(row, PipelineStage):
        count = _count(select(func.count()).select_from(Tactic).where(Tactic.stage_id == row.id))
        return f"The {name} has {_count_noun(count, 'tactic')}; move or delete them first." if count else None
    if isinstance(row, ModelArchitecture):
        count = _count(select(func.count()).select_from(RoiAnalysis).where(RoiAnalysis.architecture_id == row.id))
    elif isinstance(row, TacticParameterOption):
        count = _count(select(func.count()).select_from(RoiAnalysis).where(RoiAnalysis.option_id == row.id))
    elif isinstance(row, Tactic):
        count = _count(select(func.count()).select_from(RoiAnalysis).join(
            TacticParameterOption, TacticParameterOption.id == RoiAnalysis.option_id)
            .where(TacticParameterOption.tactic_id == row.id))
    elif isinstance(row, RoiMetric):
        count = _count(select(func.count()).select_from(AnalysisMetricValue)
                       .where(AnalysisMetricValue.metric_id == row.id))
    elif isinstance(row, TacticSource):
        count = _count(select(func.count()).select_from(RoiAnalysis).where(RoiAnalysis.source_id == row.id))
        figures = _count(select(func.count()).select_from(ExpectedReduction)
                         .where(ExpectedReduction.source_id == row.id))
        if figures:
            return (f"The {name} is cited by {_count_noun(figures, 'expected reduction')}; "
                    "change their source first.")
    elif isinstance(row, ExpectedReduction):
        count = _analyses_using(row)
    else:
        return None
    if not count:
        return None
    return f"The {name} is used by {_count_noun(count, 'analysis', 'analyses')}; delete those analyses first."


def _analyses_using(reduction: ExpectedReduction) -> int:
    """Count the analyses of the reduction's option and architecture that have a value of its metric."""
    return _count(select(func.count()).select_from(RoiAnalysis)
                  .join(AnalysisMetricValue, AnalysisMetricValue.analysis_id == RoiAnalysis.id)
                  .where(RoiAnalysis.option_id == reduction.option_id,
                         RoiAnalysis.architecture_id == reduction.architecture_id,
                         AnalysisMetricValue.metric_id == reduction.metric_id))


def _count_noun(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _describe(row) -> str:
    if isinstance(row, PipelineStage):
        return f"pipeline stage {row.name!r}"
    if isinstance(row, ModelArchitecture):
        return f"model architecture {row.name!r}"
    if isinstance(row, TacticSource):
        return f"source {row.title[:60]!r}"
    if isinstance(row, RoiMetric):
        return f"metric {row.name!r}"
    if isinstance(row, Tactic):
        return f"tactic {row.name!r}"
    if isinstance(row, TacticParameterOption):
        return f"parameter {row.label!r} of {row.tactic.name!r}"
    if isinstance(row, ExpectedReduction):
        return (f"expected reduction of {row.metric.name} for {row.option.tactic.name} – {row.option.label} "
                f"on {row.architecture.name}")
    return f"{row.kind} analysis {row.id}"


# ---------------------------------------------------------------- helpers


def _clean(text: Any) -> str:
    return (text or "").strip()


def _require_unique(model, column, name: str, current, noun: str) -> None:
    if not name:
        raise CatalogueError({"name": f"Enter the {noun}'s name."})
    if len(name) > 255:
        raise CatalogueError({"name": f"The name has {len(name)} characters; the maximum is 255."})
    existing = db.session.scalar(select(model).where(func.lower(column) == name.lower()))
    if existing is not None and existing is not current:
        raise CatalogueError({"name": f"A {noun} named {existing_name(existing)!r} already exists; choose another name."})


def existing_name(row) -> str:
    return getattr(row, "name", None) or getattr(row, "title", "")


def _rows(model, ids: Iterable[int] | None) -> list:
    requested = sorted(set(ids or []))
    if not requested:
        return []
    return list(db.session.scalars(select(model).where(model.id.in_(requested)).order_by(model.id)))


def _count(query) -> int:
    return db.session.scalar(query) or 0


def _saved(row, before: dict | None, summary: str):
    action = "update" if before is not None else "create"
    db.session.add(row)
    db.session.flush()
    _record(action, row, before, f"{action}d {summary}")
    logger.info("ROI catalogue: %sd %s", action, summary)
    return row


# ---------------------------------------------------------------- reading for the administration screens

LISTED = {
    "stages": (PipelineStage, PipelineStage.id),
    "architectures": (ModelArchitecture, ModelArchitecture.name),
    "sources": (TacticSource, TacticSource.title),
    "metrics": (RoiMetric, RoiMetric.id),
    "tactics": (Tactic, Tactic.name),
    "options": (TacticParameterOption, TacticParameterOption.tactic_id),
    "reductions": (ExpectedReduction, ExpectedReduction.option_id),
    "analyses": (RoiAnalysis, RoiAnalysis.id.desc()),
}


def list_rows(entity: str) -> list:
    """Return every row of a catalogue entity ("stages", "tactics"…) in its list order."""
    model, order = LISTED[entity]
    query = select(model).order_by(order)
    if model is ExpectedReduction:
        query = query.order_by(ExpectedReduction.architecture_id, ExpectedReduction.metric_id)
    return list(db.session.scalars(query))


def get_row(entity: str, row_id: int):
    model, _order = LISTED[entity]
    return db.session.get(model, row_id)


def entity_counts() -> dict[str, int]:
    """Count the rows of every catalogue entity, for the administration index."""
    return {entity: _count(select(func.count()).select_from(model)) for entity, (model, _order) in LISTED.items()}


def form_choices() -> dict[str, list[tuple[int, str]]]:
    """Return (id, label) choices of every entity a catalogue form can refer to."""
    options = db.session.scalars(select(TacticParameterOption).join(Tactic).order_by(
        Tactic.name, TacticParameterOption.name, TacticParameterOption.value))
    return {
        "stages": [(row.id, row.name) for row in db.session.scalars(select(PipelineStage).order_by(PipelineStage.id))],
        "sources": [(row.id, row.title) for row in db.session.scalars(select(TacticSource).order_by(TacticSource.title))],
        "architectures": [(row.id, row.name) for row in db.session.scalars(
            select(ModelArchitecture).order_by(ModelArchitecture.name))],
        "metrics": [(row.id, f"{row.name} ({row.unit})" if row.unit else row.name)
                    for row in db.session.scalars(select(RoiMetric).order_by(RoiMetric.name))],
        "tactics": [(row.id, row.name) for row in db.session.scalars(select(Tactic).order_by(Tactic.name))],
        "options": [(row.id, f"{row.tactic.name} – {row.label}") for row in options],
    }


def record_created_analysis(analysis: RoiAnalysis) -> None:
    """Add the audit entry of an analysis a QA manager created (research analyses)."""
    _record("create", analysis, None, f"created {analysis.kind} analysis {analysis.id}")
