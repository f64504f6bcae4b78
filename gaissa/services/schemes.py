"""Rating scheme versions: the current version of a phase and its rules for the rating service."""

from functools import lru_cache

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import RatingScheme, SchemeEntry, SchemeStatus
from gaissa.services import units
from gaissa.services.rating import MetricRule

class SchemeNotFound(LookupError):
    pass


def current_scheme(phase: str) -> RatingScheme:
    """Return the latest published rating scheme of the phase."""
    scheme = db.session.scalar(
        select(RatingScheme)
        .where(RatingScheme.phase == phase, RatingScheme.status == SchemeStatus.PUBLISHED)
        .order_by(RatingScheme.version.desc())
        .limit(1)
    )
    if scheme is None:
        raise SchemeNotFound(f"No published rating scheme for {phase}; run `flask --app wsgi gaissa seed`.")
    return scheme


_UNITS_WHERE_ZERO_IS_VALID = frozenset({"count", "score", "1", "", "%", "percent", "dimensionless"})


@lru_cache(maxsize=256)
def zero_is_missing(unit: str) -> bool:
    """Return True when a zero value of this unit means "not measured".

    That is true of every physical quantity: energy, emissions, time, sizes, FLOPs and their ratios.
    Only counts and scores can really be zero (no downloads, a useless model).
    """
    # Bytes are dimensionless in pint, so the counts and scores are named rather than detected.
    return unit not in _UNITS_WHERE_ZERO_IS_VALID


def rule_for(entry: SchemeEntry) -> MetricRule:
    return MetricRule(
        key=entry.metric_key,
        name=entry.metric_name,
        unit=entry.unit,
        direction=entry.direction,
        weight=entry.weight or 0.0,
        boundaries=entry.boundaries,
        zero_is_missing=zero_is_missing(entry.unit),
    )


def rules_for(scheme: RatingScheme) -> list[MetricRule]:
    """Return the scheme's metrics as rating rules, heaviest first."""
    entries = sorted(scheme.entries, key=lambda entry: (-(entry.weight or 0.0), entry.position))
    return [rule_for(entry) for entry in entries]
