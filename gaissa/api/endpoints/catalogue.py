"""The GAISSALabel catalogue: grades, metrics, rating scheme versions, information fields, calculation tools.

Anyone may read it; QA managers may change it. Weight and boundary changes go into the phase's
draft scheme, as on the admin screens, and take effect when the draft is published as a new version.
"""

from flask import url_for
from sqlalchemy import select

from gaissa.api import catalogue, presenters, schemas
from gaissa.api.access import caller
from gaissa.api.blueprint import api
from gaissa.api.errors import invalid_input
from gaissa.api.responses import created, not_found
from gaissa.extensions import db
from gaissa.models import Grade
from gaissa.services import info_admin, metric_admin, scheme_admin, tool_admin

PHASE_SCHEMA = {"phase": {"type": "string", "enum": ["training", "inference"]}}
KEY_SCHEMA = {"key": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"}}
CATALOGUE = {"tag": "Catalogue", "tool": "label"}
MANAGERS = {"tag": "Catalogue", "tool": "label", "access": "manager"}


def _phase(phase: str) -> str:
    if phase not in scheme_admin.PHASES:
        raise not_found(f"Unknown phase {phase!r}; use training or inference.", field="phase")
    return phase


def _metric(key: str):
    metric = catalogue.find_metric(key)
    if metric is None:
        raise not_found(f"No metric with key {key!r}; see GET /metrics.", field="key")
    return metric


def _metric_out(metric):
    published = scheme_admin.published_entry(metric.phase, metric.key)
    draft = None
    if caller().is_manager and scheme_admin.draft_of(metric.phase) is not None:
        draft = scheme_admin.working_entry(metric.phase, metric.key)
    return presenters.metric_out(metric, published, draft)


# ---------------------------------------------------------------- grades and metrics


@api.operation("GET", "/grades", summary="List the grades", response=schemas.GradeList, **CATALOGUE)
def list_grades():
    """Return the A–E grades with their colours."""
    grades = db.session.scalars(select(Grade).order_by(Grade.position))
    return schemas.GradeList(items=[schemas.GradeOut(letter=g.letter, position=g.position, colour=g.colour)
                                    for g in grades])


@api.operation("GET", "/metrics", summary="List the metrics", query=schemas.MetricListQuery,
               response=schemas.MetricList, **CATALOGUE)
def list_metrics(query: schemas.MetricListQuery):
    """Metrics with their weight and boundaries in the current published scheme version."""
    metrics = catalogue.list_metrics(query.phase)
    published = {phase: catalogue.entries_by_key(scheme_admin.latest_published(phase)) for phase in scheme_admin.PHASES}
    drafts = {}
    if caller().is_manager:
        drafts = {phase: catalogue.entries_by_key(scheme_admin.draft_of(phase)) for phase in scheme_admin.PHASES}
    items = [
        presenters.metric_out(metric, published[metric.phase].get(metric.key), drafts.get(metric.phase, {}).get(metric.key))
        for metric in metrics
    ]
    return schemas.MetricList(items=items)


@api.operation("GET", "/metrics/<key>", summary="Read a metric", response=schemas.MetricOut,
               path_schemas=KEY_SCHEMA, **CATALOGUE)
def get_metric(key: str):
    return _metric_out(_metric(key))


@api.operation("POST", "/metrics", summary="Create a metric", body=schemas.MetricCreate, response=schemas.MetricOut,
               status=201, **MANAGERS)
def create_metric(body: schemas.MetricCreate):
    """Add a metric; its weight and boundaries go into the phase's draft scheme."""
    try:
        metric = metric_admin.create_metric(body.phase, catalogue.metric_input(body))
    except metric_admin.MetricInputError as exc:
        raise invalid_input(catalogue.metric_errors(exc.errors)) from None
    db.session.commit()
    return created(_metric_out(metric), url_for("api.get_metric", key=metric.key, _external=True))


@api.operation("PATCH", "/metrics/<key>", summary="Change a metric", body=schemas.MetricUpdate,
               response=schemas.MetricOut, path_schemas=KEY_SCHEMA, **MANAGERS)
def update_metric(key: str, body: schemas.MetricUpdate):
    """Change the given fields; a new weight or new boundaries go into the draft scheme."""
    metric = _metric(key)
    try:
        metric_admin.update_metric(metric, catalogue.metric_update_input(metric, body))
    except (metric_admin.MetricInputError, catalogue.CatalogueInputError) as exc:
        raise invalid_input(catalogue.metric_errors(exc.errors)) from None
    db.session.commit()
    return _metric_out(metric)


@api.operation("DELETE", "/metrics/<key>", summary="Delete a metric", response=schemas.DeletionOut,
               path_schemas=KEY_SCHEMA, **MANAGERS)
def delete_metric(key: str):
    """Delete the metric with every stored value of it and its tool mappings.

    Published scheme versions keep their copy, and stored evaluations keep their overall grade.
    """
    impact = metric_admin.delete_metric(_metric(key))
    db.session.commit()
    return schemas.DeletionOut(deleted=key, removed_values=impact.values, removed_mappings=impact.mappings)


# ---------------------------------------------------------------- rating scheme versions


@api.operation("GET", "/schemes/<phase>", summary="List the published scheme versions of a phase",
               response=schemas.SchemeList, path_schemas=PHASE_SCHEMA, **CATALOGUE)
def list_schemes(phase: str):
    """Published versions, newest first; every evaluation names the version it was rated with."""
    return schemas.SchemeList(items=[presenters.scheme_out(s) for s in scheme_admin.versions(_phase(phase))])


@api.operation("GET", "/schemes/<phase>/<int:version>", summary="Read a scheme version", response=schemas.SchemeOut,
               path_schemas=PHASE_SCHEMA, **CATALOGUE)
def get_scheme(phase: str, version: int):
    scheme = next((item for item in scheme_admin.versions(_phase(phase)) if item.version == version), None)
    if scheme is None:
        raise not_found(f"No published {phase} scheme version {version}.", field="version")
    return presenters.scheme_out(scheme)


@api.operation("GET", "/schemes/<phase>/draft", summary="Read the draft scheme", response=schemas.SchemeOut,
               path_schemas=PHASE_SCHEMA, **MANAGERS)
def get_draft(phase: str):
    draft = scheme_admin.draft_of(_phase(phase))
    if draft is None:
        raise not_found(f"There is no {phase} draft; change a metric's weight or boundaries to start one.")
    return presenters.scheme_out(draft)


@api.operation("POST", "/schemes/<phase>/draft/publish", summary="Publish the draft as a new version",
               body=schemas.SchemePublish, response=schemas.SchemeOut, status=201, path_schemas=PHASE_SCHEMA,
               **MANAGERS)
def publish_draft(phase: str, body: schemas.SchemePublish):
    """Turn the draft into the next numbered version; stored evaluations keep their grades."""
    try:
        scheme = scheme_admin.publish(_phase(phase), body.summary, caller().user)
    except scheme_admin.SchemeError as exc:
        raise invalid_input({"summary" if "summary" in str(exc) else "draft": str(exc)}) from None
    db.session.commit()
    return created(presenters.scheme_out(scheme),
                   url_for("api.get_scheme", phase=phase, version=scheme.version, _external=True))


@api.operation("DELETE", "/schemes/<phase>/draft", summary="Discard the draft scheme", response=schemas.DeletionOut,
               path_schemas=PHASE_SCHEMA, **MANAGERS)
def discard_draft(phase: str):
    if not scheme_admin.discard_draft(_phase(phase)):
        raise not_found(f"There is no {phase} draft to discard.")
    db.session.commit()
    return schemas.DeletionOut(deleted=f"{phase} draft")


# ---------------------------------------------------------------- information fields


def _info_field(phase: str, key: str):
    info_field = catalogue.find_info_field(_phase(phase), key)
    if info_field is None:
        raise not_found(f"No {phase} information field with key {key!r}; see GET /info-fields.", field="key")
    return info_field


@api.operation("GET", "/info-fields", summary="List the information fields", query=schemas.MetricListQuery,
               response=schemas.InfoFieldList, **CATALOGUE)
def list_info_fields(query: schemas.MetricListQuery):
    """Unrated fields asked with each evaluation (hardware, country…); options null means free text."""
    return schemas.InfoFieldList(items=[presenters.info_field_out(item) for item in catalogue.list_info_fields(query.phase)])


@api.operation("POST", "/info-fields", summary="Create an information field", body=schemas.InfoFieldCreate,
               response=schemas.InfoFieldOut, status=201, **MANAGERS)
def create_info_field(body: schemas.InfoFieldCreate):
    try:
        info_field = info_admin.create_field(body.phase, catalogue.info_input(body))
    except info_admin.InfoInputError as exc:
        raise invalid_input(exc.errors) from None
    db.session.commit()
    return created(presenters.info_field_out(info_field), url_for("api.list_info_fields", phase=body.phase, _external=True))


@api.operation("PATCH", "/info-fields/<phase>/<key>", summary="Change an information field",
               body=schemas.InfoFieldUpdate, response=schemas.InfoFieldOut, path_schemas={**PHASE_SCHEMA, **KEY_SCHEMA},
               **MANAGERS)
def update_info_field(phase: str, key: str, body: schemas.InfoFieldUpdate):
    info_field = _info_field(phase, key)
    try:
        info_admin.update_field(info_field, catalogue.info_update_input(info_field, body))
    except info_admin.InfoInputError as exc:
        raise invalid_input(exc.errors) from None
    db.session.commit()
    return presenters.info_field_out(info_field)


@api.operation("DELETE", "/info-fields/<phase>/<key>", summary="Delete an information field",
               response=schemas.DeletionOut, path_schemas={**PHASE_SCHEMA, **KEY_SCHEMA}, **MANAGERS)
def delete_info_field(phase: str, key: str):
    """Delete the field with every stored value of it and its tool mappings."""
    impact = info_admin.delete_field(_info_field(phase, key))
    db.session.commit()
    return schemas.DeletionOut(deleted=f"{phase}.{key}", removed_values=impact.values, removed_mappings=impact.mappings)


# ---------------------------------------------------------------- calculation tools


def _tool(tool_id: int):
    tool = tool_admin.get_tool(tool_id)
    if tool is None:
        raise not_found(f"No calculation tool with id {tool_id}; see GET /tools.", field="tool_id")
    return tool


def _save_tool(body: schemas.ToolWrite, tool=None):
    try:
        data, names = catalogue.tool_input(body, tool)
        if tool is None:
            tool, _ = tool_admin.create_tool(data)
        else:
            tool_admin.update_tool(tool, data)
    except catalogue.CatalogueInputError as exc:
        raise invalid_input(exc.errors) from None
    except tool_admin.ToolInputError as exc:
        raise invalid_input({names.get(name, name): message for name, message in exc.errors.items()}) from None
    db.session.commit()
    return tool


@api.operation("GET", "/tools", summary="List the calculation tools", response=schemas.ToolList, **CATALOGUE)
def list_tools():
    """Tools whose output files the upload page reads, with the column feeding each metric or field."""
    return schemas.ToolList(items=[presenters.tool_out(tool) for tool in catalogue.list_tools()])


@api.operation("GET", "/tools/<int:tool_id>", summary="Read a calculation tool", response=schemas.ToolOut, **CATALOGUE)
def get_tool(tool_id: int):
    return presenters.tool_out(_tool(tool_id))


@api.operation("POST", "/tools", summary="Create a calculation tool", body=schemas.ToolWrite,
               response=schemas.ToolOut, status=201, **MANAGERS)
def create_tool(body: schemas.ToolWrite):
    tool = _save_tool(body)
    return created(presenters.tool_out(tool), url_for("api.get_tool", tool_id=tool.id, _external=True))


@api.operation("PUT", "/tools/<int:tool_id>", summary="Replace a calculation tool", body=schemas.ToolWrite,
               response=schemas.ToolOut, **MANAGERS)
def replace_tool(tool_id: int, body: schemas.ToolWrite):
    """Replace name, format, description and the whole list of mappings; mappings left out are removed."""
    return presenters.tool_out(_save_tool(body, _tool(tool_id)))


@api.operation("DELETE", "/tools/<int:tool_id>", summary="Delete a calculation tool", response=schemas.DeletionOut,
               **MANAGERS)
def delete_tool(tool_id: int):
    tool = _tool(tool_id)
    name = tool.name
    count = tool_admin.delete_tool(tool)
    db.session.commit()
    return schemas.DeletionOut(deleted=name, removed_mappings=count)
