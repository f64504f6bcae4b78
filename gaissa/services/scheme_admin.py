"""Rating scheme versions for QA managers: the draft of a phase, differences, impact, publication, calibration.

A phase has at most one draft: a copy of its latest published version plus the managers' edits.
Publishing turns the draft into the next numbered version, which is never changed afterwards.
Stored evaluations keep the version they were rated with, so publishing rewrites no stored grade.
"""

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from gaissa.extensions import db
from gaissa.models import (
    Evaluation,
    Metric,
    MetricValue,
    MLModel,
    Phase,
    RatingScheme,
    SchemeEntry,
    SchemeStatus,
    User,
)
from gaissa.models.base import utcnow
from gaissa.services import audit, schemes, units
from gaissa.services.rating import (
    HIGHER_IS_BETTER,
    InvalidBoundaries,
    MetricRule,
    RatingResult,
    check_boundaries,
    rate,
)

logger = logging.getLogger(__name__)
PHASES = tuple(phase.value for phase in Phase)
# Calibration needs at least this many stored values of a metric.
MIN_CALIBRATION_VALUES = 10
CALIBRATION_QUANTILES = (0.2, 0.4, 0.6, 0.8)
MAX_SUMMARY_LENGTH = 2000
# Fields of a scheme entry that define the rating, compared between versions.
ENTRY_FIELDS = ("weight", "direction", "b1", "b2", "b3", "b4", "metric_name", "unit")


class SchemeError(ValueError):
    """A scheme operation that cannot be done; the message is meant for users."""


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        raise SchemeError(f"Unknown phase {phase!r}; use training or inference.")
    return phase


# --- Reading versions and the draft -------------------------------------------------------------


def latest_published(phase: str) -> RatingScheme | None:
    """Return the newest published version of the phase, or None before the first one."""
    try:
        return schemes.current_scheme(phase)
    except schemes.SchemeNotFound:
        return None


def draft_of(phase: str) -> RatingScheme | None:
    """Return the phase's draft, or None when nothing is waiting to be published."""
    return db.session.scalar(
        select(RatingScheme)
        .where(RatingScheme.phase == phase, RatingScheme.status == SchemeStatus.DRAFT)
        .order_by(RatingScheme.id)
        .limit(1)
    )


def versions(phase: str) -> list[RatingScheme]:
    """Return the published versions of the phase, newest first."""
    return list(db.session.scalars(
        select(RatingScheme)
        .where(RatingScheme.phase == phase, RatingScheme.status == SchemeStatus.PUBLISHED)
        .order_by(RatingScheme.version.desc())
    ))


def get_scheme(scheme_id: int) -> RatingScheme | None:
    return db.session.get(RatingScheme, scheme_id)


def previous_version(scheme: RatingScheme) -> RatingScheme | None:
    """Return the version a published scheme replaced, or for a draft the version it is based on."""
    query = select(RatingScheme).where(
        RatingScheme.phase == scheme.phase, RatingScheme.status == SchemeStatus.PUBLISHED
    )
    if scheme.version is not None:
        query = query.where(RatingScheme.version < scheme.version)
    return db.session.scalar(query.order_by(RatingScheme.version.desc()).limit(1))


def authors(schemes_: Sequence[RatingScheme]) -> dict[int, User]:
    ids = {scheme.author_id for scheme in schemes_ if scheme.author_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def working_entry(phase: str, metric_key: str) -> SchemeEntry | None:
    """Return the metric's entry in the draft when there is one, else in the latest published version."""
    scheme = draft_of(phase) or latest_published(phase)
    if scheme is None:
        return None
    return next((entry for entry in scheme.entries if entry.metric_key == metric_key), None)


def published_entry(phase: str, metric_key: str) -> SchemeEntry | None:
    scheme = latest_published(phase)
    if scheme is None:
        return None
    return next((entry for entry in scheme.entries if entry.metric_key == metric_key), None)


# --- Editing the draft ---------------------------------------------------------------------------


def get_or_create_draft(phase: str) -> RatingScheme:
    """Return the phase's draft, creating it as a copy of the latest published version.

    A unique index allows one draft per phase: when another manager's draft won the race, theirs is returned.
    """
    check_phase(phase)
    draft = draft_of(phase)
    if draft is not None:
        return draft
    base = latest_published(phase)
    draft = RatingScheme(phase=phase, version=None, status=SchemeStatus.DRAFT)
    if base is not None:
        for entry in base.entries:
            # Names are copied from the live metric, so that renames since the last version are published too.
            name = entry.metric.name if entry.metric is not None else entry.metric_name
            draft.entries.append(SchemeEntry(
                metric_id=entry.metric_id, metric_key=entry.metric_key, metric_name=name,
                unit=entry.unit, direction=entry.direction, weight=entry.weight,
                b1=entry.b1, b2=entry.b2, b3=entry.b3, b4=entry.b4, position=entry.position,
            ))
    try:
        with db.session.begin_nested():
            db.session.add(draft)
    except IntegrityError:
        winner = draft_of(phase)
        if winner is None:
            raise
        logger.info("Another manager created the %s draft at the same time; editing theirs", phase)
        return winner
    logger.info("Created the %s draft scheme from %s", phase, base.label if base else "nothing")
    return draft


def set_entry(metric: Metric, weight: float, boundaries: Sequence[float]) -> SchemeEntry | None:
    """Put the metric's weight, direction and boundaries into the draft of its phase.

    Nothing is written, and None is returned, when they equal the working entry: saving a metric
    without changing its rating creates no draft.
    """
    wanted = _entry_values(metric, weight, boundaries)
    current = working_entry(metric.phase, metric.key)
    if current is not None and _same_entry(current, wanted):
        return None

    draft = get_or_create_draft(metric.phase)
    entry = next((item for item in draft.entries if item.metric_key == metric.key), None)
    if entry is None:
        position = max((item.position for item in draft.entries), default=-1) + 1
        entry = SchemeEntry(metric_key=metric.key, position=position)
        draft.entries.append(entry)
    entry.metric_id = metric.id
    for name, value in wanted.items():
        setattr(entry, name, value)
    db.session.flush()
    return entry


def remove_entry(phase: str, metric_key: str) -> bool:
    """Take a metric out of the phase's draft, creating the draft when the metric is published.

    Return True when the metric was in it.
    """
    current = working_entry(phase, metric_key)
    if current is None:
        return False
    draft = get_or_create_draft(phase)
    entry = next((item for item in draft.entries if item.metric_key == metric_key), None)
    if entry is None:
        return False
    draft.entries.remove(entry)
    db.session.flush()
    return True


def sync_metric_details(metric: Metric) -> None:
    """Copy a renamed metric's name and unit into an existing draft entry.

    A rename alone creates no draft: published versions keep the name they were published with,
    and the next draft copies the new name.
    """
    draft = draft_of(metric.phase)
    if draft is None:
        return
    for entry in draft.entries:
        if entry.metric_key == metric.key:
            entry.metric_name = metric.name
            entry.unit = metric.unit
    db.session.flush()


def discard_draft(phase: str) -> bool:
    """Delete the phase's draft; return False when there was none."""
    draft = draft_of(phase)
    if draft is None:
        return False
    before = _scheme_snapshot(draft)
    db.session.delete(draft)
    db.session.flush()
    audit.record("discard", "rating_scheme", draft.id, before, None, f"Discarded the {phase} draft scheme")
    return True


def publish(phase: str, summary: str, author: User | None) -> RatingScheme:
    """Turn the phase's draft into its next version; raise SchemeError when it is missing or invalid."""
    check_phase(phase)
    summary = (summary or "").strip()
    draft = draft_of(phase)
    if draft is None:
        raise SchemeError(f"There is no {phase} draft to publish; edit a metric's weight or boundaries first.")
    problems = draft_problems(draft)
    if not summary:
        problems.insert(0, "Describe the change in the summary, e.g. 'Recalibrated energy from 412 evaluations'.")
    elif len(summary) > MAX_SUMMARY_LENGTH:
        problems.insert(0, f"The summary is {len(summary)} characters long; the maximum is {MAX_SUMMARY_LENGTH}.")
    if problems:
        raise SchemeError(" ".join(problems))

    before = _scheme_snapshot(draft)
    latest = db.session.scalar(select(func.max(RatingScheme.version)).where(RatingScheme.phase == phase)) or 0
    draft.version = latest + 1
    draft.status = SchemeStatus.PUBLISHED
    draft.published_at = utcnow()
    draft.author_id = author.id if author is not None else None
    draft.summary = summary
    db.session.flush()
    audit.record("publish", "rating_scheme", draft.id, before, _scheme_snapshot(draft),
                 f"Published {phase} rating scheme {draft.label}: {summary}")
    logger.info("Published %s rating scheme %s", phase, draft.label)
    return draft


def draft_problems(draft: RatingScheme) -> list[str]:
    """Return what prevents publishing the draft (no difference, invalid boundaries or weights, nothing weighted)."""
    problems = []
    base = latest_published(draft.phase)
    if base is not None and not diff(base, draft):
        problems.append(f"The draft is the same as {base.label}, so publishing it would only copy {base.label}. "
                        "Change a weight or boundary first, or discard the draft.")
    for entry in draft.entries:
        try:
            check_boundaries(entry.direction, entry.boundaries)
        except InvalidBoundaries as exc:
            problems.append(f"{entry.metric_name}: {exc}.")
        if entry.weight is None or not math.isfinite(entry.weight) or entry.weight < 0:
            problems.append(f"{entry.metric_name}: the weight must be a number ≥ 0; got {entry.weight}.")
    if not any((entry.weight or 0) > 0 for entry in draft.entries):
        problems.append("At least one metric needs a weight above 0, or no evaluation gets an overall grade.")
    return problems


# --- Differences and impact ----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: object
    new: object


@dataclass(frozen=True)
class EntryChange:
    metric_key: str
    metric_name: str
    # "added", "removed" or "changed"
    kind: str
    fields: tuple[FieldChange, ...] = ()


def diff(old: RatingScheme | None, new: RatingScheme) -> list[EntryChange]:
    """Return the metrics added, removed or changed from `old` to `new`."""
    old_entries = {entry.metric_key: entry for entry in (old.entries if old else [])}
    new_entries = {entry.metric_key: entry for entry in new.entries}
    changes = []
    for key, entry in new_entries.items():
        previous = old_entries.get(key)
        if previous is None:
            changes.append(EntryChange(key, entry.metric_name, "added"))
            continue
        fields = tuple(
            FieldChange(name, getattr(previous, name), getattr(entry, name))
            for name in ENTRY_FIELDS if getattr(previous, name) != getattr(entry, name)
        )
        if fields:
            changes.append(EntryChange(key, entry.metric_name, "changed", fields))
    for key, entry in old_entries.items():
        if key not in new_entries:
            changes.append(EntryChange(key, entry.metric_name, "removed"))
    return changes


@dataclass(frozen=True)
class GradeChange:
    evaluation: Evaluation
    stored_grade: str | None
    current_grade: str | None
    draft_grade: str | None


@dataclass(frozen=True)
class Impact:
    """The grade changes that publishing a draft would bring to the "under the current scale" notes."""

    base: RatingScheme | None
    checked: int
    changes: list[GradeChange] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.changes)


def impact(draft: RatingScheme) -> Impact:
    """Regrade every visible stored evaluation of the draft's phase under the latest version and under the draft."""
    base = latest_published(draft.phase)
    draft_rules = schemes.rules_for(draft)
    base_rules = schemes.rules_for(base) if base is not None else []
    evaluations = db.session.scalars(
        select(Evaluation)
        .join(MLModel, MLModel.id == Evaluation.model_id)
        .where(Evaluation.phase == draft.phase, Evaluation.hidden.is_(False), MLModel.hidden.is_(False))
        .options(selectinload(Evaluation.values), selectinload(Evaluation.model), selectinload(Evaluation.scheme))
        .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
    ).all()

    changes = []
    for evaluation in evaluations:
        current = _rate(base_rules, evaluation).overall_letter if base is not None else None
        proposed = _rate(draft_rules, evaluation).overall_letter
        if current != proposed:
            changes.append(GradeChange(evaluation, evaluation.overall_grade, current, proposed))
    return Impact(base, len(evaluations), changes)


def regrade_under(evaluation: Evaluation, scheme: RatingScheme) -> RatingResult:
    """Rate an evaluation's stored values under another scheme version, without changing what is stored.

    Label pages use it for "under the current scale vN this would be X".
    """
    return _rate(schemes.rules_for(scheme), evaluation)


def _rate(rules: list[MetricRule], evaluation: Evaluation) -> RatingResult:
    units_by_key = {rule.key: rule.unit for rule in rules}
    values: dict[str, float] = {}
    for value in evaluation.values:
        target = units_by_key.get(value.metric_key)
        number = value.value
        if target is not None and value.unit and value.unit != target:
            try:
                number = units.convert(number, value.unit, target)
            except units.UnitError:
                logger.warning("Cannot convert %s of evaluation %s from %s to %s; left ungraded",
                               value.metric_key, evaluation.id, value.unit, target)
                continue
        values[value.metric_key] = number
    return rate(rules, values)


# --- Calibration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    metric: Metric
    count: int
    # Proposed b1..b4 in the metric's direction, or None with `message` saying why.
    boundaries: tuple[float, float, float, float] | None
    message: str = ""


def calibrate(metric: Metric) -> Calibration:
    """Propose boundaries from the 20/40/60/80 % quantiles of the metric's stored, visible values.

    Quantiles use linear interpolation between order statistics (Python's statistics.quantiles
    with method="inclusive", the same as numpy's default). The best fifth gets A, so boundaries
    of a higher-is-better metric run from the 80 % quantile down.
    """
    values = stored_values(metric)
    count = len(values)
    if count < MIN_CALIBRATION_VALUES:
        return Calibration(metric, count, None, (
            f"{metric.name} has {count} stored value{'s' if count != 1 else ''}; calibration needs at least "
            f"{MIN_CALIBRATION_VALUES}. Enter the boundaries by hand in the metric editor."
        ))
    cuts = statistics.quantiles(values, n=5, method="inclusive")
    # Six significant digits are plenty for a boundary and keep the proposal readable.
    proposal = tuple(float(f"{value:.6g}") for value in cuts)
    if metric.direction == HIGHER_IS_BETTER:
        proposal = tuple(reversed(proposal))
    message = ""
    try:
        check_boundaries(metric.direction, proposal)
    except InvalidBoundaries:
        order = "decreasing" if metric.direction == HIGHER_IS_BETTER else "increasing"
        message = ("Some quantiles are equal because many stored values are the same; adjust the boundaries so "
                   f"that they are strictly {order}.")
    return Calibration(metric, count, proposal, message)  # type: ignore[arg-type]


def stored_values(metric: Metric) -> list[float]:
    """Return the metric's stored values in its unit, from visible evaluations of visible models."""
    rows = db.session.execute(
        select(MetricValue.value, MetricValue.unit)
        .join(Evaluation, Evaluation.id == MetricValue.evaluation_id)
        .join(MLModel, MLModel.id == Evaluation.model_id)
        .where(MetricValue.metric_key == metric.key, Evaluation.phase == metric.phase,
               Evaluation.hidden.is_(False), MLModel.hidden.is_(False))
    ).all()
    values = []
    for number, unit in rows:
        if number is None or not math.isfinite(number):
            continue
        if unit and unit != metric.unit:
            try:
                number = units.convert(number, unit, metric.unit)
            except units.UnitError:
                continue
        values.append(number)
    return values


# --- Helpers -------------------------------------------------------------------------------------


def _entry_values(metric: Metric, weight: float, boundaries: Sequence[float]) -> dict[str, object]:
    b1, b2, b3, b4 = (float(value) for value in boundaries)
    return {
        "metric_name": metric.name, "unit": metric.unit, "direction": metric.direction,
        "weight": float(weight), "b1": b1, "b2": b2, "b3": b3, "b4": b4,
    }


def _same_entry(entry: SchemeEntry, wanted: dict[str, object]) -> bool:
    """Compare what rates values; a different name alone is no reason for a draft."""
    return all(getattr(entry, name) == value for name, value in wanted.items() if name != "metric_name")


def _scheme_snapshot(scheme: RatingScheme) -> dict:
    return {
        "phase": scheme.phase,
        "version": scheme.version,
        "status": scheme.status,
        "summary": scheme.summary,
        "entries": [audit.snapshot(entry, ("metric_key", *ENTRY_FIELDS)) for entry in scheme.entries],
    }
