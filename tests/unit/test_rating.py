"""The rating rules as pure functions: boundaries, ties, invalid values, missing metrics, overall rounding."""

import json
import math
from pathlib import Path

import pytest

from gaissa.services.rating import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    InvalidBoundaries,
    InvalidValue,
    MetricRule,
    check_boundaries,
    grade_index,
    overall_index,
    rate,
    validate_value,
)

CASES = Path(__file__).resolve().parent.parent / "data" / "cases"
LETTERS = "ABCDE"


def lower_rule(key="emissions", weight=1.0, boundaries=(1.0, 2.0, 5.0, 10.0), zero_is_missing=True):
    return MetricRule(key, key.capitalize(), "kg", LOWER_IS_BETTER, weight, boundaries, zero_is_missing)


def higher_rule(key="accuracy", weight=1.0, boundaries=(0.95, 0.9, 0.8, 0.7)):
    return MetricRule(key, key.capitalize(), "score", HIGHER_IS_BETTER, weight, boundaries)


@pytest.mark.parametrize(
    ("value", "letter"),
    [(0.5, "A"), (1.0, "A"), (1.0000001, "B"), (2.0, "B"), (4.9, "C"), (5.0, "C"), (10.0, "D"), (10.01, "E"), (1e21, "E")],
)
def test_lower_is_better_boundaries(value, letter):
    assert LETTERS[grade_index(lower_rule(), value)] == letter


@pytest.mark.parametrize(
    ("value", "letter"),
    [(1.0, "A"), (0.95, "A"), (0.9499, "B"), (0.9, "B"), (0.8, "C"), (0.75, "D"), (0.7, "D"), (0.6999, "E"), (0.0, "E")],
)
def test_higher_is_better_boundaries(value, letter):
    assert LETTERS[grade_index(higher_rule(), value)] == letter


def test_boundary_tie_goes_to_better_grade_both_directions():
    assert grade_index(lower_rule(boundaries=(1, 2, 3, 4)), 3) == 2
    assert grade_index(higher_rule(boundaries=(4, 3, 2, 1)), 3) == 1


@pytest.mark.parametrize("value", [-0.3, -5e-05])
def test_negative_value_rejected(value):
    with pytest.raises(InvalidValue, match="cannot be negative"):
        validate_value(lower_rule(), value)


def test_nan_rejected():
    with pytest.raises(InvalidValue, match="NaN"):
        validate_value(lower_rule(), math.nan)


def test_infinity_rejected():
    with pytest.raises(InvalidValue, match="infinite"):
        validate_value(lower_rule(), math.inf)


def test_zero_energy_rejected_as_not_measured():
    with pytest.raises(InvalidValue, match="not measured"):
        validate_value(lower_rule(zero_is_missing=True), 0.0)


def test_zero_allowed_for_counts():
    rule = MetricRule("downloads", "Downloads", "count", HIGHER_IS_BETTER, 1.0, (17, 7, 4, 3))
    assert validate_value(rule, 0) == 0.0
    assert grade_index(rule, 0) == 4


@pytest.mark.parametrize(("mean", "index"), [(0.5, 0), (1.5, 1), (2.5, 2), (3.5, 3), (0.49, 0), (0.51, 1), (3.51, 4), (4.0, 4)])
def test_overall_halfway_goes_to_better_grade(mean, index):
    assert overall_index(mean) == index


def test_overall_weighted_mean_renormalised_over_graded_metrics():
    rules = [lower_rule("a", weight=0.6), lower_rule("b", weight=0.2), lower_rule("c", weight=0.2)]
    result = rate(rules, {"a": 0.5, "b": 20.0})  # A (0) and E (4): (0.6*0 + 0.2*4) / 0.8 = 1.0 -> B
    assert result.overall_letter == "B"
    assert result.graded_count == 2
    assert result.rated_metric_count == 3
    assert not result.is_complete


def test_zero_weight_metric_not_counted():
    result = rate([lower_rule("a", weight=1.0), lower_rule("b", weight=0.0)], {"a": 0.5, "b": 20.0})
    assert result.metrics["b"].letter == "E"
    assert result.overall_letter == "A"
    assert result.rated_metric_count == 1


def test_no_graded_metric_means_not_rated():
    result = rate([lower_rule("a")], {})
    assert result.overall_letter is None
    assert result.weighted_mean is None


def test_invalid_value_reported_not_graded():
    result = rate([lower_rule("a"), lower_rule("b")], {"a": -1.0, "b": 1.5})
    assert "a" in result.errors
    assert result.metrics["a"].letter is None
    assert result.overall_letter == "B"


@pytest.mark.parametrize(
    ("direction", "boundaries"),
    [(LOWER_IS_BETTER, (1, 1, 2, 3)), (LOWER_IS_BETTER, (4, 3, 2, 1)), (HIGHER_IS_BETTER, (1, 2, 3, 4)),
     (LOWER_IS_BETTER, (1, 2, math.nan, 4)), (LOWER_IS_BETTER, (1, 2, 3))],
)
def test_boundaries_must_be_strictly_monotonic(direction, boundaries):
    with pytest.raises(InvalidBoundaries):
        check_boundaries(direction, boundaries)


def test_case_c24_single_values():
    case = json.loads((CASES / "C24-label-boundaries-and-rounding.json").read_text())
    uppers = [case["intervals"][letter][0] for letter in "ABCD"]
    rule = lower_rule("emissions_kg", boundaries=tuple(uppers))
    expected = {0.0001: "A", 0.00010001: "B", 1e21: "E"}
    for item in case["single_metric_cases"]:
        value = item["value"]
        if value is None:
            assert rate([rule], {"emissions_kg": None}).metrics["emissions_kg"].letter is None
        elif value <= 0:
            with pytest.raises(InvalidValue):
                validate_value(rule, value)
        else:
            assert LETTERS[grade_index(rule, value)] == expected[value]


def test_case_c24_compound_ties_go_to_better_grade():
    # The tie rule of this project is "halfway goes to the better grade" (as on the EU label),
    # so A+B gives A and C+D gives C, unlike the case file's example of the opposite rule.
    case = json.loads((CASES / "C24-label-boundaries-and-rounding.json").read_text())
    expected = {("A", "B"): "A", ("B", "C"): "B", ("C", "D"): "C", ("D", "E"): "D"}
    representative = {"A": 0.5, "B": 1.5, "C": 3.0, "D": 7.0, "E": 20.0}
    for item in case["compound_cases_equal_weights"]:
        first, second = item["ratings"]
        rules = [lower_rule("x", weight=1.0), lower_rule("y", weight=1.0)]
        result = rate(rules, {"x": representative[first], "y": representative[second]})
        assert result.weighted_mean == pytest.approx(item["mean_index"])
        assert result.overall_letter == expected[(first, second)]


def test_case_c25_absent_and_null_metric_treated_alike():
    case = json.loads((CASES / "C25-label-missing-metric.json").read_text())
    rules = [lower_rule(key, weight=weight, boundaries=(0.001, 0.01, 0.1, 1.0)) for key, weight in case["weights"].items()]
    absent = rate(rules, case["results_variant_key_absent"])
    null = rate(rules, case["results_variant_key_null"])
    assert absent.overall_letter == null.overall_letter == "A"
    assert absent.graded_count == null.graded_count == 2
    assert absent.rated_metric_count == 3
    assert not absent.is_complete
    assert absent.metrics["emissions_kg"].letter is None
