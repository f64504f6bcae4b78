"""Read-only queries behind the Consult pages: model search, a model's evaluations, one evaluation."""

from dataclasses import dataclass

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from gaissa.extensions import db
from gaissa.models import Evaluation, InfoValue, MLModel
from gaissa.services.text_search import casefold, contains_text

MAX_PER_PAGE = 100


class _PageNumbers:
    """Page arithmetic shared by the page dataclasses, which define page, per_page and total."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return _page_count(self.total, self.per_page)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first(self) -> int:
        """1-based position of the page's first item in the whole list, 0 when the list is empty."""
        return min(self.total, (self.page - 1) * self.per_page + 1)

    @property
    def last(self) -> int:
        """1-based position of the page's last item in the whole list, 0 when the list is empty."""
        return min(self.total, self.page * self.per_page)


def _page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _clamp_page(page: int, total: int, per_page: int) -> int:
    return min(max(1, page), _page_count(total, per_page))


@dataclass(frozen=True)
class ModelRow:
    model: MLModel
    trainings: int
    inferences: int
    # Overall grade of the most recent visible training and inference. None when there is none, or it is ungraded.
    latest_training_grade: str | None
    latest_inference_grade: str | None


@dataclass(frozen=True)
class ModelPage(_PageNumbers):
    rows: list[ModelRow]
    page: int
    per_page: int
    total: int
    query: str


@dataclass(frozen=True)
class EvaluationPage(_PageNumbers):
    """One page of a model's trainings or of its inferences, newest first."""

    items: list[Evaluation]
    phase: str
    page: int
    per_page: int
    total: int


def _visible_models(query: str, include_hidden: bool):
    statement = select(MLModel)
    if not include_hidden:
        statement = statement.where(MLModel.hidden.is_(False))
    words = query.split()
    for word in words[:8]:
        statement = statement.where(or_(
            contains_text(MLModel.name, word),
            contains_text(func.coalesce(MLModel.author, ""), word),
            contains_text(func.coalesce(MLModel.external_id, ""), word),
        ))
    return statement


def search_models(query: str = "", page: int = 1, per_page: int = 20, include_hidden: bool = False,
                  provider: str | None = None) -> ModelPage:
    """Return one page of models matching every word of `query` in name, author or Hub id, newest first.

    Words match in any letter case and anywhere in a field. The characters % and _ match only themselves.
    """
    query = (query or "").strip()[:200]
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    statement = _visible_models(query, include_hidden)
    if provider == "user":
        statement = statement.where(MLModel.provider.is_(None))
    elif provider:
        statement = statement.where(MLModel.provider == provider)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = _clamp_page(page, total, per_page)
    models = db.session.scalars(
        statement.order_by(MLModel.created_at.desc(), MLModel.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return ModelPage(_summaries(models, include_hidden), page, per_page, total, query)


def model_choices(query: str = "", selected_id: int | None = None, limit: int = 50) -> list[MLModel]:
    """Models for the picker of the evaluation form: the best matches plus the selected one."""
    statement = _visible_models((query or "").strip()[:200], include_hidden=False)
    models = list(db.session.scalars(statement.order_by(MLModel.created_at.desc(), MLModel.id.desc()).limit(limit)))
    if selected_id is not None and all(model.id != selected_id for model in models):
        selected = db.session.get(MLModel, selected_id)
        if selected is not None and not selected.hidden:
            models.insert(0, selected)
    return models


def _summaries(models: list[MLModel], include_hidden: bool) -> list[ModelRow]:
    if not models:
        return []
    ids = [model.id for model in models]
    statement = select(Evaluation.model_id, Evaluation.phase, func.count()).where(Evaluation.model_id.in_(ids))
    if not include_hidden:
        statement = statement.where(Evaluation.hidden.is_(False))
    counts: dict[tuple[int, str], int] = {
        (model_id, phase): count for model_id, phase, count in db.session.execute(statement.group_by(Evaluation.model_id, Evaluation.phase))
    }
    latest: dict[tuple[int, str], str | None] = {}
    grade_rows = db.session.execute(
        select(Evaluation.model_id, Evaluation.phase, Evaluation.overall_grade)
        .where(Evaluation.model_id.in_(ids), Evaluation.hidden.is_(False))
        .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
    )
    for model_id, phase, grade in grade_rows:
        latest.setdefault((model_id, phase), grade)
    return [
        ModelRow(model, counts.get((model.id, "training"), 0), counts.get((model.id, "inference"), 0),
                 latest.get((model.id, "training")), latest.get((model.id, "inference")))
        for model in models
    ]


def find_model_id_by_name(name: str) -> int | None:
    """Return the id of the newest visible model with exactly this name, if any."""
    return db.session.scalar(
        select(MLModel.id).where(MLModel.name == name.strip(), MLModel.hidden.is_(False))
        .order_by(MLModel.created_at.desc()).limit(1)
    )


def find_model_named_alike(name: str) -> MLModel | None:
    """Return the newest visible model whose name equals this one, ignoring letter case and accents."""
    return db.session.scalar(
        select(MLModel).where(casefold(MLModel.name) == casefold(literal(name.strip())), MLModel.hidden.is_(False))
        .order_by(MLModel.created_at.desc(), MLModel.id.desc()).limit(1)
    )


def get_model(model_id: int, include_hidden: bool = False) -> MLModel | None:
    model = db.session.get(MLModel, model_id)
    if model is None or (model.hidden and not include_hidden):
        return None
    return model


def evaluation_page(model: MLModel, phase: str, page: int = 1, per_page: int = 20,
                    include_hidden: bool = False) -> EvaluationPage:
    """Return one page of the model's evaluations of `phase`, newest first.

    A page number out of range gives the nearest page, so a stale or edited address still shows a page.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    statement = select(Evaluation).where(Evaluation.model_id == model.id, Evaluation.phase == phase)
    if not include_hidden:
        statement = statement.where(Evaluation.hidden.is_(False))

    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = _clamp_page(page, total, per_page)
    items = db.session.scalars(
        statement.order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return EvaluationPage(list(items), phase, page, per_page, total)


def get_evaluation(model_id: int, phase: str, evaluation_id: int, include_hidden: bool = False) -> Evaluation | None:
    """Return the evaluation when it belongs to that model and phase and is visible."""
    evaluation = db.session.scalar(
        select(Evaluation)
        .options(joinedload(Evaluation.model), joinedload(Evaluation.scheme), selectinload(Evaluation.values),
                 selectinload(Evaluation.info_values).joinedload(InfoValue.field))
        .where(Evaluation.id == evaluation_id)
    )
    if evaluation is None or evaluation.model_id != model_id or evaluation.phase != phase:
        return None
    if not include_hidden and (evaluation.hidden or evaluation.model.hidden):
        return None
    return evaluation
