"""The GAISSALabel rating rules as pure functions: values and a scheme in, grades out.

Per-metric grade, lower is better: v ≤ b1 → A, b1 < v ≤ b2 → B, …, v > b4 → E; higher is
better mirrors it (v ≥ b1 → A). A value exactly on a boundary gets the better grade, as on the
EU energy label ("A ≤ 41 < B"). The overall grade is the weighted mean of the grade indices of
the graded metrics with weight > 0, weights renormalised over those metrics, and a mean exactly
halfway between two grades goes to the better grade.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

GRADE_LETTERS = ("A", "B", "C", "D", "E")
LOWER_IS_BETTER = "lower_is_better"
HIGHER_IS_BETTER = "higher_is_better"
# Tolerance for "exactly halfway": weighted means are sums of float products.
_HALFWAY_TOLERANCE = 1e-9


class InvalidValue(ValueError):
    """A metric value that must not be graded (NaN, infinite, negative, or a zero measurement)."""

    def __init__(self, key: str, value: float, reason: str):
        self.key = key
        self.value = value
        super().__init__(reason)


class InvalidBoundaries(ValueError):
    """Boundaries that are not strictly monotonic in the metric's direction."""


@dataclass(frozen=True)
class MetricRule:
    """One metric of a rating scheme version."""

    key: str
    name: str
    unit: str
    direction: str
    weight: float
    boundaries: tuple[float, float, float, float]
    # Zero means "not measured" for energy, emissions and durations, so it is rejected there.
    zero_is_missing: bool = False


@dataclass(frozen=True)
class MetricGrade:
    key: str
    value: float | None
    index: int | None

    @property
    def letter(self) -> str | None:
        return None if self.index is None else GRADE_LETTERS[self.index]


@dataclass(frozen=True)
class RatingResult:
    metrics: dict[str, MetricGrade]
    overall_index: int | None
    weighted_mean: float | None
    graded_count: int
    rated_metric_count: int
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def overall_letter(self) -> str | None:
        return None if self.overall_index is None else GRADE_LETTERS[self.overall_index]

    @property
    def is_complete(self) -> bool:
        return self.graded_count == self.rated_metric_count


def check_boundaries(direction: str, boundaries: Sequence[float]) -> None:
    """Raise InvalidBoundaries unless the four boundaries are finite and strictly monotonic."""
    if len(boundaries) != 4:
        raise InvalidBoundaries(f"expected 4 boundaries, got {len(boundaries)}")
    if any(not math.isfinite(b) for b in boundaries):
        raise InvalidBoundaries("every boundary must be a finite number")
    pairs = list(zip(boundaries, boundaries[1:]))
    if direction == LOWER_IS_BETTER and not all(a < b for a, b in pairs):
        raise InvalidBoundaries(
            "boundaries of a lower-is-better metric must increase strictly from A/B to D/E; "
            f"got {', '.join(f'{b:g}' for b in boundaries)}"
        )
    if direction == HIGHER_IS_BETTER and not all(a > b for a, b in pairs):
        raise InvalidBoundaries(
            "boundaries of a higher-is-better metric must decrease strictly from A/B to D/E; "
            f"got {', '.join(f'{b:g}' for b in boundaries)}"
        )
    if direction not in (LOWER_IS_BETTER, HIGHER_IS_BETTER):
        raise InvalidBoundaries(f"unknown direction {direction!r}")


def validate_value(rule: MetricRule, value: float) -> float:
    """Return the value as a float, or raise InvalidValue with a message for users."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(rule.key, value, f"{rule.name} must be a number; got {value!r}.") from None
    if math.isnan(number):
        raise InvalidValue(rule.key, number, f"{rule.name} is NaN (not a number); enter a measured value or leave it empty.")
    if math.isinf(number):
        raise InvalidValue(rule.key, number, f"{rule.name} is infinite; enter a finite value in {rule.unit}.")
    if number < 0:
        raise InvalidValue(
            rule.key, number, f"{rule.name} cannot be negative; got {number:g} {rule.unit}. Check the measurement."
        )
    if number == 0 and rule.zero_is_missing:
        raise InvalidValue(
            rule.key,
            number,
            f"{rule.name} is 0 {rule.unit}, which means it was not measured; leave it empty or enter the measured value.",
        )
    return number


def grade_index(rule: MetricRule, value: float) -> int:
    """Return the grade index (0 = A … 4 = E) of a valid value; ties go to the better grade."""
    b1, b2, b3, b4 = rule.boundaries
    if rule.direction == LOWER_IS_BETTER:
        for index, bound in enumerate((b1, b2, b3, b4)):
            if value <= bound:
                return index
        return 4
    for index, bound in enumerate((b1, b2, b3, b4)):
        if value >= bound:
            return index
    return 4


def overall_index(weighted_mean: float) -> int:
    """Round a weighted mean of grade indices; exactly halfway goes to the better (lower) index."""
    return max(0, math.ceil(weighted_mean - 0.5 - _HALFWAY_TOLERANCE))


def rate(rules: Sequence[MetricRule], values: Mapping[str, float | None]) -> RatingResult:
    """Grade every metric of the scheme and combine the grades into the overall grade.

    Missing keys and None values are ungraded. Invalid values are not graded either: their
    messages are returned in `errors`, so callers that save must reject them first.
    """
    grades: dict[str, MetricGrade] = {}
    errors: dict[str, str] = {}
    weighted_sum = 0.0
    weight_total = 0.0
    graded = 0
    rated = 0

    for rule in rules:
        weight = rule.weight if rule.weight and rule.weight > 0 else 0.0
        if weight > 0:
            rated += 1
        raw = values.get(rule.key)
        if raw is None:
            grades[rule.key] = MetricGrade(rule.key, None, None)
            continue
        try:
            number = validate_value(rule, raw)
        except InvalidValue as exc:
            errors[rule.key] = str(exc)
            grades[rule.key] = MetricGrade(rule.key, None, None)
            continue
        index = grade_index(rule, number)
        grades[rule.key] = MetricGrade(rule.key, number, index)
        if weight > 0:
            graded += 1
            weighted_sum += weight * index
            weight_total += weight

    if weight_total == 0:
        return RatingResult(grades, None, None, graded, rated, errors)
    mean = weighted_sum / weight_total
    return RatingResult(grades, overall_index(mean), mean, graded, rated, errors)
