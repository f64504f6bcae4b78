"""Metrics of each phase: list and search, editor with a live scale preview, calibration, deletion."""

from flask import flash, request, url_for

from gaissa.admin.blueprint import bp, get_or_404, phase_arg
from gaissa.admin.forms import CalibrationForm, MetricForm, attach_errors
from gaissa.extensions import db
from gaissa.services import metric_admin, scheme_admin
from gaissa.web.htmx import htmx_target, redirect_htmx_aware, render


@bp.get("/metrics")
def metrics():
    phase = phase_arg()
    text = request.args.get("q", "")
    rows = metric_admin.list_metrics(phase, text)
    return render("admin/metrics.html", "admin/partials/_metric_rows.html", phase=phase, rows=rows, q=text,
                  draft=scheme_admin.draft_of(phase), latest=scheme_admin.latest_published(phase))


@bp.route("/metrics/new", methods=["GET", "POST"])
def new_metric():
    phase = phase_arg()
    form = MetricForm()
    other_errors = {}
    if form.validate_on_submit():
        try:
            metric = metric_admin.create_metric(phase, _metric_input(form))
        except metric_admin.MetricInputError as exc:
            other_errors = attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Created {metric.name} ({metric.key}). Its weight and boundaries are in the {phase} draft: "
                  "review the impact and publish it under Rating schemes.", "success")
            return redirect_htmx_aware(url_for("admin.edit_metric", metric_id=metric.id))
    return _editor(form, phase, None, other_errors)


@bp.route("/metrics/<int:metric_id>", methods=["GET", "POST"])
def edit_metric(metric_id: int):
    metric = get_or_404(metric_admin.get_metric(metric_id))
    form = MetricForm(obj=None if request.method == "POST" else _MetricDefaults(metric))
    other_errors = {}
    if form.validate_on_submit():
        try:
            rating_changed = metric_admin.update_metric(metric, _metric_input(form))
        except metric_admin.MetricInputError as exc:
            other_errors = attach_errors(form, exc.errors)
        else:
            db.session.commit()
            note = (" The new weight or boundaries are in the draft scheme until you publish it." if rating_changed
                    else "")
            flash(f"Saved {metric.name}.{note}", "success")
            return redirect_htmx_aware(url_for("admin.edit_metric", metric_id=metric.id))
    return _editor(form, metric.phase, metric, other_errors)


@bp.get("/metrics/preview")
def metric_preview():
    boundaries = [request.args.get(name, "") for name in metric_admin.BOUNDARY_FIELDS]
    preview = metric_admin.preview_scale(request.args.get("direction", ""), boundaries, request.args.get("unit", ""))
    key = metric_admin.slugify_key(request.args.get("name", ""))
    # One URL, two fragments: the key line under the name, or the scale under the boundaries.
    fragment = "admin/partials/_scale_preview.html"
    if htmx_target() == "key-preview":
        fragment = "admin/partials/_key_preview.html"
    return render("admin/metric_preview.html", fragment, preview=preview, key=key)


@bp.route("/metrics/<int:metric_id>/delete", methods=["GET", "POST"])
def delete_metric(metric_id: int):
    metric = get_or_404(metric_admin.get_metric(metric_id))
    if request.method == "GET":
        return render("admin/metric_delete.html", "admin/partials/_metric_delete.html", metric=metric,
                      impact=metric_admin.deletion_impact(metric))
    phase, name = metric.phase, metric.name
    counts = metric_admin.delete_metric(metric)
    db.session.commit()
    note = (f" The {phase} draft scheme no longer contains it; publish the draft to remove it from the rating scale."
            if counts.published else "")
    flash(f"Deleted {name} and {counts.values} stored values.{note}", "success")
    return redirect_htmx_aware(url_for("admin.metrics", phase=phase))


@bp.route("/metrics/<int:metric_id>/calibrate", methods=["GET", "POST"])
def calibrate_metric(metric_id: int):
    metric = get_or_404(metric_admin.get_metric(metric_id))
    calibration = scheme_admin.calibrate(metric)
    entry = scheme_admin.working_entry(metric.phase, metric.key)
    proposal = calibration.boundaries or (entry.boundaries if entry else ("", "", "", ""))
    form = CalibrationForm(data=dict(zip(metric_admin.BOUNDARY_FIELDS, (_plain(value) for value in proposal))))
    other_errors = {}
    if form.validate_on_submit() and calibration.boundaries is not None:
        boundaries = {name: getattr(form, name).data for name in metric_admin.BOUNDARY_FIELDS}
        data = _MetricDefaults(metric).as_input(**boundaries)
        try:
            metric_admin.update_metric(metric, data)
        except metric_admin.MetricInputError as exc:
            other_errors = attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"The calibrated boundaries of {metric.name} are in the {metric.phase} draft. Check the impact "
                  "below and publish.", "success")
            return redirect_htmx_aware(url_for("admin.schemes", phase=metric.phase))
    status = 400 if form.is_submitted() else 200
    return render("admin/metric_calibrate.html", "admin/partials/_calibration.html", status=status, metric=metric,
                  calibration=calibration, entry=entry, form=form, other_errors=other_errors)


def _editor(form: MetricForm, phase: str, metric, other_errors: dict[str, str]):
    boundaries = [field.data or "" for field in form.boundary_fields()]
    preview = metric_admin.preview_scale(form.direction.data or "", boundaries, form.unit.data or "")
    key = metric.key if metric is not None else metric_admin.slugify_key(form.name.data or "")
    published = scheme_admin.published_entry(phase, metric.key) if metric is not None else None
    status = 400 if form.is_submitted() else 200
    return render("admin/metric_form.html", "admin/partials/_metric_form.html", status=status, form=form,
                  phase=phase, metric=metric, preview=preview, key=key, published=published,
                  value_count=metric_admin.value_count(metric) if metric is not None else 0,
                  other_errors=other_errors, max_weight=metric_admin.MAX_WEIGHT)


def _metric_input(form: MetricForm) -> metric_admin.MetricInput:
    return metric_admin.MetricInput(
        name=form.name.data or "", unit=form.unit.data or "", direction=form.direction.data or "",
        weight=form.weight.data or "", b1=form.b1.data or "", b2=form.b2.data or "", b3=form.b3.data or "",
        b4=form.b4.data or "", description=form.description.data or "", how_to_measure=form.how_to_measure.data or "",
        recommendations=form.recommendations.data or "",
    )


def _plain(value) -> str:
    """Write a stored number for an input box without float noise: 0.1 rather than 0.1000000000000000055."""
    return value if isinstance(value, str) else f"{value:.15g}"


class _MetricDefaults:
    """The editor's initial values: the metric's details and its working weight and boundaries."""

    def __init__(self, metric):
        entry = scheme_admin.working_entry(metric.phase, metric.key)
        self.name = metric.name
        self.description = metric.description
        self.unit = metric.unit
        self.direction = metric.direction
        self.how_to_measure = metric.how_to_measure
        self.recommendations = "\n".join(metric.recommendations or [])
        self.weight = _plain(entry.weight) if entry is not None else ""
        for name, value in zip(metric_admin.BOUNDARY_FIELDS, entry.boundaries if entry is not None else ("",) * 4):
            setattr(self, name, _plain(value))

    def as_input(self, **changes) -> metric_admin.MetricInput:
        values = {name: getattr(self, name) for name in (
            "name", "unit", "direction", "weight", "b1", "b2", "b3", "b4", "description", "how_to_measure",
            "recommendations")}
        values.update(changes)
        return metric_admin.MetricInput(**values)
