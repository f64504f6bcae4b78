"""Read-only queries of the API: models with filters and counts, and pages of evaluations."""

from dataclasses import dataclass

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel
from gaissa.services.text_search import contains_text

HUGGING_FACE = "huggingface"
_ORDER = {
    "-created": (MLModel.created_at.desc(), MLModel.id.desc()),
    "created": (MLModel.created_at.asc(), MLModel.id.asc()),
    "name": (func.lower(MLModel.name).asc(), MLModel.id.asc()),
    "-name": (func.lower(MLModel.name).desc(), MLModel.id.desc()),
}


@dataclass(frozen=True)
class ModelSummary:
    model: MLModel
    trainings: int
    inferences: int
    # Overall grade of the most recent visible evaluation, any phase.
    latest_grade: str | None


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_models(search: str = "", source: str | None = None, phase: str | None = None, grade: str | None = None,
                  sort: str = "-created", page: int = 1, per_page: int = 20, include_hidden: bool = False) -> Page:
    """Return one page of models whose name, author or Hub id contains every word of `search`.

    Words match in any letter case, and the characters % and _ match only themselves.
    """
    statement = select(MLModel)
    if not include_hidden:
        statement = statement.where(MLModel.hidden.is_(False))
    for word in search.split()[:8]:
        statement = statement.where(or_(
            contains_text(MLModel.name, word),
            contains_text(func.coalesce(MLModel.author, ""), word),
            contains_text(func.coalesce(MLModel.external_id, ""), word),
        ))
    if source == "user":
        statement = statement.where(MLModel.provider.is_(None))
    elif source:
        statement = statement.where(MLModel.provider == source)
    if phase or grade:
        statement = statement.where(_has_evaluation(phase, grade, include_hidden))

    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    models = db.session.scalars(statement.order_by(*_ORDER[sort]).offset((page - 1) * per_page).limit(per_page)).all()
    return Page(summarise(list(models), include_hidden), page, per_page, total)


def _has_evaluation(phase: str | None, grade: str | None, include_hidden: bool):
    condition = Evaluation.model_id == MLModel.id
    if phase:
        condition &= Evaluation.phase == phase
    if grade:
        condition &= Evaluation.overall_grade == grade
    if not include_hidden:
        condition &= Evaluation.hidden.is_(False)
    return exists().where(condition)


def summarise(models: list[MLModel], include_hidden: bool) -> list[ModelSummary]:
    """Add evaluation counts and the latest grade to each model, in two queries for the whole list."""
    if not models:
        return []
    ids = [model.id for model in models]
    visible = [Evaluation.model_id.in_(ids)]
    if not include_hidden:
        visible.append(Evaluation.hidden.is_(False))
    counts = {
        (model_id, phase): count
        for model_id, phase, count in db.session.execute(
            select(Evaluation.model_id, Evaluation.phase, func.count()).where(*visible)
            .group_by(Evaluation.model_id, Evaluation.phase)
        )
    }
    latest: dict[int, str | None] = {}
    rows = db.session.execute(
        select(Evaluation.model_id, Evaluation.overall_grade).where(*visible)
        .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
    )
    for model_id, grade in rows:
        latest.setdefault(model_id, grade)
    return [
        ModelSummary(model, counts.get((model.id, "training"), 0), counts.get((model.id, "inference"), 0),
                     latest.get(model.id))
        for model in models
    ]


def evaluations_page(model: MLModel, phase: str, page: int, per_page: int, include_hidden: bool) -> Page:
    """Return one page of the model's evaluations of a phase, newest first."""
    statement: Select = select(Evaluation).where(Evaluation.model_id == model.id, Evaluation.phase == phase)
    if not include_hidden:
        statement = statement.where(Evaluation.hidden.is_(False))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    items = db.session.scalars(
        statement.options(selectinload(Evaluation.scheme))
        .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(list(items), page, per_page, total)
