"""GAISSALabel pages: home, evaluation form, file upload, Consult, and the label page with its downloads."""

import unicodedata

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user

from gaissa.extensions import db
from gaissa.labeling.forms import UploadForm, read_evaluation_form, read_run_choices, read_tool_choices
from gaissa.labeling.pages import (
    evaluation_page_context,
    evaluation_url,
    form_context,
    label_page_url,
    load_evaluation,
    upload_choice_context,
)
from gaissa.services import browse, evaluations, labels, statistics, uploads, write_limits
from gaissa.web.htmx import htmx_target, redirect_htmx_aware, render
from gaissa.web.page_cache import cached_for_visitors

bp = Blueprint("labeling", __name__)
PHASE = "<any(training, inference):phase>"


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.get("/")
@cached_for_visitors
def home():
    return render("labeling/home.html", counts=statistics.label_counts())


@bp.route(f"/{PHASE}/new", methods=["GET", "POST"])
def new_evaluation(phase: str):
    if request.method == "GET":
        draft = evaluations.get_draft(request.args.get("draft"))
        model_id = request.args.get("model_id", type=int)
        context = form_context(phase, draft=draft, model_id=model_id, query=request.args.get("q", ""))
        return render("labeling/form.html", **context)

    data = read_evaluation_form(request.form)
    draft = evaluations.get_draft(data.draft_id)
    rejected = _reject_when_over_limit(phase, data, draft)
    if rejected is not None:
        return rejected
    if data.action == "create_model":
        return _create_model_inline(phase, data, draft)
    try:
        if draft is not None and draft.phase == phase:
            evaluation_input = evaluations.input_from_draft(draft, data.model_id, data.values, data.info)
        else:
            evaluation_input = evaluations.EvaluationInput(phase=phase, model_id=data.model_id, values=data.values,
                                                           info=data.info)
        evaluation = evaluations.create_evaluation(evaluation_input, user_id=_user_id())
    except evaluations.EvaluationInputError as exc:
        context = form_context(phase, draft=draft, model_id=data.model_id, submitted=data, errors=exc.errors)
        return render("labeling/form.html", "labeling/partials/_form.html", status=422, **context)
    if draft is not None:
        evaluations.discard_draft(draft)
    db.session.commit()
    _count_anonymous_save()
    flash("Evaluation saved. This is its energy label.", "success")
    return redirect_htmx_aware(evaluation_url(evaluation))


def _reject_when_over_limit(phase: str, data, draft):
    """Return a 429 response that keeps the visitor's input once a visitor who is not signed in has no saves left.

    Return None while saves are left, and always for signed-in users.
    """
    if current_user.is_authenticated:
        return None
    decision = write_limits.anonymous_writes_left(request.remote_addr or "unknown")
    if decision.allowed:
        return None
    minutes = max(1, -(-decision.retry_after // 60))
    message = (f"Nothing was saved: visitors who are not signed in may save {decision.limit} evaluations or models "
               f"per hour from one address. Try again in about {minutes} minutes, or sign in.")
    if data.action == "create_model":
        context = form_context(phase, draft=draft, model_id=data.model_id, submitted=data,
                               errors={"new_model_name": message}, keep_new_model=True)
        response = render("labeling/form.html", "labeling/partials/_model_picker.html", status=429, **context)
    else:
        context = form_context(phase, draft=draft, model_id=data.model_id, submitted=data, refusal=message)
        response = render("labeling/form.html", "labeling/partials/_form.html", status=429, **context)
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def _count_anonymous_save() -> None:
    if not current_user.is_authenticated:
        write_limits.count_anonymous_write(request.remote_addr or "unknown")


def _create_model_inline(phase: str, data, draft):
    errors = {}
    model_id = data.model_id
    namesake = None if data.confirm_duplicate else browse.find_model_named_alike(data.new_model.get("name", ""))
    if namesake is not None:
        by = f" by {namesake.author}" if namesake.author else ""
        errors = {"new_model_name": f"A model named “{namesake.name}”{by} already exists, and it is now selected "
                                    "above. To create another model with this name anyway, press Create model again."}
        context = form_context(phase, draft=draft, model_id=namesake.id, submitted=data, errors=errors,
                               keep_new_model=True, confirm_duplicate=True)
        return render("labeling/form.html", "labeling/partials/_model_picker.html", status=422, **context)
    try:
        model = evaluations.create_model(**data.new_model, user_id=_user_id())
        db.session.commit()
        _count_anonymous_save()
        model_id = model.id
    except evaluations.EvaluationInputError as exc:
        errors = {f"new_model_{name}": message for name, message in exc.errors.items()}
    context = form_context(phase, draft=draft, model_id=model_id, submitted=data, errors=errors,
                           model_created=not errors, keep_new_model=bool(errors))
    return render("labeling/form.html", "labeling/partials/_model_picker.html", status=422 if errors else 200, **context)


@bp.get(f"/{PHASE}/models/options")
def model_options(phase: str):
    context = form_context(phase, model_id=request.args.get("model_id", type=int), query=request.args.get("q", ""))
    return render("labeling/form.html", "labeling/partials/_model_options.html", **context)


@bp.route(f"/{PHASE}/upload", methods=["GET", "POST"])
def upload(phase: str):
    form = UploadForm()
    tools = uploads.tools_for_phase(phase)
    page = {"phase": phase, "form": form, "tools": tools,
            "count_tool_ids": uploads.tools_needing_inference_count(phase, tools)}
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render("labeling/upload.html", status=status, result=None, **page)

    files = [item for item in request.files.getlist(form.files.name) if item and item.filename]
    choices = read_tool_choices(request.form, len(files))
    uploaded = [
        uploads.UploadedFile(item.filename, item.read(), int(choice) if choice.isdigit() else None)
        for item, choice in zip(files, choices)
    ]
    result = uploads.read_uploads(phase, uploaded, form.inference_count.data, form.model_name.data)
    if not result.ok:
        return render("labeling/upload.html", status=422, result=result, **page)
    db.session.commit()
    return redirect(url_for("labeling.choose_runs", phase=phase, draft_id=result.draft.id), code=303)


@bp.route(f"/{PHASE}/upload/<draft_id>", methods=["GET", "POST"])
def choose_runs(phase: str, draft_id: str):
    draft = evaluations.get_draft(draft_id)
    if draft is None or draft.phase != phase or draft.source != "file":
        abort(404)
    errors: list[str] = []
    selections = combinations = None
    if request.method == "POST":
        selections, combinations = read_run_choices(request.form)
        errors = uploads.choose_runs(draft, selections, combinations)
        if not errors:
            db.session.commit()
            return redirect(url_for("labeling.new_evaluation", phase=phase, draft=draft.id), code=303)
    return render("labeling/choose_runs.html", status=422 if errors else 200, errors=errors,
                  **upload_choice_context(draft, selections, combinations))


@bp.get("/models")
@cached_for_visitors
def models():
    page = browse.search_models(
        request.args.get("q", ""), page=request.args.get("page", 1, type=int),
        per_page=current_app.config["ITEMS_PER_PAGE"], provider=request.args.get("provider") or None,
    )
    return render("labeling/models.html", "labeling/partials/_model_list.html", page=page,
                  provider=request.args.get("provider", ""))


@bp.get("/models/<int:model_id>")
@cached_for_visitors
def model_detail(model_id: int):
    model = browse.get_model(model_id)
    if model is None:
        abort(404, description=f"No model with id {model_id}. It may have been removed.")
    per_page = current_app.config["ITEMS_PER_PAGE"]
    trainings_page = request.args.get("trainings_page", 1, type=int)
    inferences_page = request.args.get("inferences_page", 1, type=int)
    lists = {
        "trainings": browse.evaluation_page(model, "training", trainings_page, per_page),
        "inferences": browse.evaluation_page(model, "inference", inferences_page, per_page),
    }
    # The pager of each list targets that list, so an htmx request renders only the list it named.
    collection = htmx_target() if htmx_target() in lists else "trainings"
    return render("labeling/model.html", "labeling/partials/_evaluation_list.html", model=model, lists=lists,
                  collection=collection)


@bp.get("/models/<int:model_id>/<any(trainings, inferences):collection>/<int:evaluation_id>")
@cached_for_visitors
def evaluation(model_id: int, collection: str, evaluation_id: int):
    found = load_evaluation(model_id, collection, evaluation_id)
    return render("labeling/evaluation.html", **evaluation_page_context(found))


@bp.get("/models/<int:model_id>/<any(trainings, inferences):collection>/<int:evaluation_id>/label.svg")
def label_svg(model_id: int, collection: str, evaluation_id: int):
    found = load_evaluation(model_id, collection, evaluation_id)
    response = make_response(labels.render_label_svg(found, label_page_url(found)))
    response.mimetype = "image/svg+xml"
    response.headers["Content-Disposition"] = f'attachment; filename="{_download_name(found)}.svg"'
    return response


@bp.get("/models/<int:model_id>/<any(trainings, inferences):collection>/<int:evaluation_id>/label.pdf")
def label_pdf(model_id: int, collection: str, evaluation_id: int):
    found = load_evaluation(model_id, collection, evaluation_id)
    response = make_response(labels.render_label_pdf(found, label_page_url(found)))
    response.mimetype = "application/pdf"
    disposition = "inline" if request.args.get("inline") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{_download_name(found)}.pdf"'
    return response


def _download_name(evaluation) -> str:
    # HTTP headers are Latin-1, so the file name keeps ASCII letters and digits only. Accents are dropped first,
    # so "Café" gives "Cafe".
    plain = unicodedata.normalize("NFKD", evaluation.model.name).encode("ascii", "ignore").decode("ascii")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in plain)
    safe = safe[:60].strip("-.")
    return f"energy-label-{safe or 'model'}-{evaluation.phase}-{evaluation.id}"
