"""Calculation tools for QA managers: the file format they write and which columns feed which metrics and fields."""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import CalculationTool, InfoField, Metric, Phase, ToolMapping
from gaissa.services import audit, units
from gaissa.services.metric_admin import TEXT_MAX_LENGTH
from gaissa.services.text_search import contains_text

logger = logging.getLogger(__name__)
NAME_MAX_LENGTH = 100
COLUMN_MAX_LENGTH = 200
UNIT_MAX_LENGTH = 32
FILE_FORMATS = {
    "codecarbon": "CodeCarbon emissions.csv",
    "tabular": "CSV or spreadsheet with one column per value",
    "carbontracker": "carbontracker log file",
    "eco2ai": "eco2ai CSV",
}
# Form names of the mapping inputs: m-<metric id>-column, m-<metric id>-unit, m-<metric id>-per_inference,
# f-<field id>-column.
MAPPING_INPUT = re.compile(r"^(?P<kind>[mf])-(?P<id>\d+)-(?P<part>column|unit|per_inference)$")


class ToolInputError(ValueError):
    """Invalid tool input; `errors` maps a form field name to a message for users."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


class MappingInput(NamedTuple):
    """A submitted mapping: the column, its unit ("" = the metric's unit) and whether it is per inference."""

    column: str
    column_unit: str
    per_inference: bool = False


@dataclass
class ToolInput:
    name: str
    file_format: str
    description: str = ""
    # "m-<id>" or "f-<id>" -> MappingInput for each mapping input the form sent. A target missing
    # here keeps its mapping; a target sent with an empty column loses it.
    mappings: dict[str, MappingInput] = field(default_factory=dict)


@dataclass(frozen=True)
class MappingRow:
    """One line of the editor: a metric or field of a phase and the column (and unit) that feeds it."""

    form_key: str
    target: Metric | InfoField
    column: str
    column_unit: str
    per_inference: bool = False

    @property
    def is_metric(self) -> bool:
        return self.form_key.startswith("m-")


@dataclass(frozen=True)
class MappingReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        parts = []
        for label, items in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            if items:
                parts.append(f"{len(items)} {label} ({'; '.join(items)})")
        return "Mappings: " + ", ".join(parts) + "." if parts else "No mapping changed."


@dataclass(frozen=True)
class ToolRow:
    tool: CalculationTool
    mapping_count: int


def parse_mapping_form(form: Mapping[str, str]) -> dict[str, MappingInput]:
    """Collect the mapping inputs of a submitted editor form, keyed "m-<id>" or "f-<id>".

    A browser sends a checkbox only when it is ticked, so a row whose column input was sent
    without its per_inference box is a run-total mapping.
    """
    collected: dict[str, dict[str, str]] = {}
    for name, value in form.items():
        match = MAPPING_INPUT.match(name)
        if match:
            collected.setdefault(f"{match['kind']}-{match['id']}", {})[match["part"]] = (value or "").strip()
    return {
        key: MappingInput(parts.get("column", ""), parts.get("unit", ""), "per_inference" in parts)
        for key, parts in collected.items()
        if "column" in parts
    }


def get_tool(tool_id: int) -> CalculationTool | None:
    return db.session.get(CalculationTool, tool_id)


def list_tools(text: str = "") -> list[ToolRow]:
    query = select(CalculationTool)
    if text.strip():
        query = query.where(contains_text(CalculationTool.name, text.strip()))
    tools = db.session.scalars(query.order_by(func.lower(CalculationTool.name))).all()
    counts = dict(db.session.execute(
        select(ToolMapping.tool_id, func.count(ToolMapping.id)).group_by(ToolMapping.tool_id)
    ).all())
    return [ToolRow(tool, counts.get(tool.id, 0)) for tool in tools]


def mapping_grid(tool: CalculationTool | None, submitted: Mapping[str, MappingInput] | None = None
                 ) -> dict[str, dict[str, list[MappingRow]]]:
    """Return, per phase, one editor row per metric and per field, filled from the tool or the submitted form."""
    existing = {}
    for mapping in (tool.mappings if tool is not None else []):
        key = f"m-{mapping.metric_id}" if mapping.metric_id is not None else f"f-{mapping.field_id}"
        existing[key] = MappingInput(mapping.column, mapping.column_unit or "", bool(mapping.per_inference))
    values = {**existing, **(submitted or {})}

    grid: dict[str, dict[str, list[MappingRow]]] = {}
    metrics = db.session.scalars(select(Metric).order_by(Metric.name)).all()
    fields = db.session.scalars(select(InfoField).order_by(InfoField.position, InfoField.name)).all()
    for phase in Phase:
        grid[phase.value] = {
            "metrics": [_row(f"m-{metric.id}", metric, values) for metric in metrics if metric.phase == phase],
            "fields": [_row(f"f-{item.id}", item, values) for item in fields if item.phase == phase],
        }
    return grid


def clean(data: ToolInput, tool: CalculationTool | None = None) -> dict[str, str]:
    """Return errors per form field for the tool's name, format, description and mappings."""
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = "Enter the tool's name, e.g. 'CodeCarbon'."
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = f"The name is {len(name)} characters long; the maximum is {NAME_MAX_LENGTH}."
    else:
        taken = db.session.scalar(select(CalculationTool).where(func.lower(CalculationTool.name) == name.lower()))
        if taken is not None and (tool is None or taken.id != tool.id):
            errors["name"] = f"A tool named {taken.name!r} already exists; choose another name."
    if data.file_format not in FILE_FORMATS:
        errors["file_format"] = f"Choose the file format: {', '.join(FILE_FORMATS)}."
    if len((data.description or "").strip()) > TEXT_MAX_LENGTH:
        errors["description"] = f"The description is longer than {TEXT_MAX_LENGTH} characters."

    metrics, fields = _targets(data.mappings)
    for key, (column, column_unit, per_inference) in data.mappings.items():
        if len(column) > COLUMN_MAX_LENGTH:
            errors[f"{key}-column"] = (f"The column name is {len(column)} characters long; "
                                       f"the maximum is {COLUMN_MAX_LENGTH}.")
        target = metrics.get(int(key[2:])) if key.startswith("m-") else fields.get(int(key[2:]))
        if per_inference and column and target is not None and not _is_inference_metric(target):
            errors[f"{key}-per_inference"] = ("Per inference applies to inference metrics only. Clear it for a "
                                              "training metric or an information field.")
        # An empty column removes the mapping, whatever unit is still typed beside it.
        if not key.startswith("m-") or not column_unit or not column:
            continue
        metric = metrics.get(int(key[2:]))
        if metric is None:
            continue
        if len(column_unit) > UNIT_MAX_LENGTH:
            errors[f"{key}-unit"] = f"The unit is longer than {UNIT_MAX_LENGTH} characters."
        elif not units.is_known_unit(column_unit):
            errors[f"{key}-unit"] = f"The unit {column_unit!r} is not known; use one such as kWh, kg, s or MB."
        else:
            try:
                units.convert(1.0, column_unit, metric.unit)
            except units.UnitError:
                errors[f"{key}-unit"] = (f"{column_unit} cannot be converted to {metric.unit}, the unit of "
                                         f"{metric.name}; enter the unit the column is written in.")
    return errors


def create_tool(data: ToolInput) -> tuple[CalculationTool, MappingReport]:
    """Add a tool with its mappings in one flush; raise ToolInputError and add nothing on bad input."""
    errors = clean(data)
    if errors:
        raise ToolInputError(errors)
    tool = CalculationTool(name=data.name.strip(), description=(data.description or "").strip(),
                           file_format=data.file_format)
    db.session.add(tool)
    report = _apply_mappings(tool, data.mappings)
    db.session.flush()
    audit.record("create", "calculation_tool", tool.id, None, _snapshot(tool),
                 f"Created calculation tool {tool.name!r}. {report.sentence()}")
    return tool, report


def update_tool(tool: CalculationTool, data: ToolInput) -> MappingReport:
    """Save the editor's input; mappings the form did not send stay, and the report names every removal."""
    errors = clean(data, tool)
    if errors:
        raise ToolInputError(errors)
    before = _snapshot(tool)
    tool.name = data.name.strip()
    tool.description = (data.description or "").strip()
    tool.file_format = data.file_format
    report = _apply_mappings(tool, data.mappings)
    db.session.flush()
    after = _snapshot(tool)
    if after != before:
        audit.record("update", "calculation_tool", tool.id, before, after,
                     f"Edited calculation tool {tool.name!r}. {report.sentence()}")
    return report


def delete_tool(tool: CalculationTool) -> int:
    """Delete the tool and its mappings; return how many mappings went with it."""
    before = _snapshot(tool)
    count = len(tool.mappings)
    name, tool_id = tool.name, tool.id
    # The ORM deletes the loaded mappings itself: SQLite enforces no ON DELETE rule unless foreign keys are on.
    for mapping in list(tool.mappings):
        db.session.delete(mapping)
    db.session.delete(tool)
    db.session.flush()
    db.session.expire_all()
    audit.record("delete", "calculation_tool", tool_id, before, None,
                 f"Deleted calculation tool {name!r} with {count} mappings")
    return count


def _is_inference_metric(target: Metric | InfoField) -> bool:
    return isinstance(target, Metric) and target.phase == Phase.INFERENCE.value


def _apply_mappings(tool: CalculationTool, submitted: Mapping[str, MappingInput]) -> MappingReport:
    metrics, fields = _targets(submitted)
    current = {}
    for mapping in tool.mappings:
        key = f"m-{mapping.metric_id}" if mapping.metric_id is not None else f"f-{mapping.field_id}"
        current[key] = mapping
    report = MappingReport()

    for key, (column, column_unit, per_inference) in submitted.items():
        target = metrics.get(int(key[2:])) if key.startswith("m-") else fields.get(int(key[2:]))
        if target is None:
            continue
        mapping = current.get(key)
        unit = (column_unit or None) if key.startswith("m-") else None
        per_inference = bool(per_inference) and _is_inference_metric(target)
        label = f"{column or (mapping.column if mapping else '')} → {target.name} ({target.phase})"
        if per_inference:
            label = f"{label}, per inference"
        if not column:
            if mapping is not None:
                tool.mappings.remove(mapping)
                report.removed.append(label)
            continue
        if mapping is None:
            tool.mappings.append(ToolMapping(
                phase=target.phase, column=column, column_unit=unit, per_inference=per_inference,
                metric=target if isinstance(target, Metric) else None,
                field=target if isinstance(target, InfoField) else None,
            ))
            report.added.append(label)
        elif mapping.column != column or mapping.column_unit != unit or bool(mapping.per_inference) != per_inference:
            mapping.column = column
            mapping.column_unit = unit
            mapping.per_inference = per_inference
            report.changed.append(label)
    return report


def _targets(submitted: Mapping[str, MappingInput]) -> tuple[dict[int, Metric], dict[int, InfoField]]:
    metric_ids = [int(key[2:]) for key in submitted if key.startswith("m-")]
    field_ids = [int(key[2:]) for key in submitted if key.startswith("f-")]
    metrics = {}
    if metric_ids:
        metrics = {metric.id: metric for metric in db.session.scalars(select(Metric).where(Metric.id.in_(metric_ids)))}
    fields = {}
    if field_ids:
        fields = {item.id: item for item in db.session.scalars(select(InfoField).where(InfoField.id.in_(field_ids)))}
    return metrics, fields


def _row(form_key: str, target: Metric | InfoField, values: Mapping[str, MappingInput]) -> MappingRow:
    column, column_unit, per_inference = values.get(form_key, MappingInput("", ""))
    return MappingRow(form_key, target, column, column_unit, per_inference)


def _snapshot(tool: CalculationTool) -> dict:
    return {
        **audit.snapshot(tool, ("name", "description", "file_format")),
        "mappings": sorted(
            (
                {
                    "phase": mapping.phase,
                    "column": mapping.column,
                    "column_unit": mapping.column_unit,
                    "per_inference": bool(mapping.per_inference),
                    "metric": mapping.metric.key if mapping.metric is not None else None,
                    "field": mapping.field.key if mapping.field is not None else None,
                }
                for mapping in tool.mappings
            ),
            key=lambda item: (item["phase"], item["metric"] or "", item["field"] or ""),
        ),
    }
