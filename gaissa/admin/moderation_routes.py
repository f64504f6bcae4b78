"""Moderation: find models and evaluations, hide or show them, delete spam."""

from flask import flash, request, url_for

from gaissa.admin.blueprint import bp, get_or_404, page_arg
from gaissa.extensions import db
from gaissa.services import moderation
from gaissa.web.htmx import redirect_htmx_aware, render, wants_fragment


@bp.get("/moderation")
def moderation_models():
    text = request.args.get("q", "")
    state = request.args.get("state", "all")
    if state not in moderation.STATES:
        state = "all"
    result = moderation.search_models(text, state, page_arg())
    return render("admin/moderation.html", "admin/partials/_moderation_results.html", result=result, q=text,
                  state=state, states=moderation.STATES)


@bp.get("/moderation/models/<int:model_id>")
def moderation_model(model_id: int):
    model = get_or_404(moderation.get_model(model_id))
    return render("admin/moderation_model.html", "admin/partials/_evaluation_rows.html", model=model,
                  rows=moderation.evaluation_rows(model))


@bp.post("/moderation/models/<int:model_id>/hidden")
def set_model_hidden(model_id: int):
    model = get_or_404(moderation.get_model(model_id))
    hidden = request.form.get("hidden") == "1"
    moderation.set_model_hidden(model, hidden)
    db.session.commit()
    if wants_fragment():
        return render("admin/moderation.html", "admin/partials/_model_row.html", row=moderation.model_row(model))
    flash(f"{'Hid' if hidden else 'Showed'} the model {model.name}.", "success")
    return redirect_htmx_aware(request.referrer if _same_site(request.referrer) else url_for("admin.moderation_models"))


@bp.route("/moderation/models/<int:model_id>/delete", methods=["GET", "POST"])
def delete_model(model_id: int):
    model = get_or_404(moderation.get_model(model_id))
    if request.method == "GET":
        return render("admin/moderation_delete.html", "admin/partials/_moderation_delete.html",
                      model=model, evaluation=None, row=moderation.model_row(model))
    name = model.name
    count = moderation.delete_model(model)
    db.session.commit()
    flash(f"Deleted the model {name} and its {count} evaluations.", "success")
    return redirect_htmx_aware(url_for("admin.moderation_models"))


@bp.post("/moderation/evaluations/<int:evaluation_id>/hidden")
def set_evaluation_hidden(evaluation_id: int):
    evaluation = get_or_404(moderation.get_evaluation(evaluation_id))
    hidden = request.form.get("hidden") == "1"
    moderation.set_evaluation_hidden(evaluation, hidden)
    db.session.commit()
    if wants_fragment():
        return render("admin/moderation_model.html", "admin/partials/_evaluation_row.html",
                      row=moderation.evaluation_row(evaluation))
    flash(f"{'Hid' if hidden else 'Showed'} evaluation {evaluation.id}.", "success")
    return redirect_htmx_aware(url_for("admin.moderation_model", model_id=evaluation.model_id))


@bp.route("/moderation/evaluations/<int:evaluation_id>/delete", methods=["GET", "POST"])
def delete_evaluation(evaluation_id: int):
    evaluation = get_or_404(moderation.get_evaluation(evaluation_id))
    if request.method == "GET":
        return render("admin/moderation_delete.html", "admin/partials/_moderation_delete.html",
                      model=evaluation.model, evaluation=evaluation, row=None)
    model_id = evaluation.model_id
    moderation.delete_evaluation(evaluation)
    db.session.commit()
    flash(f"Deleted evaluation {evaluation_id}.", "success")
    return redirect_htmx_aware(url_for("admin.moderation_model", model_id=model_id))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
