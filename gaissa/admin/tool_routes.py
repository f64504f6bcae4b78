"""Calculation tools: list and search, editor with the column mappings of both phases, deletion."""

from flask import flash, request, url_for

from gaissa.admin.blueprint import bp, get_or_404
from gaissa.admin.forms import ToolForm, attach_errors
from gaissa.extensions import db
from gaissa.services import tool_admin
from gaissa.web.htmx import redirect_htmx_aware, render


@bp.get("/calculation-tools")
def calculation_tools():
    text = request.args.get("q", "")
    return render("admin/tools.html", "admin/partials/_tool_rows.html", rows=tool_admin.list_tools(text), q=text,
                  formats=tool_admin.FILE_FORMATS)


@bp.route("/calculation-tools/new", methods=["GET", "POST"])
def new_calculation_tool():
    form = ToolForm()
    submitted = tool_admin.parse_mapping_form(request.form) if request.method == "POST" else None
    errors = {}
    if form.validate_on_submit():
        try:
            tool, report = tool_admin.create_tool(_tool_input(form, submitted))
        except tool_admin.ToolInputError as exc:
            errors = attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Created the tool {tool.name}. {report.sentence()}", "success")
            return redirect_htmx_aware(url_for("admin.edit_calculation_tool", tool_id=tool.id))
    return _editor(form, None, submitted, errors)


@bp.route("/calculation-tools/<int:tool_id>", methods=["GET", "POST"])
def edit_calculation_tool(tool_id: int):
    tool = get_or_404(tool_admin.get_tool(tool_id))
    form = ToolForm(obj=None if request.method == "POST" else tool)
    submitted = tool_admin.parse_mapping_form(request.form) if request.method == "POST" else None
    errors = {}
    if form.validate_on_submit():
        try:
            report = tool_admin.update_tool(tool, _tool_input(form, submitted))
        except tool_admin.ToolInputError as exc:
            errors = attach_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Saved the tool {tool.name}. {report.sentence()}", "success")
            return redirect_htmx_aware(url_for("admin.edit_calculation_tool", tool_id=tool.id))
    return _editor(form, tool, submitted, errors)


@bp.route("/calculation-tools/<int:tool_id>/delete", methods=["GET", "POST"])
def delete_calculation_tool(tool_id: int):
    tool = get_or_404(tool_admin.get_tool(tool_id))
    if request.method == "GET":
        return render("admin/tool_delete.html", "admin/partials/_tool_delete.html", tool=tool)
    name = tool.name
    count = tool_admin.delete_tool(tool)
    db.session.commit()
    flash(f"Deleted the tool {name} and its {count} mappings. Users can no longer pick it for uploaded files.",
          "success")
    return redirect_htmx_aware(url_for("admin.calculation_tools"))


def _editor(form: ToolForm, tool, submitted, errors: dict[str, str]):
    return render("admin/tool_form.html", "admin/partials/_tool_form.html",
                  status=400 if form.is_submitted() else 200, form=form, tool=tool,
                  grid=tool_admin.mapping_grid(tool, submitted), errors=errors)


def _tool_input(form: ToolForm, submitted) -> tool_admin.ToolInput:
    return tool_admin.ToolInput(name=form.name.data or "", file_format=form.file_format.data or "",
                                description=form.description.data or "", mappings=submitted or {})
