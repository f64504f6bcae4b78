"""Administration of the ROI Analyzer catalogue and analyses (QA managers only)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, request, url_for

from gaissa.auth.login import manager_required
from gaissa.extensions import db
from gaissa.models.roi import AnalysisKind
from gaissa.roi import forms
from gaissa.roi.forms import REFRESH_BUTTON, read_analysis_form
from gaissa.services import roi_admin
from gaissa.services import roi_catalogue as catalogue
from gaissa.web.htmx import redirect_htmx_aware, render, wants_fragment

bp = Blueprint("roi_admin", __name__)


@dataclass(frozen=True)
class Entity:
    """The list columns, form and save function of one catalogue entity."""

    title: str
    singular: str
    form: type | None
    save: Callable | None
    columns: tuple[tuple[str, Callable[[Any], Any]], ...]
    # Form data -> the keyword data of the save function.
    to_data: Callable[[dict], dict] = lambda data: data
    # Row -> the form's initial data when editing.
    initial: Callable[[Any], dict] | None = None


def _reduction_data(data: dict) -> dict:
    return {
        "option_id": data["option"], "architecture_id": data["architecture"], "metric_id": data["metric"],
        "value": data["percent"] / 100 if data["percent"] is not None else None,
        "source_id": data["source"] or None, "is_illustrative": data["is_illustrative"], "note": data["note"],
    }


ENTITIES = {
    "stages": Entity("Pipeline stages", "pipeline stage", forms.StageForm, roi_admin.save_stage,
                     (("Name", lambda row: row.name), ("Description", lambda row: row.description))),
    "architectures": Entity("Model architectures", "model architecture", forms.ArchitectureForm,
                            roi_admin.save_architecture,
                            (("Name", lambda row: row.name), ("Information", lambda row: row.information or ""))),
    "sources": Entity("Sources", "source", forms.SourceForm, roi_admin.save_source,
                      (("Title", lambda row: row.title), ("URL", lambda row: row.url))),
    "metrics": Entity(
        "Metrics", "metric", forms.MetricForm, roi_admin.save_metric,
        (("Name", lambda row: row.name), ("Unit", lambda row: row.unit),
         ("Energy", lambda row: "yes" if row.is_energy else ""),
         ("Better", lambda row: "higher" if row.higher_is_better else "lower"),
         ("Range", lambda row: f"{_bound(row.min_value)} to {_bound(row.max_value)}")),
    ),
    "tactics": Entity(
        "Tactics", "tactic", forms.TacticForm, roi_admin.save_tactic,
        (("Name", lambda row: row.name), ("Stage", lambda row: row.stage.name),
         ("Architectures", lambda row: ", ".join(a.name for a in row.architectures)),
         ("Metrics", lambda row: ", ".join(m.name for m in row.metrics)),
         ("Sources", lambda row: len(row.sources))),
        to_data=lambda data: {"name": data["name"], "information": data["information"], "stage_id": data["stage"],
                              "source_ids": data["sources"], "architecture_ids": data["architectures"],
                              "metric_ids": data["metrics"]},
        initial=lambda row: {"name": row.name, "information": row.information, "stage": row.stage_id,
                             "sources": [s.id for s in row.sources], "architectures": [a.id for a in row.architectures],
                             "metrics": [m.id for m in row.metrics]},
    ),
    "options": Entity(
        "Tactic parameters", "tactic parameter", forms.OptionForm, roi_admin.save_option,
        (("Tactic", lambda row: row.tactic.name), ("Parameter", lambda row: row.name), ("Value", lambda row: row.value)),
        to_data=lambda data: {"tactic_id": data["tactic"], "name": data["name"], "value": data["value"]},
        initial=lambda row: {"tactic": row.tactic_id, "name": row.name, "value": row.value},
    ),
    "reductions": Entity(
        "Expected reductions", "expected reduction", forms.ReductionForm, roi_admin.save_reduction,
        (("Tactic parameter", lambda row: f"{row.option.tactic.name} – {row.option.label}"),
         ("Architecture", lambda row: row.architecture.name), ("Metric", lambda row: row.metric.name),
         ("Reduction", lambda row: f"{row.value * 100:.4g} %"),
         ("Source", lambda row: (row.source.title[:50] if row.source else "none")
          + (" · illustrative" if row.is_illustrative else ""))),
        to_data=_reduction_data,
        initial=lambda row: {"option": row.option_id, "architecture": row.architecture_id, "metric": row.metric_id,
                             "percent": row.value * 100, "source": row.source_id or 0,
                             "is_illustrative": row.is_illustrative, "note": row.note},
    ),
    "analyses": Entity(
        "Analyses", "analysis", None, None,
        (("Kind", lambda row: row.kind), ("Tactic parameter", lambda row: f"{row.option.tactic.name} – {row.option.label}"),
         ("Architecture", lambda row: row.architecture.name),
         ("Source or date", lambda row: row.source.title[:50] if row.source else f"{row.created_at:%Y-%m-%d %H:%M} UTC")),
    ),
}


@bp.get("/")
@manager_required
def index():
    return render("roi/admin/index.html", entities=ENTITIES, counts=roi_admin.entity_counts())


@bp.get("/<entity>/")
@manager_required
def rows(entity: str):
    spec = _entity(entity)
    return render("roi/admin/list.html", entity=entity, spec=spec, rows=roi_admin.list_rows(entity))


@bp.route("/<entity>/new", methods=["GET", "POST"])
@manager_required
def create(entity: str):
    return _edit(entity, None)


@bp.route("/<entity>/<int:row_id>/edit", methods=["GET", "POST"])
@manager_required
def edit(entity: str, row_id: int):
    return _edit(entity, _row(entity, row_id))


@bp.post("/<entity>/<int:row_id>/delete")
@manager_required
def delete(entity: str, row_id: int):
    spec = _entity(entity)
    row = _row(entity, row_id)
    try:
        roi_admin.delete_row(row)
    except roi_admin.CatalogueError as error:
        if wants_fragment():
            return render("roi/admin/_row_error.html", "roi/admin/_row_error.html", message=error.errors["form"],
                          columns=len(spec.columns) + 2)
        flash(error.errors["form"], "error")
        return redirect_htmx_aware(url_for("roi_admin.rows", entity=entity))
    db.session.commit()
    if wants_fragment():
        return ""
    flash(f"Deleted the {spec.singular}.", "success")
    return redirect_htmx_aware(url_for("roi_admin.rows", entity=entity))


@bp.route("/research/new", methods=["GET", "POST"])
@manager_required
def new_research():
    source = request.form if request.method == "POST" else request.args
    choices = catalogue.analysis_choices(*(_int(source.get(name)) for name in ("stage", "tactic", "architecture", "option")),
                                         with_sources=True)
    form = read_analysis_form(source, [metric.id for metric in choices.metrics])
    refresh = request.method == "POST" and REFRESH_BUTTON in request.form
    if refresh:
        form.errors.clear()
    if request.method == "POST" and not refresh and not form.errors:
        try:
            analysis = catalogue.create_analysis(form.architecture_id, form.option_id, form.values, form.country,
                                                 kind=AnalysisKind.RESEARCH, source_id=form.source_id)
        except catalogue.AnalysisInputError as error:
            form.errors.update(error.errors)
        else:
            roi_admin.record_created_analysis(analysis)
            db.session.commit()
            flash(f"Saved research analysis #{analysis.id}.", "success")
            return redirect_htmx_aware(url_for("roi.analysis", analysis_id=analysis.id))
    status = 422 if form.errors and not wants_fragment() else 200
    return render("roi/admin/research_new.html", "roi/partials/_analysis_form.html", status=status, choices=choices,
                  form=form, form_url=url_for("roi_admin.new_research"), kind=AnalysisKind.RESEARCH)


def _edit(entity: str, row):
    spec = _entity(entity)
    if spec.save is None:
        abort(404)
    initial = spec.initial(row) if (row is not None and spec.initial) else None
    form = spec.form(obj=row if initial is None else None, data=initial)
    _set_choices(form)

    if form.validate_on_submit():
        try:
            saved = spec.save(spec.to_data(_form_data(form)), row)
        except roi_admin.CatalogueError as error:
            _attach_errors(form, error.errors)
        else:
            db.session.commit()
            flash(f"Saved the {spec.singular}.", "success")
            return redirect_htmx_aware(url_for("roi_admin.rows", entity=entity) + f"#row-{saved.id}")
    status = 422 if form.errors and not wants_fragment() else 200
    return render("roi/admin/form.html", "roi/admin/_form.html", status=status, entity=entity, spec=spec, form=form,
                  row=row)


def _set_choices(form) -> None:
    choices = roi_admin.form_choices()
    for name, key in (("stage", "stages"), ("sources", "sources"), ("architectures", "architectures"),
                      ("metrics", "metrics"), ("tactic", "tactics"), ("option", "options"),
                      ("architecture", "architectures"), ("metric", "metrics")):
        if name in form:
            form[name].choices = choices[key]
    if "source" in form:
        form["source"].choices = [(0, "No source (the figure is illustrative)")] + choices["sources"]


def _form_data(form) -> dict:
    return {name: value for name, value in form.data.items() if name != "csrf_token"}


def _attach_errors(form, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = form[name] if name in form else None
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = list(target.errors) + [message]


def _entity(entity: str) -> Entity:
    spec = ENTITIES.get(entity)
    if spec is None:
        abort(404, description=f"No catalogue list named {entity!r}.")
    return spec


def _row(entity: str, row_id: int):
    row = roi_admin.get_row(entity, row_id)
    if row is None:
        abort(404, description=f"No {ENTITIES[entity].singular} with id {row_id}.")
    return row


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _bound(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
