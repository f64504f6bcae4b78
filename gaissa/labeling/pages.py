"""View-models of the GAISSALabel pages, so that the route functions stay short."""

import threading
from collections import OrderedDict
from typing import Any

from flask import abort, current_app, render_template, url_for
from flask_login import current_user
from markupsafe import Markup

from gaissa.models import Evaluation, EvaluationDraft
from gaissa.services import browse, content_version, evaluations, labels, schemes, uploads
from gaissa.web import page_cache

COLLECTIONS = {"trainings": "training", "inferences": "inference"}


def is_manager() -> bool:
    return bool(current_user.is_authenticated and current_user.is_manager)


def evaluation_url(evaluation: Evaluation, external: bool = False) -> str:
    return url_for("labeling.evaluation", model_id=evaluation.model_id, collection=f"{evaluation.phase}s",
                   evaluation_id=evaluation.id, _external=external)


def label_page_url(evaluation: Evaluation) -> str:
    """Absolute URL of the evaluation's page, written into the QR code (PUBLIC_BASE_URL when configured)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + evaluation_url(evaluation)
    return evaluation_url(evaluation, external=True)


def load_evaluation(model_id: int, collection: str, evaluation_id: int) -> Evaluation:
    evaluation = browse.get_evaluation(model_id, COLLECTIONS[collection], evaluation_id, include_hidden=is_manager())
    if evaluation is None:
        abort(404, description=f"No {COLLECTIONS[collection]} {evaluation_id} of model {model_id}. "
                               "Check the link, or browse the models in Consult.")
    return evaluation


def form_context(phase: str, draft: EvaluationDraft | None = None, model_id: int | None = None, query: str = "",
                 submitted=None, errors: dict[str, str] | None = None, model_created: bool = False,
                 keep_new_model: bool = False, refusal: str = "",
                 confirm_duplicate: bool = False) -> dict[str, Any]:
    """Everything the evaluation form shows: catalogue, picker choices, values to pre-fill and errors."""
    if draft is not None and draft.phase != phase:
        draft = None
    values: dict[str, str] = {}
    info: dict[str, str] = {}
    if draft is not None:
        values = {key: evaluations.format_for_input(number) for key, number in (draft.values or {}).items()}
        info = dict(draft.info or {})
    if submitted is not None:
        values = dict(submitted.values)
        info = dict(submitted.info)
    new_model = submitted.new_model if (submitted is not None and keep_new_model) else {}
    if draft is not None and draft.model_name and model_id is None and submitted is None:
        model_id = browse.find_model_id_by_name(draft.model_name)
        if model_id is None:
            new_model = {"name": draft.model_name}
    weights = {entry.metric_key: entry.weight for entry in schemes.current_scheme(phase).entries}
    countries = _countries()
    return {
        "phase": phase,
        "metrics": evaluations.metrics_of_phase(phase),
        "weights": weights,
        "info_fields": evaluations.info_fields_of_phase(phase),
        "models": browse.model_choices(query, selected_id=model_id),
        "selected_model_id": model_id,
        "query": query,
        "values": values,
        "info": info,
        "draft": draft,
        "errors": errors or {},
        "model_created": model_created,
        "new_model": new_model,
        "countries": countries,
        "refusal": refusal,
        "confirm_duplicate": confirm_duplicate,
    }


def _countries() -> list[tuple[str, str]]:
    try:
        from gaissa.services import carbon
    except ImportError:
        return []
    return carbon.countries_with_data()


def upload_choice_context(draft: EvaluationDraft, selections: dict[int, list[int]] | None = None,
                          combinations: dict[int, str] | None = None) -> dict[str, Any]:
    """Build the run-choice page: the files, and per file the checked runs, the combination and whether to offer a sum.

    A submitted choice is shown again as it was sent; otherwise uploads.suggested_choice decides.
    """
    metrics = evaluations.metrics_of_phase(draft.phase)
    files = (draft.provenance or {}).get("files", [])
    choices = []
    for index, record in enumerate(files):
        rows, combination = uploads.suggested_choice(record["runs"])
        if selections is not None and len(record["runs"]) > 1:
            rows = selections.get(index, [])
            combination = (combinations or {}).get(index, combination)
        choices.append({"rows": set(rows), "combination": combination, "offers_sum": uploads.offers_sum(record["runs"])})
    return {
        "phase": draft.phase,
        "draft": draft,
        "files": files,
        "choices": choices,
        "metric_units": {metric.key: metric.unit for metric in metrics},
        "metric_names": {metric.key: metric.name for metric in metrics},
    }


def evaluation_page_context(evaluation: Evaluation) -> dict[str, Any]:
    page_url = label_page_url(evaluation)
    # In debug mode templates reload on every change, so kept fragments would show old templates.
    token = None if current_app.debug else content_version.current_token()
    key = (token, evaluation.id, page_url)
    content = _content_cache.get(key) if token is not None else None
    if content is None:
        label = labels.build_label(evaluation, page_url)
        # Kept fragments hold the CSRF placeholder, never a visitor's token; each response gets its own.
        with page_cache.placeholder_tokens():
            content = (
                label,
                Markup(labels.render_label_svg(evaluation, page_url, label)),
                Markup(render_template("labeling/partials/_breakdown.html",
                                       breakdown=labels.build_breakdown(evaluation))),
                Markup(render_template("labeling/partials/_share.html", evaluation=evaluation, page_url=page_url)),
                schemes.current_scheme(evaluation.phase).id,
            )
        if token is not None:
            _remember(key, content)
    label, label_svg, breakdown_html, share_html, current_scheme_id = content
    current = current_rating = None
    if current_scheme_id != evaluation.scheme_id:
        current = schemes.current_scheme(evaluation.phase)
        current_rating = evaluations.rerate(evaluation, current)
    return {
        "evaluation": evaluation,
        "model": evaluation.model,
        "label": label,
        "label_svg": label_svg,
        "breakdown_html": breakdown_html,
        "share_html": share_html,
        "current_scheme": current,
        "current_rating": current_rating,
        "page_url": page_url,
        "info_values": sorted(evaluation.info_values, key=lambda item: item.field.position),
    }


# Rendered label drawings, breakdowns and the current scheme, keyed by the content token (which changes with
# every committed change they could show), the evaluation and the page address. Each process keeps its own;
# the oldest entries go first. Logged-in users get these too; anonymous visitors mostly get the whole page.
_CONTENT_CACHE_SIZE = 128  # about 60 kB each
_content_cache: OrderedDict[tuple, tuple] = OrderedDict()
_cache_lock = threading.Lock()


def _remember(key: tuple, content: tuple) -> None:
    with _cache_lock:
        _content_cache[key] = content
        while len(_content_cache) > _CONTENT_CACHE_SIZE:
            _content_cache.popitem(last=False)
