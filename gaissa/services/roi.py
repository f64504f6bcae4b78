"""Return on investment of a green-AI tactic: money, break-even, emissions and the ROI series.

Pure functions on plain numbers (no Flask, no database). Energy is in joules per inference,
prices in €/kWh, amounts in €, carbon intensity in g CO2eq/kWh and emissions in grams.
Floating-point arithmetic follows the order of the original GAISSA ROI calculator so that
results agree with it bit for bit, except for the break-even point, which is computed
exactly from the decimal inputs and rounded up.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

JOULES_PER_KWH = 3_600_000
DEFAULT_INFERENCES = 100_000_000
MIN_INFERENCES = 1
MAX_INFERENCES = 10**15

# World average carbon intensity of electricity in 2024 (Our World in Data, "Carbon intensity of
# electricity generation", Ember and Energy Institute data); used when no country data is stored.
WORLD_AVERAGE_G_PER_KWH = 473.0065
WORLD_AVERAGE_YEAR = 2024

# US EPA, Greenhouse Gases Equivalencies Calculator - Calculations and References: burning one US
# gallon of gasoline emits 8,887 g CO2; one US gallon is 3.785411784 litres.
GASOLINE_G_CO2_PER_US_GALLON = 8887.0
LITRES_PER_US_GALLON = 3.785411784
GASOLINE_G_CO2_PER_LITRE = GASOLINE_G_CO2_PER_US_GALLON / LITRES_PER_US_GALLON
GASOLINE_SOURCE = "US EPA, Greenhouse Gases Equivalencies Calculator – Calculations and References"
GASOLINE_SOURCE_URL = "https://www.epa.gov/energy/greenhouse-gases-equivalencies-calculator-calculations-and-references"

# The ROI series spans 40 times the break-even point, with about 200 steps.
SERIES_BREAK_EVEN_FACTOR = 40
SERIES_MIN_SPAN = 50
SERIES_STEPS = 200
# Span of the ROI series when there is no positive break-even point (steps of 10,000).
DEFAULT_SERIES_SPAN = 2_000_000
# No series or chart goes past 40 times the largest workload, so a break-even point of, say, 10^300
# inferences never reaches float arithmetic (int × float overflows above about 1.8 × 10^308).
MAX_SERIES_SPAN = SERIES_BREAK_EVEN_FACTOR * MAX_INFERENCES
# For a tactic that never pays back, the charts span this many times the inferences after which the
# energy cost with the tactic equals the implementation cost: there the costs' gap is plain to see.
NEVER_SPAN_FACTOR = 10


@dataclass(frozen=True)
class MetricChange:
    """A metric's baseline value and its expected value after the tactic."""

    baseline: float
    reduction: float
    reduction_percent: float
    new_value: float


@dataclass(frozen=True)
class IntensityFigure:
    """The carbon intensity used for the emissions, with its data year and where it applies."""

    g_per_kwh: float
    year: int | None
    label: str
    is_world_average: bool = False
    # True when the year is well behind the newest data, so the figure may be outdated.
    is_stale: bool = False


WORLD_AVERAGE = IntensityFigure(WORLD_AVERAGE_G_PER_KWH, WORLD_AVERAGE_YEAR, "world average", True)


@dataclass(frozen=True)
class Emissions:
    """CO2 emitted by the inferences with and without the tactic, in grams."""

    baseline_g: float
    new_g: float
    saved_g: float
    intensity: IntensityFigure


@dataclass(frozen=True)
class EvolutionPoint:
    inferences: int
    # None where the ROI is undefined; math.inf where it is unbounded.
    roi: float | None


@dataclass(frozen=True)
class EnergyRoi:
    """Money, ROI, break-even and emissions of an energy metric for a number of inferences.

    `roi` is None when it is undefined (nothing spent and nothing run) and math.inf when it is
    unbounded (the tactic removes the whole energy cost). `break_even` is None when the tactic
    never pays back (it does not lower the cost per inference).
    """

    baseline_energy_j: float
    new_energy_j: float
    reduction: float
    energy_price: float
    implementation_cost: float
    inferences: int
    baseline_cost_per_inference: float
    new_cost_per_inference: float
    total_baseline_cost: float
    total_new_cost: float
    total_savings: float
    roi: float | None
    infinite_roi: float | None
    break_even: int | None
    emissions: Emissions

    @property
    def never_breaks_even(self) -> bool:
        return self.break_even is None

    @property
    def breaks_even_beyond_workloads(self) -> bool:
        """Return True when the break-even point lies past the largest workload the calculator accepts."""
        return self.break_even is not None and self.break_even > MAX_INFERENCES

    @property
    def baseline_energy_kwh(self) -> float:
        return self.baseline_energy_j / JOULES_PER_KWH * self.inferences

    @property
    def new_energy_kwh(self) -> float:
        return self.new_energy_j / JOULES_PER_KWH * self.inferences


def metric_change(baseline: float, reduction: float) -> MetricChange:
    """Apply an expected reduction (a fraction) to a baseline value."""
    percent = reduction * 100
    new_value = baseline * (1 - percent / 100)
    return MetricChange(baseline, reduction, percent, new_value)


def roi_at(baseline_cost_per_inference: float, new_cost_per_inference: float,
           implementation_cost: float, inferences: int) -> float | None:
    """Return (income − costs) / costs after `inferences`, math.inf when costs are 0, None when undefined."""
    income = baseline_cost_per_inference * inferences
    costs = new_cost_per_inference * inferences + implementation_cost
    if costs == 0:
        return math.inf if income > 0 else None
    return (income - costs) / costs


def infinite_horizon_roi(baseline_cost_per_inference: float, new_cost_per_inference: float) -> float | None:
    """Return the ROI after infinitely many inferences: (c_b − c_n) / c_n, or math.inf when c_n is 0."""
    if new_cost_per_inference == 0:
        return math.inf if baseline_cost_per_inference > 0 else None
    return (baseline_cost_per_inference - new_cost_per_inference) / new_cost_per_inference


def break_even_inferences(implementation_cost: float, baseline_cost_per_inference: float,
                          new_cost_per_inference: float) -> int | None:
    """Return the fewest inferences whose savings cover the implementation cost, or None for never.

    The numbers are read as the decimals they were typed as (0.7 is 7/10), so that a
    break-even that is a whole number is not pushed one further by binary rounding.
    """
    savings = _exact(baseline_cost_per_inference) - _exact(new_cost_per_inference)
    return _break_even(_exact(implementation_cost), savings)


def energy_roi(baseline_energy_j: float, reduction: float, energy_price: float, implementation_cost: float,
               inferences: int = DEFAULT_INFERENCES, intensity: IntensityFigure = WORLD_AVERAGE) -> EnergyRoi:
    """Compute the money, ROI, break-even and emissions of an energy metric for `inferences` inferences."""
    kwh_per_joule = 1 / JOULES_PER_KWH
    new_energy_j = baseline_energy_j * (1 - reduction)
    baseline_kwh = baseline_energy_j * kwh_per_joule
    new_kwh = new_energy_j * kwh_per_joule

    baseline_cost = baseline_kwh * energy_price
    new_cost = new_kwh * energy_price
    total_baseline = baseline_cost * inferences
    total_new = new_cost * inferences + implementation_cost

    # Savings per inference are E·r·price exactly: (1 − r) rounded in binary would shift the break-even.
    exact_savings = _exact(baseline_energy_j) * _exact(reduction) * _exact(energy_price) / JOULES_PER_KWH

    return EnergyRoi(
        baseline_energy_j=baseline_energy_j,
        new_energy_j=new_energy_j,
        reduction=reduction,
        energy_price=energy_price,
        implementation_cost=implementation_cost,
        inferences=inferences,
        baseline_cost_per_inference=baseline_cost,
        new_cost_per_inference=new_cost,
        total_baseline_cost=total_baseline,
        total_new_cost=total_new,
        total_savings=total_baseline - total_new,
        roi=roi_at(baseline_cost, new_cost, implementation_cost, inferences),
        infinite_roi=infinite_horizon_roi(baseline_cost, new_cost),
        break_even=_break_even(_exact(implementation_cost), exact_savings),
        emissions=emissions(baseline_kwh, new_kwh, inferences, intensity),
    )


def emissions(baseline_kwh_per_inference: float, new_kwh_per_inference: float, inferences: int,
              intensity: IntensityFigure) -> Emissions:
    """Compute the grams of CO2 of `inferences` inferences before and after the tactic."""
    baseline_g = baseline_kwh_per_inference * intensity.g_per_kwh * inferences
    new_g = new_kwh_per_inference * intensity.g_per_kwh * inferences
    return Emissions(baseline_g, new_g, baseline_g - new_g, intensity)


def roi_series(result: EnergyRoi, span: int | None = None) -> list[EvolutionPoint]:
    """Return the ROI from the first inference to `span` inferences, about 200 points.

    By default the series spans 40 times the break-even point, and without a positive
    break-even point (never, or from the start) 1 to 2,000,000 inferences in steps of 10,000.
    No span exceeds MAX_SERIES_SPAN.
    """
    if span is None:
        span = series_span(result.break_even)
    span = min(max(span, 1), MAX_SERIES_SPAN)
    step = max(span // SERIES_STEPS, 1)

    xs = [1] + [x for x in range(step, span + 1, step) if x > 1]
    return [
        EvolutionPoint(x, roi_at(result.baseline_cost_per_inference, result.new_cost_per_inference,
                                 result.implementation_cost, x))
        for x in xs
    ]


def series_span(break_even: int | None) -> int:
    """Return the default span of the ROI series: 40 times the break-even point, at least 50, capped."""
    if break_even is None or break_even == 0:
        return DEFAULT_SERIES_SPAN
    return min(max(break_even * SERIES_BREAK_EVEN_FACTOR, SERIES_MIN_SPAN), MAX_SERIES_SPAN)


def chart_span(result: EnergyRoi) -> int:
    """Return the number of inferences both charts of an analysis span.

    With a positive break-even point, the span is twice that point. For a tactic that never pays
    back, it is 10 times the inferences whose energy cost with the tactic equals the implementation
    cost, so that the gap between the lines shows. A free tactic that never pays back spans the
    analysis's own workload, and one that pays back from the first inference 2,000,000 inferences.
    No span exceeds MAX_SERIES_SPAN.
    """
    if result.break_even is not None and result.break_even > 0:
        return min(2 * result.break_even, MAX_SERIES_SPAN)
    if result.break_even is None and result.implementation_cost > 0 and result.new_cost_per_inference > 0:
        scale = NEVER_SPAN_FACTOR * result.implementation_cost / result.new_cost_per_inference
        if not math.isfinite(scale) or scale >= MAX_SERIES_SPAN:
            return MAX_SERIES_SPAN
        return max(_round_up_nicely(scale), SERIES_MIN_SPAN)
    if result.break_even is None:
        return min(max(result.inferences, SERIES_MIN_SPAN), MAX_SERIES_SPAN)
    return DEFAULT_SERIES_SPAN


def format_count(count: int) -> str:
    """Format a whole number of inferences: "600,000,000" up to 10^15, "6.02 × 10³¹⁰" above."""
    if abs(count) <= MAX_INFERENCES:
        return f"{count:,}"
    # Decimal formats integers of any size; float() would overflow above about 1.8 × 10^308.
    mantissa, exponent = f"{Decimal(count):.2e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPTS)}"


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def gasoline_litres(co2_g: float) -> float:
    """Return the litres of gasoline whose burning emits `co2_g` grams of CO2 (US EPA factor)."""
    return co2_g / GASOLINE_G_CO2_PER_LITRE


def _round_up_nicely(value: float) -> int:
    """Round a positive number up to 1, 2 or 5 times a power of ten."""
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return int(factor * power)
    return int(10 * power)


def _break_even(implementation_cost: Fraction, savings_per_inference: Fraction) -> int | None:
    if savings_per_inference <= 0:
        return None
    if implementation_cost <= 0:
        return 0
    return math.ceil(implementation_cost / savings_per_inference)


def _exact(number: float | int) -> Fraction:
    """Return the decimal a float was written as (repr gives the shortest round-tripping decimal)."""
    if isinstance(number, int):
        return Fraction(number)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {number!r}")
    return Fraction(repr(float(number)))
