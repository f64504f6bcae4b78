"""Live counters shown on the home pages and returned by the API."""

from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel, Phase


@dataclass(frozen=True)
class LabelCounts:
    models: int
    trainings: int
    inferences: int


def label_counts() -> LabelCounts:
    """Count the visible models, trainings and inferences."""
    models = db.session.scalar(select(func.count()).select_from(MLModel).where(MLModel.hidden.is_(False))) or 0
    rows = db.session.execute(
        select(Evaluation.phase, func.count())
        .join(MLModel, MLModel.id == Evaluation.model_id)
        .where(Evaluation.hidden.is_(False), MLModel.hidden.is_(False))
        .group_by(Evaluation.phase)
    ).all()
    by_phase = {phase: count for phase, count in rows}
    return LabelCounts(models, by_phase.get(Phase.TRAINING, 0), by_phase.get(Phase.INFERENCE, 0))


def site_counts() -> dict[str, dict[str, int]]:
    """Counters of both tools for the GAISSA Tools home page."""
    counts = {"label": asdict(label_counts())}
    try:
        from gaissa.services import roi_catalogue
    except ImportError:
        return counts
    counts["roi"] = roi_catalogue.counts()
    return counts
