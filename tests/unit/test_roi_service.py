"""The pure ROI calculator against the numbers of the original GAISSA ROI Analyzer.

Expected values were produced by the original calculator (Django REST API, IEEE doubles). Where
this calculator changes a rule on purpose, the test states the corrected value and why:
- the break-even point is the smallest whole number of inferences whose savings cover the
  implementation cost, ceil(I / (c_b − c_n)), where the original truncated;
- the ROI series starts at the first inference (the original started at 0, where a free tactic
  divides by zero) and spans 40 times the corrected break-even point;
- a 100 % reduction gives an unbounded long-run ROI and a free tactic run 0 times an undefined ROI,
  where the original raised ZeroDivisionError.
"""

import json
import math

import pytest

from gaissa.services import roi
from gaissa.services.roi import IntensityFigure, energy_roi, roi_at, roi_series

REL = 1e-9
WORLD = IntensityFigure(473.0065, 2024, "world average", True)


def close(actual, expected):
    return actual == pytest.approx(expected, rel=REL, abs=0)


# ---------------------------------------------------------------- per-metric changes


@pytest.mark.parametrize(("baseline", "reduction", "percent", "new_value"), [
    (50, 0.2, 20.0, 40.0),
    (100, 0.9, 90.0, 9.999999999999998),
    (120, 0.25, 25.0, 90.0),
    (150, 0.25, 25.0, 112.5),
    (200, 0.40, 40.0, 120.0),
    (16, 0.20, 20.0, 12.8),
    (80, 0.20, 20.0, 64.0),
    (100.5, 0.25, 25.0, 75.375),
    (100, 0.30, 30.0, 70.0),
])
def test_metric_change_matches_original(baseline, reduction, percent, new_value):
    change = roi.metric_change(baseline, reduction)
    assert change.reduction_percent == percent
    assert change.new_value == new_value


def test_metric_change_negative_reduction_increases():
    change = roi.metric_change(100, -0.2)
    assert change.new_value > 100


# ---------------------------------------------------------------- scenario S1 (integration-test data)

S1 = dict(baseline_energy_j=100, reduction=0.30, energy_price=0.20, implementation_cost=1000)


@pytest.mark.parametrize(("inferences", "total_baseline", "total_new", "savings", "roi_value", "emissions"), [
    (100_000_000, 555.5555555555555, 1388.888888888889, -833.3333333333334, -0.6,
     (1313906.9444444443, 919734.861111111, 394172.08333333314)),
    (5_000_000, 27.77777777777778, 1019.4444444444445, -991.6666666666666, -0.9727520435967302,
     (65695.3472222222, 45986.74305555555, 19708.60416666666)),
    (1_000, 0.005555555555555556, 1000.0038888888889, -999.9983333333333, -0.9999944444660492,
     (13.139069444444443, 9.19734861111111, 3.9417208333333322)),
])
def test_s1_money_and_emissions(inferences, total_baseline, total_new, savings, roi_value, emissions):
    result = energy_roi(**S1, inferences=inferences, intensity=WORLD)
    assert result.baseline_cost_per_inference == 5.555555555555556e-06
    assert result.new_cost_per_inference == 3.888888888888889e-06
    assert result.total_baseline_cost == total_baseline
    assert result.total_new_cost == total_new
    assert result.total_savings == savings
    assert close(result.roi, roi_value)
    assert result.infinite_roi == 0.4285714285714287
    assert close(result.emissions.baseline_g, emissions[0])
    assert close(result.emissions.new_g, emissions[1])
    assert close(result.emissions.saved_g, emissions[2])


def test_s1_zero_inferences():
    result = energy_roi(**S1, inferences=0, intensity=WORLD)
    assert result.total_baseline_cost == 0.0
    assert result.total_new_cost == 1000.0
    assert result.total_savings == -1000.0
    assert result.roi == -1.0
    assert result.emissions.saved_g == 0.0


def test_s1_break_even_rounds_up():
    # The original truncated 1000 / (5.5556e-6 − 3.8889e-6) = 599,999,999.99… to 599,999,999, where the ROI
    # is still negative; exactly, 1000 € / (100 J × 0.3 × 0.2 €/kWh / 3.6e6 J/kWh) = 600,000,000.
    result = energy_roi(**S1, intensity=WORLD)
    assert result.break_even == 600_000_000
    assert roi_at(result.baseline_cost_per_inference, result.new_cost_per_inference, 1000, 599_999_999) < 0


def test_s1_roi_function_matches_original_series_points():
    # Points of the original series (x from its truncated break-even); the ROI formula itself is unchanged.
    result = energy_roi(**S1, intensity=WORLD)
    c_b, c_n = result.baseline_cost_per_inference, result.new_cost_per_inference
    assert roi_at(c_b, c_n, 1000, 0) == -1.0
    assert roi_at(c_b, c_n, 1000, 119_999_999) == -0.5454545480371901
    assert roi_at(c_b, c_n, 1000, 11_999_999_900) == 0.39860139835688807
    assert roi_at(c_b, c_n, 1000, 23_999_999_800) == 0.413427561712595


def test_s1_series_from_first_inference():
    # Corrected: starts at 1 (not 0) and spans 40 × 600,000,000 with a step of 120,000,000.
    points = roi_series(energy_roi(**S1, intensity=WORLD))
    assert len(points) == 201
    assert points[0].inferences == 1
    assert points[1].inferences == 120_000_000
    assert points[-1].inferences == 24_000_000_000
    assert close(points[1].roi, roi_at(5.555555555555556e-06, 3.888888888888889e-06, 1000, 120_000_000))
    assert all(a.inferences < b.inferences for a, b in zip(points, points[1:]))


def test_s2_france_latest_year():
    france_2023 = IntensityFigure(56.0, 2023, "France (FRA)")
    result = energy_roi(500, 0.30, 0.15, 800, intensity=france_2023)
    assert result.baseline_cost_per_inference == 2.0833333333333333e-05
    assert result.new_cost_per_inference == 1.4583333333333331e-05
    assert result.total_baseline_cost == 2083.3333333333335
    assert result.total_new_cost == 2258.333333333333
    assert result.total_savings == -174.99999999999955
    assert result.roi == -0.07749077490774889
    assert result.infinite_roi == 0.4285714285714287
    assert close(result.emissions.baseline_g, 777777.7777777778)
    assert close(result.emissions.new_g, 544444.4444444444)
    assert close(result.emissions.saved_g, 233333.33333333337)
    # Original 127,999,999 (truncated); exactly 800 / (500 × 0.3 × 0.15 / 3.6e6) = 128,000,000.
    assert result.break_even == 128_000_000
    assert close(roi_at(result.baseline_cost_per_inference, result.new_cost_per_inference, 800, 5_119_999_800),
                 0.41342756125216945)


# ---------------------------------------------------------------- derived vectors E1–E7


@pytest.mark.parametrize(
    ("energy", "reduction", "price", "cost", "inferences", "roi_value", "infinite", "original_break_even",
     "break_even", "total_baseline", "total_new", "savings", "saved_g", "c_b", "c_n"),
    [
        # break_even: the original's truncation, then ours rounded up from the exact decimals.
        (800, 0.35, 0.18, 1800, 50_000_000, -0.35483870967741943, 0.5384615384615384, 128571428, 128571429,
         1999.9999999999998, 3100.0, -1100.0000000000002, 1839469.7222222213, 3.9999999999999996e-05, 2.6e-05),
        (1000, 0.35, 0.20, 2000, 100_000_000, -0.009900990099009918, 0.5384615384615387, 102857142, 102857143,
         5555.555555555556, 5611.111111111111, -55.55555555555566, 4598674.305555554, 5.555555555555556e-05,
         3.611111111111111e-05),
        (600, 0.30, 0.15, 1200, 75_000_000, -0.25373134328358216, 0.42857142857142855, 160000000, 160000000,
         1874.9999999999998, 2512.5, -637.5000000000002, 1773774.374999999, 2.4999999999999998e-05, 1.75e-05),
        (500, 0.30, 0.20, 1000, 100_000_000, -0.05660377358490561, 0.42857142857142855, 120000000, 120000000,
         2777.777777777778, 2944.4444444444443, -166.66666666666652, 1970860.4166666665, 2.777777777777778e-05,
         1.9444444444444445e-05),
        (400, 0.30, 0.18, 800, 100_000_000, -0.09090909090909101, 0.42857142857142866, 133333333, 133333334,
         1999.9999999999998, 2200.0, -200.00000000000023, 1576688.3333333326, 1.9999999999999998e-05,
         1.3999999999999998e-05),
        (750, 0.30, 0.18, 1500, 100_000_000, -0.09090909090909102, 0.42857142857142855, 133333333, 133333334,
         3749.9999999999995, 4125.0, -375.00000000000045, 2956290.6250000014, 3.75e-05, 2.6249999999999998e-05),
        (750, 0.35, 0.215, 1500, 100_000_000, 0.015348288075560735, 0.5384615384615383, 95681063, 95681064,
         4479.166666666666, 4411.458333333333, 67.70833333333303, 3449005.729166667, 4.479166666666666e-05,
         2.911458333333333e-05),
    ],
    ids=["E1", "E2", "E3", "E4", "E5", "E6", "E7"],
)
def test_derived_vectors(energy, reduction, price, cost, inferences, roi_value, infinite, original_break_even,
                         break_even, total_baseline, total_new, savings, saved_g, c_b, c_n):
    result = energy_roi(energy, reduction, price, cost, inferences, WORLD)
    assert result.baseline_cost_per_inference == c_b
    assert result.new_cost_per_inference == c_n
    assert result.total_baseline_cost == total_baseline
    assert result.total_new_cost == total_new
    assert result.total_savings == savings
    assert close(result.roi, roi_value)
    assert result.infinite_roi == infinite
    assert close(result.emissions.saved_g, saved_g)
    assert result.break_even == break_even
    assert break_even - original_break_even in (0, 1)
    # The break-even point is the first count whose ROI is not negative.
    assert roi_at(c_b, c_n, cost, break_even) >= -1e-12
    assert roi_at(c_b, c_n, cost, break_even - 1) < 0


@pytest.mark.parametrize(("energy", "reduction", "price", "cost", "x", "expected"), [
    (500, 0.30, 0.20, 1000, 24_000_000, -0.5454545454545454),
    (500, 0.30, 0.20, 1000, 4_800_000_000, 0.41342756183745577),
    (600, 0.30, 0.15, 1200, 32_000_000, -0.5454545454545455),
    (600, 0.30, 0.15, 1200, 6_400_000_000, 0.413427561837456),
    (750, 0.35, 0.215, 1500, 19_136_212, -0.5833333432496626),
    (750, 0.35, 0.215, 1500, 3_827_242_400, 0.5180265648067798),
])
def test_derived_series_points(energy, reduction, price, cost, x, expected):
    result = energy_roi(energy, reduction, price, cost, intensity=WORLD)
    assert close(roi_at(result.baseline_cost_per_inference, result.new_cost_per_inference, cost, x), expected)


def test_e4_series_shape():
    # E4's exact break-even 120,000,000 equals the original's, so the series matches it except for its first point.
    points = roi_series(energy_roi(500, 0.30, 0.20, 1000, intensity=WORLD))
    assert len(points) == 201
    assert (points[1].inferences, points[-1].inferences) == (24_000_000, 4_800_000_000)
    assert points[1].roi == -0.5454545454545454
    assert points[-1].roi == 0.41342756183745577


# ---------------------------------------------------------------- edge scenarios (E_b 100 J, 0.20 €/kWh, 1e8)


def edge(reduction, cost, inferences=100_000_000):
    return energy_roi(100, reduction, 0.20, cost, inferences, WORLD)


def test_edge_no_reduction_with_cost():
    result = edge(0.0, 1000)
    assert result.roi == -0.6428571428571429
    assert result.infinite_roi == 0.0
    assert result.break_even is None
    points = roi_series(result)
    assert len(points) == 201
    assert points[0].inferences == 1
    assert points[-1].inferences == 2_000_000
    assert close(points[-1].roi, -0.989010989010989)


def test_edge_no_reduction_free():
    # The original's series was empty (0/0 at x = 0); starting at the first inference it is defined: 0 everywhere.
    result = edge(0.0, 0)
    assert result.roi == 0.0
    assert result.infinite_roi == 0.0
    assert result.break_even is None
    assert {point.roi for point in roi_series(result)} == {0.0}


def test_edge_full_reduction_with_cost():
    # The original replaced every cost figure by "float division by zero"; the long-run ROI is unbounded.
    result = edge(1.0, 1000)
    assert result.new_cost_per_inference == 0.0
    assert result.infinite_roi == math.inf
    assert result.break_even == 180_000_000
    assert close(result.roi, (result.total_baseline_cost - 1000) / 1000)
    points = roi_series(result)
    assert len(points) == 201
    assert points[1].inferences == 36_000_000
    assert (points[-1].inferences, points[-1].roi) == (7_200_000_000, 39.0)


def test_edge_full_reduction_free():
    result = edge(1.0, 0)
    assert result.roi == math.inf
    assert result.infinite_roi == math.inf
    assert result.break_even == 0
    assert all(point.roi == math.inf for point in roi_series(result))


def test_edge_energy_increase_with_cost():
    result = edge(-0.2, 1000)
    assert result.roi == -0.6666666666666666
    assert result.infinite_roi == -0.16666666666666652
    assert result.break_even is None
    assert close(result.emissions.saved_g, -262781.3888888888)
    assert close(roi_series(result)[-1].roi, -0.9890350877192983)


def test_edge_energy_increase_free():
    result = edge(-0.2, 0)
    assert result.roi == -0.16666666666666663
    assert result.infinite_roi == -0.16666666666666652
    assert result.break_even is None


def test_edge_ninety_percent_with_cost():
    result = edge(0.9, 1000)
    assert result.roi == -0.4736842105263159
    assert result.infinite_roi == 9.000000000000004
    # Original 199,999,999 (truncated); exactly 1000 / (100 × 0.9 × 0.2 / 3.6e6) = 200,000,000.
    assert result.break_even == 200_000_000
    c_b, c_n = result.baseline_cost_per_inference, result.new_cost_per_inference
    assert close(roi_at(c_b, c_n, 1000, 7_999_999_800), 7.163265268638069)
    points = roi_series(result)
    assert points[-1].inferences == 8_000_000_000


def test_edge_ninety_percent_free():
    # The original's series was empty (0/0 at x = 0); from the first inference the ROI is the long-run ROI.
    result = edge(0.9, 0)
    assert result.roi == 9.000000000000002
    assert result.break_even == 0
    points = roi_series(result)
    assert len(points) == 201
    assert all(close(point.roi, 9.000000000000004) for point in points)


def test_tiny_break_even_series():
    # 0.5 € / (2000 J × 0.5 × 1000 €/kWh / 3.6e6) = 1.8 → 2 inferences (the original truncated to 1, where the
    # ROI is still −28.6 %). The series spans 40 × 2 = 80 inferences in steps of 1; the original's points remain.
    result = energy_roi(2000, 0.5, 1000, 0.5, intensity=WORLD)
    assert result.break_even == 2
    points = roi_series(result)
    assert [point.inferences for point in points] == list(range(1, 81))
    assert points[0].roi == -0.2857142857142857
    assert points[1].roi == 0.052631578947368446
    assert points[49].roi == 0.9305019305019305


# ---------------------------------------------------------------- case C26: break-even and division by zero


@pytest.fixture
def c26(shared_dir):
    path = shared_dir / "cases" / "C26-roi-break-even-edge-cases.json"
    return {item["id"]: item for item in json.loads(path.read_text())["scenarios"]}


def test_c26_a_break_even_is_not_truncated(c26):
    case = c26["a"]
    found = roi.break_even_inferences(case["implementation_cost"], case["cost_per_inference_old"],
                                      case["cost_per_inference_new"])
    assert found == case["expected_break_even"] == 300
    assert roi_at(case["cost_per_inference_old"], case["cost_per_inference_new"], case["implementation_cost"], 299) < 0


def test_c26_b_break_even_rounds_up(c26):
    case = c26["b"]
    found = roi.break_even_inferences(case["implementation_cost"], case["cost_per_inference_old"],
                                      case["cost_per_inference_new"])
    assert found == case["expected_break_even"] == 334
    assert roi_at(1.0, 0.7, 100, 333) < 0
    assert roi_at(1.0, 0.7, 100, 334) >= 0


def test_c26_c_free_tactic_at_zero_inferences(c26):
    case = c26["c"]
    assert roi_at(case["cost_per_inference_old"], case["cost_per_inference_new"], case["implementation_cost"],
                  case["num_inferences"]) is None
    assert roi.break_even_inferences(0, 1.0, 0.7) == 0
    # A free tactic has a defined series, from the first inference.
    assert roi_at(1.0, 0.7, 0, 1) == pytest.approx(0.3 / 0.7)


def test_c26_d_full_reduction(c26):
    case = c26["d"]
    result = energy_roi(case["baseline_energy_J"], case["expected_reduction"], case["price_eur_per_kwh"],
                        case["implementation_cost"], intensity=WORLD)
    assert result.infinite_roi == math.inf
    assert result.break_even == 4_000_000
    assert result.new_cost_per_inference == 0.0


def test_c26_e_energy_increase_never_breaks_even(c26):
    case = c26["e"]
    reduction = 1 - case["new_energy_J"] / case["baseline_energy_J"]
    result = energy_roi(case["baseline_energy_J"], reduction, case["price_eur_per_kwh"], case["implementation_cost"],
                        intensity=WORLD)
    assert result.break_even is None
    assert result.never_breaks_even
    assert result.new_energy_j == pytest.approx(2098)
    assert result.total_savings < 0
    assert result.emissions.saved_g < 0


# ---------------------------------------------------------------- break-even exactness and other helpers


@pytest.mark.parametrize(("cost", "old", "new", "expected"), [
    (3, 2.0, 1.0, 3),
    (0.3, 0.2, 0.1, 3),
    (1, 0.3, 0.2, 10),
    (10, 1.0, 1.0, None),
    (10, 1.0, 1.5, None),
    (0, 1.0, 1.5, None),
    (0, 1.0, 0.5, 0),
])
def test_break_even_exact_decimals(cost, old, new, expected):
    assert roi.break_even_inferences(cost, old, new) == expected


def test_break_even_rejects_non_finite():
    with pytest.raises(ValueError, match="finite"):
        roi.break_even_inferences(math.nan, 1.0, 0.5)


def test_chart_span_twice_break_even():
    assert roi.chart_span(energy_roi(100, 0.3, 0.2, 1000, intensity=WORLD)) == 1_200_000_000


def test_chart_span_free_tactic():
    assert roi.chart_span(energy_roi(100, 0.3, 0.2, 0, intensity=WORLD)) == 2_000_000


def test_chart_span_never_pays_back():
    # 10 × 1000 € / (120 J × 0.2 €/kWh / 3.6e6 J/kWh) = 1.5 × 10^9, rounded up to 2 × 10^9.
    result = energy_roi(100, -0.2, 0.2, 1000, intensity=WORLD)
    assert roi.chart_span(result) == 2_000_000_000
    points = roi_series(result, roi.chart_span(result))
    assert points[-1].inferences == 2_000_000_000
    assert points[-1].roi > -0.25


def test_chart_span_never_and_free_uses_workload():
    result = energy_roi(100, -0.2, 0.2, 0, inferences=5_000_000, intensity=WORLD)
    assert roi.chart_span(result) == 5_000_000


def test_series_of_huge_break_even_is_capped():
    # 1e-300 J per inference: the exact break-even point is about 6 × 10^310, past any float.
    result = energy_roi(1e-300, 0.5, 0.2, 1000, intensity=WORLD)
    assert result.break_even > 10**310
    assert result.breaks_even_beyond_workloads
    points = roi_series(result)
    assert points[-1].inferences == roi.MAX_SERIES_SPAN
    assert all(point.roi is not None and math.isfinite(point.roi) for point in points)
    assert roi.chart_span(result) == roi.MAX_SERIES_SPAN


@pytest.mark.parametrize(("count", "text"), [
    (1, "1"), (600_000_000, "600,000,000"), (10**15, "1,000,000,000,000,000"),
    (10**15 + 1, "1.00 × 10¹⁵"), (6 * 10**310 + 12345, "6.00 × 10³¹⁰"), (3_599_999 * 10**330, "3.60 × 10³³⁶"),
])
def test_format_count(count, text):
    assert roi.format_count(count) == text


def test_gasoline_equivalence_uses_epa_factor():
    # 8,887 g per US gallon of 3.785411784 litres.
    assert roi.GASOLINE_G_CO2_PER_LITRE == pytest.approx(2347.69, abs=0.01)
    assert roi.gasoline_litres(8887.0) == pytest.approx(3.785411784)


def test_default_world_average():
    assert roi.WORLD_AVERAGE.g_per_kwh == 473.0065
    assert roi.WORLD_AVERAGE.year == 2024
    assert roi.WORLD_AVERAGE.is_world_average


def test_energy_kwh_totals():
    result = energy_roi(3.6e6, 0.5, 1.0, 0, inferences=10, intensity=WORLD)
    assert result.baseline_energy_kwh == pytest.approx(10.0)
    assert result.new_energy_kwh == pytest.approx(5.0)
