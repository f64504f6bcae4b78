"""Adapters from the API's catalogue schemas to the managers' catalogue services, and back for errors.

The admin services take form-shaped input: numbers as text, one option per line, mappings keyed by
form inputs. They report errors by form field. These functions translate both ways, so the API
validates exactly as the admin screens do.
"""

from sqlalchemy import select

from gaissa.api import schemas
from gaissa.extensions import db
from gaissa.models import CalculationTool, InfoField, Metric, RatingScheme, SchemeEntry
from gaissa.services import metric_admin, scheme_admin, tool_admin
from gaissa.services.info_admin import InfoInput
from gaissa.services.metric_admin import BOUNDARY_FIELDS, MetricInput

# Form field of the metric editor -> field of the API's request body.
_METRIC_FIELDS = {name: f"boundaries.{index}" for index, name in enumerate(BOUNDARY_FIELDS)}


class CatalogueInputError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def entries_by_key(scheme: RatingScheme | None) -> dict[str, SchemeEntry]:
    return {entry.metric_key: entry for entry in (scheme.entries if scheme is not None else [])}


def list_metrics(phase: str | None) -> list[Metric]:
    query = select(Metric).order_by(Metric.phase.desc(), Metric.name)
    if phase:
        query = query.where(Metric.phase == phase)
    return list(db.session.scalars(query))


def find_metric(key: str) -> Metric | None:
    return db.session.scalar(select(Metric).where(Metric.key == key))


def metric_errors(errors: dict[str, str]) -> dict[str, str]:
    """Rename the metric editor's error keys (b1…b4) to the API's (boundaries.0…3)."""
    return {_METRIC_FIELDS.get(name, name): message for name, message in errors.items()}


def metric_input(body: schemas.MetricCreate) -> MetricInput:
    return MetricInput(
        name=body.name, unit=body.unit, direction=body.direction, weight=repr(body.weight),
        **{name: repr(value) for name, value in zip(BOUNDARY_FIELDS, body.boundaries)},
        description=body.description, how_to_measure=body.how_to_measure,
        recommendations="\n".join(body.recommendations),
    )


def metric_update_input(metric: Metric, body: schemas.MetricUpdate) -> MetricInput:
    """Merge the fields to change with the metric's current state and its working weight and boundaries."""
    entry = scheme_admin.working_entry(metric.phase, metric.key)
    if entry is None and (body.weight is None or body.boundaries is None):
        raise CatalogueInputError({"boundaries": f"{metric.name} is in no rating scheme yet; "
                                                 "give both its weight and its four boundaries."})
    weight = body.weight if body.weight is not None else entry.weight
    boundaries = body.boundaries if body.boundaries is not None else list(entry.boundaries)
    recommendations = body.recommendations if body.recommendations is not None else list(metric.recommendations or [])
    return MetricInput(
        name=_pick(body.name, metric.name), unit=_pick(body.unit, metric.unit),
        direction=_pick(body.direction, metric.direction), weight=repr(weight),
        **{name: repr(value) for name, value in zip(BOUNDARY_FIELDS, boundaries)},
        description=_pick(body.description, metric.description or ""),
        how_to_measure=_pick(body.how_to_measure, metric.how_to_measure or ""),
        recommendations="\n".join(recommendations),
    )


def list_info_fields(phase: str | None) -> list[InfoField]:
    query = select(InfoField).order_by(InfoField.phase.desc(), InfoField.position, InfoField.key)
    if phase:
        query = query.where(InfoField.phase == phase)
    return list(db.session.scalars(query))


def find_info_field(phase: str, key: str) -> InfoField | None:
    return db.session.scalar(select(InfoField).where(InfoField.phase == phase, InfoField.key == key))


def info_input(body: schemas.InfoFieldCreate) -> InfoInput:
    return InfoInput(name=body.name, description=body.description, options="\n".join(body.options or []))


def info_update_input(info_field: InfoField, body: schemas.InfoFieldUpdate) -> InfoInput:
    options = body.options if body.options is not None else list(info_field.options or [])
    return InfoInput(name=_pick(body.name, info_field.name), description=_pick(body.description, info_field.description or ""),
                     options="\n".join(options))


def list_tools() -> list[CalculationTool]:
    return [row.tool for row in tool_admin.list_tools()]


def tool_input(body: schemas.ToolWrite, tool: CalculationTool | None = None) -> tuple[tool_admin.ToolInput, dict[str, str]]:
    """Build the tool editor's input from the API body; return it with the editor-key -> API-field map.

    The body lists every mapping, so each existing mapping that it leaves out is sent as empty,
    which removes it. Raise CatalogueInputError for unknown or repeated targets.
    """
    errors: dict[str, str] = {}
    submitted: dict[str, tool_admin.MappingInput] = {}
    names: dict[str, str] = {}
    metrics = {metric.key: metric for metric in db.session.scalars(select(Metric))}
    fields = {f"{item.phase}.{item.key}": item for item in db.session.scalars(select(InfoField))}

    for index, mapping in enumerate(body.mappings):
        prefix = f"mappings.{index}"
        if (mapping.metric is None) == (mapping.info_field is None):
            errors[prefix] = "Give either a metric key or an information field (phase.key), not both or neither."
            continue
        if mapping.metric is not None:
            target = metrics.get(mapping.metric)
            if target is None:
                errors[f"{prefix}.metric"] = f"No metric with key {mapping.metric!r}; see GET /metrics."
                continue
            form_key = f"m-{target.id}"
        else:
            target = fields.get(mapping.info_field)
            if target is None:
                errors[f"{prefix}.info_field"] = f"No information field {mapping.info_field!r}; see GET /info-fields."
                continue
            if mapping.column_unit:
                errors[f"{prefix}.column_unit"] = "Information fields hold text; leave column_unit out."
                continue
            form_key = f"f-{target.id}"
        if form_key in submitted:
            errors[prefix] = "This metric or field is mapped twice; map each one from a single column."
            continue
        submitted[form_key] = tool_admin.MappingInput(mapping.column, mapping.column_unit or "", mapping.per_inference)
        names[f"{form_key}-column"] = f"{prefix}.column"
        names[f"{form_key}-unit"] = f"{prefix}.column_unit"
        names[f"{form_key}-per_inference"] = f"{prefix}.per_inference"
    if errors:
        raise CatalogueInputError(errors)

    for existing in (tool.mappings if tool is not None else []):
        form_key = f"m-{existing.metric_id}" if existing.metric_id is not None else f"f-{existing.field_id}"
        submitted.setdefault(form_key, tool_admin.MappingInput("", ""))
    data = tool_admin.ToolInput(name=body.name, file_format=body.file_format, description=body.description,
                                mappings=submitted)
    return data, names


def _pick(new, current):
    return current if new is None else new
