"""Badge images of models and evaluations, and the template helpers of the label page's share box."""

import hashlib

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_login import current_user

from gaissa.labeling.pages import label_page_url
from gaissa.models import Evaluation, MLModel
from gaissa.services import badges, browse, labels, site

bp = Blueprint("badges", __name__)
COLLECTIONS = {"trainings": "training", "inferences": "inference"}
# An evaluation's grade never changes, because it is stored with its scheme version. A model's badge
# follows its newest training, so it is cached for a shorter time.
EVALUATION_MAX_AGE = 86_400
MODEL_MAX_AGE = 300


def _is_manager() -> bool:
    return bool(current_user.is_authenticated and current_user.is_manager)


@bp.before_request
def hide_when_label_is_off():
    if not site.is_enabled("label") and not _is_manager():
        abort(404)


@bp.get("/models/<int:model_id>/badge.svg")
def model_badge(model_id: int):
    model = browse.get_model(model_id, include_hidden=_is_manager())
    if model is None:
        abort(404, description=f"No model with id {model_id}.")
    return _svg_response(badges.render_badge_svg(badges.model_badge(model, labels.grade_colours())), MODEL_MAX_AGE)


@bp.get("/models/<int:model_id>/<any(trainings, inferences):collection>/<int:evaluation_id>/badge.svg")
def evaluation_badge(model_id: int, collection: str, evaluation_id: int):
    evaluation = browse.get_evaluation(model_id, COLLECTIONS[collection], evaluation_id, include_hidden=_is_manager())
    if evaluation is None:
        abort(404, description=f"No {COLLECTIONS[collection]} {evaluation_id} of model {model_id}.")
    badge = badges.evaluation_badge(evaluation, labels.grade_colours())
    return _svg_response(badges.render_badge_svg(badge), EVALUATION_MAX_AGE)


def _svg_response(svg: str, max_age: int) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.set_etag(hashlib.sha256(svg.encode("utf-8")).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    # Badges are embedded in other sites' pages (READMEs, model cards).
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)


# ---------------------------------------------------------------- template helpers of the share box


def _absolute(path: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base + path if base else request.host_url.rstrip("/") + path


@bp.app_template_global()
def evaluation_badge_url(evaluation: Evaluation) -> str:
    """Absolute URL of an evaluation's badge (PUBLIC_BASE_URL when configured)."""
    return _absolute(url_for("badges.evaluation_badge", model_id=evaluation.model_id,
                             collection=f"{evaluation.phase}s", evaluation_id=evaluation.id))


@bp.app_template_global()
def model_badge_url(model: MLModel) -> str:
    return _absolute(url_for("badges.model_badge", model_id=model.id))


@bp.app_template_global()
def share_snippets(evaluation: Evaluation, label_url: str | None = None, badge_url: str | None = None):
    """Markdown, HTML and model-card YAML embedding the evaluation's badge with a link to its label page."""
    return badges.share_snippets(evaluation, label_url or label_page_url(evaluation),
                                 badge_url or evaluation_badge_url(evaluation))
