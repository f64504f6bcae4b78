"""Moderation for QA managers: find models and evaluations, hide or show them, delete spam."""

import logging
import math
from dataclasses import dataclass

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import selectinload

from gaissa.extensions import db
from gaissa.models import Evaluation, InfoValue, MetricValue, MLModel
from gaissa.services import audit, scheme_admin
from gaissa.services.rating import RatingResult
from gaissa.services.text_search import contains_text

logger = logging.getLogger(__name__)
PAGE_SIZE = 25
STATES = ("all", "visible", "hidden")
MODEL_FIELDS = ("name", "author", "provider", "external_id", "hidden")
EVALUATION_FIELDS = ("model_id", "phase", "registered_at", "overall_grade", "source", "hidden")


@dataclass(frozen=True)
class ModelRow:
    model: MLModel
    evaluations: int
    hidden_evaluations: int


@dataclass(frozen=True)
class ModelPage:
    rows: list[ModelRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class EvaluationRow:
    evaluation: Evaluation
    # The grade under the latest published version of the phase, when that is not the stored one.
    current: RatingResult | None
    current_version: str | None


def search_models(text: str = "", state: str = "all", page: int = 1, page_size: int = PAGE_SIZE) -> ModelPage:
    """Return one page of models whose name, author or hub id contains `text` in any letter case, newest first."""
    conditions = []
    if text.strip():
        needle = text.strip()
        conditions.append(or_(
            contains_text(MLModel.name, needle),
            contains_text(func.coalesce(MLModel.author, ""), needle),
            contains_text(func.coalesce(MLModel.external_id, ""), needle),
        ))
    if state == "visible":
        conditions.append(MLModel.hidden.is_(False))
    elif state == "hidden":
        conditions.append(MLModel.hidden.is_(True))

    total = db.session.scalar(select(func.count(MLModel.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    models = db.session.scalars(
        select(MLModel).where(*conditions).order_by(MLModel.created_at.desc(), MLModel.id.desc())
        .offset((page - 1) * page_size).limit(page_size)
    ).all()
    counts = _evaluation_counts([model.id for model in models])
    rows = [ModelRow(model, *counts.get(model.id, (0, 0))) for model in models]
    return ModelPage(rows, page, pages, total)


def model_row(model: MLModel) -> ModelRow:
    return ModelRow(model, *_evaluation_counts([model.id]).get(model.id, (0, 0)))


def get_model(model_id: int) -> MLModel | None:
    return db.session.get(MLModel, model_id)


def get_evaluation(evaluation_id: int) -> Evaluation | None:
    return db.session.get(Evaluation, evaluation_id)


def evaluation_rows(model: MLModel) -> list[EvaluationRow]:
    """Return the model's evaluations, each with its grade under the phase's latest published version."""
    evaluations = db.session.scalars(
        select(Evaluation).where(Evaluation.model_id == model.id)
        .options(selectinload(Evaluation.values), selectinload(Evaluation.scheme))
        .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
    ).all()
    return [evaluation_row(evaluation) for evaluation in evaluations]


def evaluation_row(evaluation: Evaluation) -> EvaluationRow:
    latest = scheme_admin.latest_published(evaluation.phase)
    if latest is None or latest.id == evaluation.scheme_id:
        return EvaluationRow(evaluation, None, None)
    return EvaluationRow(evaluation, scheme_admin.regrade_under(evaluation, latest), latest.label)


def set_model_hidden(model: MLModel, hidden: bool) -> None:
    """Hide a model (with all its evaluations) from public pages, or show it again."""
    if model.hidden == hidden:
        return
    before = audit.snapshot(model, MODEL_FIELDS)
    model.hidden = hidden
    db.session.flush()
    audit.record("hide" if hidden else "unhide", "model", model.id, before, audit.snapshot(model, MODEL_FIELDS),
                 f"{'Hid' if hidden else 'Showed'} model {model.name!r}")


def set_evaluation_hidden(evaluation: Evaluation, hidden: bool) -> None:
    """Hide one evaluation from public pages, or show it again."""
    if evaluation.hidden == hidden:
        return
    before = audit.snapshot(evaluation, EVALUATION_FIELDS)
    evaluation.hidden = hidden
    db.session.flush()
    audit.record("hide" if hidden else "unhide", "evaluation", evaluation.id, before,
                 audit.snapshot(evaluation, EVALUATION_FIELDS),
                 f"{'Hid' if hidden else 'Showed'} {evaluation.phase} evaluation {evaluation.id} of model "
                 f"{evaluation.model.name!r}")


def delete_model(model: MLModel) -> int:
    """Delete a model with its evaluations and their values; return how many evaluations went with it."""
    before = audit.snapshot(model, MODEL_FIELDS)
    model_id, name = model.id, model.name
    evaluation_ids = list(db.session.scalars(select(Evaluation.id).where(Evaluation.model_id == model_id)))
    _delete_evaluations(evaluation_ids)
    db.session.execute(delete(MLModel).where(MLModel.id == model_id))
    db.session.flush()
    db.session.expire_all()
    audit.record("delete", "model", model_id, before, None,
                 f"Deleted model {name!r} with {len(evaluation_ids)} evaluations")
    logger.info("Deleted model %s with %d evaluations", model_id, len(evaluation_ids))
    return len(evaluation_ids)


def delete_evaluation(evaluation: Evaluation) -> None:
    """Delete one evaluation with its metric and information values."""
    before = audit.snapshot(evaluation, EVALUATION_FIELDS)
    evaluation_id, phase, model_name = evaluation.id, evaluation.phase, evaluation.model.name
    _delete_evaluations([evaluation_id])
    db.session.flush()
    db.session.expire_all()
    audit.record("delete", "evaluation", evaluation_id, before, None,
                 f"Deleted {phase} evaluation {evaluation_id} of model {model_name!r}")


def _delete_evaluations(evaluation_ids: list[int]) -> None:
    # Explicit deletes, because SQLite enforces no ON DELETE rule unless foreign keys are switched on.
    if not evaluation_ids:
        return
    db.session.execute(delete(MetricValue).where(MetricValue.evaluation_id.in_(evaluation_ids)))
    db.session.execute(delete(InfoValue).where(InfoValue.evaluation_id.in_(evaluation_ids)))
    db.session.execute(delete(Evaluation).where(Evaluation.id.in_(evaluation_ids)))


def _evaluation_counts(model_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not model_ids:
        return {}
    rows = db.session.execute(
        select(Evaluation.model_id, func.count(Evaluation.id),
               func.sum(case((Evaluation.hidden.is_(True), 1), else_=0)))
        .where(Evaluation.model_id.in_(model_ids))
        .group_by(Evaluation.model_id)
    ).all()
    return {model_id: (total, int(hidden or 0)) for model_id, total, hidden in rows}
