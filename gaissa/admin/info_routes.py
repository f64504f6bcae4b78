"""Additional-information fields of each phase: list and search, editor, deletion."""

from flask import flash, request, url_for

from gaissa.admin.blueprint import bp, get_or_404, phase_arg
from gaissa.admin.forms import InfoFieldForm, attach_errors
from gaissa.extensions import db
from gaissa.services import info_admin
from gaissa.services.metric_admin import slugify_key
from gaissa.web.htmx import redirect_htmx_aware, render


@bp.get("/info-fields")
def info_fields():
    phase = phase_arg()
    text = request.args.get("q", "")
    return render("admin/info_fields.html", "admin/partials/_info_rows.html", phase=phase, q=text,
                  rows=info_admin.list_fields(phase, text))


@bp.route("/info-fields/new", methods=["GET", "POST"])
def new_info_field():
    phase = phase_arg()
    form = InfoFieldForm()
    if form.validate_on_submit():
        try:
            info_field = info_admin.create_field(phase, _info_input(form))
        except info_admin.InfoInputError as exc:
            attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Created the {phase} field {info_field.name} ({info_field.key}).", "success")
            return redirect_htmx_aware(url_for("admin.info_fields", phase=phase))
    return _editor(form, phase, None)


@bp.route("/info-fields/<int:field_id>", methods=["GET", "POST"])
def edit_info_field(field_id: int):
    info_field = get_or_404(info_admin.get_field(field_id))
    form = InfoFieldForm(data=None if request.method == "POST" else {
        "name": info_field.name, "description": info_field.description,
        "options": "\n".join(info_field.options or []),
    })
    if form.validate_on_submit():
        try:
            info_admin.update_field(info_field, _info_input(form))
        except info_admin.InfoInputError as exc:
            attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Saved the field {info_field.name}.", "success")
            return redirect_htmx_aware(url_for("admin.info_fields", phase=info_field.phase))
    return _editor(form, info_field.phase, info_field)


@bp.route("/info-fields/<int:field_id>/delete", methods=["GET", "POST"])
def delete_info_field(field_id: int):
    info_field = get_or_404(info_admin.get_field(field_id))
    if request.method == "GET":
        return render("admin/info_delete.html", "admin/partials/_info_delete.html", info_field=info_field,
                      impact=info_admin.deletion_impact(info_field))
    phase, name = info_field.phase, info_field.name
    counts = info_admin.delete_field(info_field)
    db.session.commit()
    flash(f"Deleted the field {name}, {counts.values} stored values and {counts.mappings} tool mappings.", "success")
    return redirect_htmx_aware(url_for("admin.info_fields", phase=phase))


def _editor(form: InfoFieldForm, phase: str, info_field):
    key = info_field.key if info_field is not None else slugify_key(form.name.data or "")
    return render("admin/info_form.html", "admin/partials/_info_form.html", status=400 if form.is_submitted() else 200,
                  form=form, phase=phase, info_field=info_field, key=key)


def _info_input(form: InfoFieldForm) -> info_admin.InfoInput:
    return info_admin.InfoInput(name=form.name.data or "", description=form.description.data or "",
                                options=form.options.data or "")
