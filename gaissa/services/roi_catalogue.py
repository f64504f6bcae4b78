"""Reading the ROI catalogue and stored analyses, and creating analyses.

Everything the ROI pages need from the database goes through here; the money and emission
figures themselves come from the pure calculator in gaissa.services.roi.
"""

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from gaissa.extensions import db
from gaissa.models import Country
from gaissa.models.roi import (
    AnalysisKind,
    AnalysisMetricValue,
    ExpectedReduction,
    ModelArchitecture,
    PipelineStage,
    RoiAnalysis,
    RoiMetric,
    Tactic,
    TacticParameterOption,
    TacticSource,
)
from gaissa.services import carbon, charts
from gaissa.services import roi as calculator
from gaissa.web.formatting import format_number

logger = logging.getLogger(__name__)

# Upper limits that catch unit mistakes (a price typed in €/MWh) and absurd amounts.
MAX_ENERGY_PRICE_EUR_PER_KWH = 100.0
MAX_IMPLEMENTATION_COST_EUR = 1e12
MIN_INFERENCES = calculator.MIN_INFERENCES
MAX_INFERENCES = calculator.MAX_INFERENCES
# Energy per inference, whatever bounds an energy-related metric sets. One 32-bit floating-point
# multiplication takes about 3.7 pJ (Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm),
# so 1 nJ is a few hundred operations: less is no model's inference, and usually a unit mistake.
# 1 MJ (0.28 kWh) per inference is above any published measurement of a single inference.
MIN_ENERGY_J_PER_INFERENCE = 1e-9
MAX_ENERGY_J_PER_INFERENCE = 1e6
REPOSITORY_LIMIT = 100


class AnalysisInputError(ValueError):
    """Invalid analysis input; `errors` maps each form field to a message meant for users."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class MetricInput:
    """A typed-in baseline value; energy metrics also need the energy price and the implementation cost."""

    metric_id: int
    baseline: float | None
    energy_price: float | None = None
    implementation_cost: float | None = None


# ---------------------------------------------------------------- counters


def counts() -> dict[str, int]:
    """Count pipeline stages, tactics, research analyses and saved (calculation) analyses."""
    by_kind = dict(db.session.execute(select(RoiAnalysis.kind, func.count()).group_by(RoiAnalysis.kind)).all())
    return {
        "stages": db.session.scalar(select(func.count()).select_from(PipelineStage)) or 0,
        "tactics": db.session.scalar(select(func.count()).select_from(Tactic)) or 0,
        "research_analyses": by_kind.get(AnalysisKind.RESEARCH, 0),
        "analyses": by_kind.get(AnalysisKind.CALCULATION, 0),
    }


@dataclass(frozen=True)
class StageSummary:
    stage: PipelineStage
    tactics: list[Tactic]
    research_analyses: int
    calculation_analyses: int

    @property
    def total_analyses(self) -> int:
        return self.research_analyses + self.calculation_analyses


def stage_summaries() -> list[StageSummary]:
    """Return every pipeline stage with its tactics and its analyses counted by kind."""
    stages = db.session.scalars(
        select(PipelineStage).options(selectinload(PipelineStage.tactics)).order_by(PipelineStage.id)
    ).all()
    rows = db.session.execute(
        select(Tactic.stage_id, RoiAnalysis.kind, func.count())
        .join(TacticParameterOption, TacticParameterOption.id == RoiAnalysis.option_id)
        .join(Tactic, Tactic.id == TacticParameterOption.tactic_id)
        .group_by(Tactic.stage_id, RoiAnalysis.kind)
    ).all()
    analysed = {(stage_id, kind): count for stage_id, kind, count in rows}
    return [
        StageSummary(stage, list(stage.tactics), analysed.get((stage.id, AnalysisKind.RESEARCH), 0),
                     analysed.get((stage.id, AnalysisKind.CALCULATION), 0))
        for stage in stages
    ]


# ---------------------------------------------------------------- countries and carbon intensity


def countries() -> list[tuple[str, str]]:
    """Return (ISO code, name) of every country with carbon-intensity data, by name."""
    return carbon.countries_with_data()


def country_label(code: str, name: str) -> str:
    """Name a country with its ISO code, "Spain (ESP)"; a territory with an OWID code ("OWID_KOS") by name only."""
    return name if code.upper().startswith("OWID_") else f"{name} ({code})"


def country_known(country_code: str) -> bool:
    return any(code == country_code for code, _name in countries())


def intensity_figure(country_code: str | None) -> calculator.IntensityFigure:
    """Return the carbon intensity of a country's latest year, or the world value when it has none."""
    lookup = carbon.intensity_for(country_code)
    label = "world average" if lookup.is_world_fallback else country_label(lookup.code, lookup.name)
    return calculator.IntensityFigure(lookup.g_per_kwh, lookup.year, label, lookup.is_world_fallback,
                                      lookup.is_stale)


# ---------------------------------------------------------------- the calculator form's cascade


@dataclass
class AnalysisChoices:
    """The cascading choices of the analysis form: each list depends on the selection above it."""

    stages: list[PipelineStage]
    tactics: list[Tactic] = field(default_factory=list)
    architectures: list[ModelArchitecture] = field(default_factory=list)
    options: list[TacticParameterOption] = field(default_factory=list)
    stage: PipelineStage | None = None
    tactic: Tactic | None = None
    architecture: ModelArchitecture | None = None
    option: TacticParameterOption | None = None
    # (ISO code, label such as "Spain (ESP)") of the countries with carbon-intensity data.
    countries: list[tuple[str, str]] = field(default_factory=list)
    sources: list[TacticSource] = field(default_factory=list)
    max_energy_price: float = MAX_ENERGY_PRICE_EUR_PER_KWH

    @property
    def metrics(self) -> list[RoiMetric]:
        return list(self.tactic.metrics) if self.tactic else []

    @property
    def energy_metrics(self) -> list[RoiMetric]:
        return [metric for metric in self.metrics if metric.is_energy]

    @property
    def complete(self) -> bool:
        return self.option is not None

    def bounds(self, metric: RoiMetric) -> tuple[float | None, float | None]:
        return baseline_bounds(metric)


def analysis_choices(stage_id: int | None = None, tactic_id: int | None = None, architecture_id: int | None = None,
                     option_id: int | None = None, with_sources: bool = False) -> AnalysisChoices:
    """Return the form's choices; a selection that does not fit the one above it is dropped."""
    choices = AnalysisChoices(
        stages=list(db.session.scalars(select(PipelineStage).order_by(PipelineStage.id))),
        countries=[(code, country_label(code, name)) for code, name in countries()],
    )
    if with_sources:
        choices.sources = list(db.session.scalars(select(TacticSource).order_by(TacticSource.title)))

    tactic = db.session.get(Tactic, tactic_id) if tactic_id else None
    choices.stage = db.session.get(PipelineStage, stage_id) if stage_id else None
    if choices.stage is None and tactic is not None:
        choices.stage = tactic.stage
    if choices.stage is None:
        return choices

    choices.tactics = list(choices.stage.tactics)
    choices.tactic = tactic if tactic in choices.tactics else None
    if choices.tactic is None:
        return choices

    choices.architectures = list(choices.tactic.architectures)
    architecture = db.session.get(ModelArchitecture, architecture_id) if architecture_id else None
    choices.architecture = architecture if architecture in choices.architectures else None
    if choices.architecture is None:
        return choices

    choices.options = options_with_reductions(choices.tactic, choices.architecture)
    option = db.session.get(TacticParameterOption, option_id) if option_id else None
    choices.option = option if option in choices.options else None
    return choices


def options_with_reductions(tactic: Tactic, architecture: ModelArchitecture) -> list[TacticParameterOption]:
    """Return the tactic's options that have an expected reduction on `architecture` for every applicable metric."""
    metric_ids = {metric.id for metric in tactic.metrics}
    if not metric_ids:
        return []
    rows = db.session.execute(
        select(ExpectedReduction.option_id, func.count(func.distinct(ExpectedReduction.metric_id)))
        .join(TacticParameterOption, TacticParameterOption.id == ExpectedReduction.option_id)
        .where(TacticParameterOption.tactic_id == tactic.id,
               ExpectedReduction.architecture_id == architecture.id,
               ExpectedReduction.metric_id.in_(metric_ids))
        .group_by(ExpectedReduction.option_id)
    ).all()
    covered = {option_id for option_id, count in rows if count == len(metric_ids)}
    return [option for option in tactic.options if option.id in covered]


def reduction_for(architecture_id: int, option_id: int, metric_id: int) -> ExpectedReduction | None:
    return db.session.scalar(select(ExpectedReduction).where(
        ExpectedReduction.architecture_id == architecture_id,
        ExpectedReduction.option_id == option_id,
        ExpectedReduction.metric_id == metric_id,
    ))


# ---------------------------------------------------------------- creating an analysis


def create_analysis(architecture_id: int | None, option_id: int | None, values: Sequence[MetricInput],
                    country_code: str | None = None, kind: str = AnalysisKind.CALCULATION,
                    source_id: int | None = None) -> RoiAnalysis:
    """Validate and add an analysis with its metric values; raise AnalysisInputError and add nothing on bad input.

    The caller commits, so the analysis and its values are written in one transaction.
    """
    errors: dict[str, str] = {}
    if kind not in (AnalysisKind.CALCULATION, AnalysisKind.RESEARCH):
        raise AnalysisInputError({"kind": f"The analysis kind must be 'calculation' or 'research'; got {kind!r}."})

    architecture = db.session.get(ModelArchitecture, architecture_id) if architecture_id else None
    if architecture is None:
        errors["architecture"] = ("Choose a model architecture." if not architecture_id
                                  else f"No model architecture with id {architecture_id}; choose one from the list.")
    option = db.session.get(TacticParameterOption, option_id) if option_id else None
    if option is None:
        errors["option"] = ("Choose a tactic parameter." if not option_id
                            else f"No tactic parameter with id {option_id}; choose one from the list.")

    source = None
    if kind == AnalysisKind.RESEARCH:
        source = db.session.get(TacticSource, source_id) if source_id else None
        if source is None:
            errors["source"] = "A research analysis must name the paper or report it is taken from; choose a source."

    country_code = (country_code or "").strip().upper() or None
    if country_code is not None and not country_known(country_code):
        errors["country"] = (f"No carbon-intensity data for the country code {country_code!r}; "
                             "choose a country from the list or leave it empty for the world average.")
    if errors:
        raise AnalysisInputError(errors)

    tactic = option.tactic
    if architecture not in tactic.architectures:
        names = ", ".join(a.name for a in tactic.architectures) or "none"
        raise AnalysisInputError({"architecture": (
            f"The tactic '{tactic.name}' is not compatible with the model architecture '{architecture.name}'; "
            f"compatible architectures: {names}.")})

    errors = _check_values(tactic, architecture, option, values)
    if errors:
        raise AnalysisInputError(errors)

    analysis = RoiAnalysis(kind=kind, architecture=architecture, option=option, country_code=country_code,
                           source=source)
    by_metric = {metric.id: metric for metric in tactic.metrics}
    for item in values:
        metric = by_metric[item.metric_id]
        reduction = reduction_for(architecture.id, option.id, metric.id)
        analysis.values.append(AnalysisMetricValue(
            metric=metric,
            baseline=float(item.baseline),
            # A copy, so that later catalogue edits never change what this analysis shows.
            expected_reduction=reduction.value,
            energy_price_eur_per_kwh=float(item.energy_price) if metric.is_energy else None,
            implementation_cost_eur=float(item.implementation_cost) if metric.is_energy else None,
        ))
    db.session.add(analysis)
    db.session.flush()
    logger.info("Created %s ROI analysis %s: %s on %s", kind, analysis.id, option.label, architecture.name)
    return analysis


def _check_values(tactic: Tactic, architecture: ModelArchitecture, option: TacticParameterOption,
                  values: Sequence[MetricInput]) -> dict[str, str]:
    errors: dict[str, str] = {}
    applicable = {metric.id: metric for metric in tactic.metrics}
    if not values:
        return {"values": f"Enter a baseline value for each metric of the tactic '{tactic.name}'."}

    seen: set[int] = set()
    for item in values:
        metric = applicable.get(item.metric_id)
        if item.metric_id in seen:
            errors["values"] = f"The metric with id {item.metric_id} is given twice; give each metric once."
            continue
        seen.add(item.metric_id)
        if metric is None:
            known = db.session.get(RoiMetric, item.metric_id)
            errors["values"] = (f"The metric '{known.name}' is not applicable for the tactic '{tactic.name}'."
                                if known else f"No metric with id {item.metric_id}.")
            continue
        if reduction_for(architecture.id, option.id, metric.id) is None:
            errors[f"baseline-{metric.id}"] = (
                f"No expected reduction is recorded for {metric.name} with '{tactic.name} – {option.label}' on "
                f"{architecture.name}; choose another parameter or ask a QA manager to add it.")
            continue
        message = baseline_error(metric, item.baseline)
        if message:
            errors[f"baseline-{metric.id}"] = message
        if metric.is_energy:
            errors.update(_cost_errors(metric, item))

    missing = [metric for metric_id, metric in applicable.items() if metric_id not in seen]
    for metric in missing:
        errors[f"baseline-{metric.id}"] = f"Enter the baseline {metric.name.lower()}{_in_unit(metric)}."
    return errors


def baseline_bounds(metric: RoiMetric) -> tuple[float | None, float | None]:
    """Return the inclusive range of a metric's valid baseline values; None means unbounded on that side.

    An energy-related metric is also held to MIN_ENERGY_J_PER_INFERENCE and MAX_ENERGY_J_PER_INFERENCE.
    """
    low, high = metric.min_value, metric.max_value
    if metric.is_energy:
        low = MIN_ENERGY_J_PER_INFERENCE if low is None else max(low, MIN_ENERGY_J_PER_INFERENCE)
        high = MAX_ENERGY_J_PER_INFERENCE if high is None else min(high, MAX_ENERGY_J_PER_INFERENCE)
    return low, high


def baseline_error(metric: RoiMetric, value: float | None) -> str | None:
    """Return why a baseline value is invalid for the metric, or None when it is valid."""
    if value is None:
        return f"Enter the baseline {metric.name.lower()}{_in_unit(metric)}."
    if not math.isfinite(value):
        return f"{metric.name} must be a finite number{_in_unit(metric)}; got {value}."
    if metric.is_energy:
        return energy_error(value, metric.name, *baseline_bounds(metric))
    return _range_error(metric.name, value, metric.min_value, metric.max_value, metric.unit)


def energy_error(value: float, name: str = "Energy per inference", low: float = MIN_ENERGY_J_PER_INFERENCE,
                 high: float = MAX_ENERGY_J_PER_INFERENCE) -> str | None:
    """Return why an energy per inference in joules is invalid, or None when it lies in [low, high]."""
    if not math.isfinite(value):
        return f"{name} must be a finite number of joules per inference; got {value}."
    message = _range_error(name, value, low, high, "J")
    if message is None:
        return None
    if value == 0:
        return f"{message} Zero means not measured."
    if 0 < value < MIN_ENERGY_J_PER_INFERENCE:
        return (f"{message} One 32-bit multiplication alone takes about 4 × 10⁻¹² J, so no model's inference "
                "uses less than 1 nJ; check that the value is in joules.")
    return message


def energy_price_error(price: float | None) -> str | None:
    """Return why an energy price in €/kWh is invalid, or None when it is valid."""
    if price is None:
        return "Enter the energy price in €/kWh."
    if not math.isfinite(price) or price <= 0:
        return f"The energy price must be a positive number of €/kWh; got {_plain(price)}."
    if price > MAX_ENERGY_PRICE_EUR_PER_KWH:
        return (f"The energy price must be at most {MAX_ENERGY_PRICE_EUR_PER_KWH:g} €/kWh; got {_plain(price)}. "
                "For a price in €/MWh, divide it by 1,000.")
    return None


def implementation_cost_error(cost: float | None) -> str | None:
    """Return why an implementation cost in € is invalid, or None when it is valid."""
    if cost is None:
        return "Enter the implementation cost in € (0 for a free tactic)."
    if not math.isfinite(cost) or cost < 0:
        return f"The implementation cost must be 0 € or more; got {_plain(cost)}."
    if cost > MAX_IMPLEMENTATION_COST_EUR:
        return f"The implementation cost must be at most {MAX_IMPLEMENTATION_COST_EUR:,.0f} €; got {_plain(cost)} €."
    return None


def _range_error(name: str, value: float, low: float | None, high: float | None, unit: str) -> str | None:
    suffix = f" {unit}" if unit else ""
    if low is not None and value < low:
        return f"{name} must be at least {_plain(low)}{suffix}; got {_plain(value)}{suffix}."
    if high is not None and value > high:
        return f"{name} must be at most {_plain(high)}{suffix}; got {_plain(value)}{suffix}."
    return None


def _cost_errors(metric: RoiMetric, item: MetricInput) -> dict[str, str]:
    errors = {}
    price_message = energy_price_error(item.energy_price)
    if price_message:
        errors[f"price-{metric.id}"] = price_message
    cost_message = implementation_cost_error(item.implementation_cost)
    if cost_message:
        errors[f"cost-{metric.id}"] = cost_message
    return errors


def _in_unit(metric: RoiMetric) -> str:
    return f" in {metric.unit}" if metric.unit else ""


def _plain(value: float) -> str:
    """Format a number as typed, "5,000" or "0.25", and very small or large ones as "1 × 10⁻⁹"."""
    if value != 0 and not 1e-4 <= abs(value) < 1e15:
        return format_number(value, 6)
    return f"{value:,.10g}"


# ---------------------------------------------------------------- reading an analysis


@dataclass(frozen=True)
class MetricRow:
    """A metric of an analysis: its baseline, the expected reduction and the expected new value.

    `reduction` is the catalogue's current figure, None once it is removed. `change` applies the figure
    stored with the analysis; analyses saved before figures were stored use the catalogue's.
    """

    metric: RoiMetric
    value: AnalysisMetricValue
    reduction: ExpectedReduction | None
    change: calculator.MetricChange | None

    @property
    def is_good(self) -> bool:
        """Return True when the change goes the metric's better way (or does not change it)."""
        if self.change is None:
            return True
        if self.metric.higher_is_better:
            return self.change.reduction <= 0
        return self.change.reduction >= 0

    @property
    def catalogue_changed(self) -> bool:
        """Return True when the catalogue's figure now differs from the one this analysis was saved with."""
        return (self.value.expected_reduction is not None and self.reduction is not None
                and self.reduction.value != self.value.expected_reduction)

    @property
    def catalogue_removed(self) -> bool:
        return self.reduction is None


@dataclass(frozen=True)
class EnergyBlock:
    """The money, ROI and emissions of one energy metric of an analysis."""

    metric: RoiMetric
    result: calculator.EnergyRoi

    @property
    def series(self) -> list[calculator.EvolutionPoint]:
        return calculator.roi_series(self.result)

    @property
    def chart_span(self) -> int:
        return calculator.chart_span(self.result)

    @property
    def chart_series(self) -> list[calculator.EvolutionPoint]:
        """Return the ROI series over the charts' span (it differs from `series` for a tactic that never pays back)."""
        if self.result.never_breaks_even:
            return calculator.roi_series(self.result, self.chart_span)
        return self.series

    @property
    def cost_change_percent(self) -> float | None:
        baseline = self.result.total_baseline_cost
        if baseline == 0:
            return None
        return (baseline - self.result.total_new_cost) / baseline * 100

    @property
    def gasoline_litres(self) -> float:
        return calculator.gasoline_litres(abs(self.result.emissions.saved_g))

    equivalence_source = calculator.GASOLINE_SOURCE
    equivalence_url = calculator.GASOLINE_SOURCE_URL


@dataclass
class AnalysisReport:
    """Everything the analysis page and its PDF show for one number of inferences."""

    analysis: RoiAnalysis
    inferences: int
    rows: list[MetricRow]
    energy: list[EnergyBlock]
    intensity: calculator.IntensityFigure
    alternatives: list[tuple[TacticParameterOption, list[RoiAnalysis]]]
    # Energy metrics with costs whose expected reduction is neither stored nor in the catalogue any more.
    missing_reductions: list[RoiMetric] = field(default_factory=list)

    @property
    def tactic(self) -> Tactic:
        return self.analysis.option.tactic

    @property
    def main(self) -> EnergyBlock | None:
        return self.energy[0] if self.energy else None

    @property
    def has_illustrative(self) -> bool:
        return any(row.reduction is not None and row.reduction.is_illustrative for row in self.rows)

    @property
    def has_catalogue_changes(self) -> bool:
        return any(row.change is not None and (row.catalogue_changed or row.catalogue_removed) for row in self.rows)

    @property
    def title(self) -> str:
        return f"{self.tactic.name} ({self.analysis.option.label}) on {self.analysis.architecture.name}"

    def radar_svg(self) -> Markup:
        rows = [row for row in self.rows if row.change is not None]
        labels = [f"{row.metric.name} ({row.metric.unit})" if row.metric.unit else row.metric.name for row in rows]
        return charts.radar_chart(labels, [row.change.baseline for row in rows], [row.change.new_value for row in rows])

    def evolution_svg(self) -> Markup | None:
        if self.main is None:
            return None
        return charts.roi_evolution_chart(self.main.chart_series, self.main.result.break_even)

    def income_costs_svg(self) -> Markup | None:
        if self.main is None:
            return None
        return charts.income_costs_chart(self.main.result, self.main.chart_span)


def get_analysis(analysis_id: int) -> RoiAnalysis | None:
    return db.session.get(RoiAnalysis, analysis_id)


def analysis_report(analysis: RoiAnalysis, inferences: int = calculator.DEFAULT_INFERENCES) -> AnalysisReport:
    """Compute the metric changes, money, ROI and emissions of an analysis for `inferences` inferences."""
    intensity = intensity_figure(analysis.country_code)
    rows: list[MetricRow] = []
    energy: list[EnergyBlock] = []
    missing: list[RoiMetric] = []
    for value in analysis.values:
        reduction = reduction_for(analysis.architecture_id, analysis.option_id, value.metric_id)
        fraction = _used_reduction(value, reduction)
        change = calculator.metric_change(value.baseline, fraction) if fraction is not None else None
        rows.append(MetricRow(value.metric, value, reduction, change))
        if not (value.metric.is_energy and value.has_costs):
            continue
        if fraction is None:
            missing.append(value.metric)
            continue
        result = calculator.energy_roi(value.baseline, fraction, value.energy_price_eur_per_kwh,
                                       value.implementation_cost_eur, inferences, intensity)
        energy.append(EnergyBlock(value.metric, result))
    return AnalysisReport(analysis, inferences, rows, energy, intensity, alternatives(analysis), missing)


def _used_reduction(value: AnalysisMetricValue, reduction: ExpectedReduction | None) -> float | None:
    """Return the figure stored with the analysis, else (older analyses) the catalogue's current one."""
    if value.expected_reduction is not None:
        return value.expected_reduction
    return reduction.value if reduction is not None else None


def alternatives(analysis: RoiAnalysis) -> list[tuple[TacticParameterOption, list[RoiAnalysis]]]:
    """Return the other options of the same tactic with analyses of the same kind on the same architecture."""
    others = db.session.scalars(
        select(RoiAnalysis)
        .join(TacticParameterOption, TacticParameterOption.id == RoiAnalysis.option_id)
        .where(TacticParameterOption.tactic_id == analysis.option.tactic_id,
               RoiAnalysis.architecture_id == analysis.architecture_id,
               RoiAnalysis.kind == analysis.kind,
               RoiAnalysis.option_id != analysis.option_id)
        .order_by(TacticParameterOption.name, TacticParameterOption.value, RoiAnalysis.created_at.desc())
    ).all()
    grouped: dict[int, tuple[TacticParameterOption, list[RoiAnalysis]]] = {}
    for other in others:
        grouped.setdefault(other.option_id, (other.option, []))[1].append(other)
    return list(grouped.values())


# ---------------------------------------------------------------- repositories and comparison


@dataclass(frozen=True)
class AnalysisSummary:
    """The figures that distinguish listed analyses: the first energy metric's inputs and its break-even point.

    `result` is None when the analysis has no energy metric with costs, or its expected reduction is gone.
    """

    value: AnalysisMetricValue | None
    result: calculator.EnergyRoi | None
    # "Spain (ESP)", or "world average" when the analysis names no country.
    country: str


@dataclass
class Repository:
    """Analyses of one kind filtered by stage, tactic, architecture and option, with the filters' choices."""

    kind: str
    stages: list[PipelineStage]
    tactics: list[Tactic]
    architectures: list[ModelArchitecture]
    options: list[TacticParameterOption]
    stage: PipelineStage | None
    tactic: Tactic | None
    architecture: ModelArchitecture | None
    option: TacticParameterOption | None
    analyses: list[RoiAnalysis]
    total: int
    summaries: dict[int, AnalysisSummary] = field(default_factory=dict)


def browse(kind: str, stage_id: int | None = None, tactic_id: int | None = None,
           architecture_id: int | None = None, option_id: int | None = None) -> Repository:
    """Return the analyses of a kind matching the filters; each filter offers only choices that have analyses.

    A filter level with exactly one choice is selected automatically.
    """
    base = (select(RoiAnalysis)
            .join(TacticParameterOption, TacticParameterOption.id == RoiAnalysis.option_id)
            .join(Tactic, Tactic.id == TacticParameterOption.tactic_id)
            .where(RoiAnalysis.kind == kind))
    analysed = base.with_only_columns(RoiAnalysis.id, Tactic.id, Tactic.stage_id, RoiAnalysis.architecture_id,
                                      RoiAnalysis.option_id)
    rows = db.session.execute(analysed).all()

    stage_ids = {row[2] for row in rows}
    stages = list(db.session.scalars(select(PipelineStage).where(PipelineStage.id.in_(stage_ids))
                                     .order_by(PipelineStage.id)))
    stage = _pick(stages, stage_id)
    rows = [row for row in rows if stage is None or row[2] == stage.id]

    tactics = list(db.session.scalars(select(Tactic).where(Tactic.id.in_({row[1] for row in rows}))
                                      .order_by(Tactic.name)))
    tactic = _pick(tactics, tactic_id, auto=True)
    architectures: list[ModelArchitecture] = []
    options: list[TacticParameterOption] = []
    architecture = option = None
    if tactic is not None:
        rows = [row for row in rows if row[1] == tactic.id]
        architectures = list(db.session.scalars(
            select(ModelArchitecture).where(ModelArchitecture.id.in_({row[3] for row in rows}))
            .order_by(ModelArchitecture.name)))
        architecture = _pick(architectures, architecture_id, auto=True)
    if architecture is not None:
        rows = [row for row in rows if row[3] == architecture.id]
        options = list(db.session.scalars(
            select(TacticParameterOption).where(TacticParameterOption.id.in_({row[4] for row in rows}))
            .order_by(TacticParameterOption.name, TacticParameterOption.value)))
        option = _pick(options, option_id, auto=True)
    if option is not None:
        rows = [row for row in rows if row[4] == option.id]

    ids = [row[0] for row in rows]
    analyses = list(db.session.scalars(
        select(RoiAnalysis).where(RoiAnalysis.id.in_(ids))
        .options(selectinload(RoiAnalysis.values).selectinload(AnalysisMetricValue.metric))
        .order_by(RoiAnalysis.created_at.desc(), RoiAnalysis.id.desc()).limit(REPOSITORY_LIMIT)
    )) if ids else []
    return Repository(kind, stages, tactics, architectures, options, stage, tactic, architecture, option,
                      analyses, len(ids), summarize(analyses))


def summarize(analyses: Sequence[RoiAnalysis]) -> dict[int, AnalysisSummary]:
    """Return each analysis's summary by id: baseline energy, price, cost and break-even point."""
    option_ids = {analysis.option_id for analysis in analyses}
    catalogue = {
        (reduction.architecture_id, reduction.option_id, reduction.metric_id): reduction
        for reduction in db.session.scalars(select(ExpectedReduction).where(ExpectedReduction.option_id.in_(option_ids)))
    } if option_ids else {}

    codes = {analysis.country_code for analysis in analyses if analysis.country_code}
    names = dict(db.session.execute(select(Country.code, Country.name).where(Country.code.in_(codes))).all()) \
        if codes else {}

    summaries = {}
    for analysis in analyses:
        value = next((value for value in analysis.values if value.metric.is_energy and value.has_costs), None)
        result = None
        if value is not None:
            reduction = catalogue.get((analysis.architecture_id, analysis.option_id, value.metric_id))
            fraction = _used_reduction(value, reduction)
            if fraction is not None:
                result = calculator.energy_roi(value.baseline, fraction, value.energy_price_eur_per_kwh,
                                               value.implementation_cost_eur)
        code = analysis.country_code
        country = country_label(code, names[code]) if code in names else code or "world average"
        summaries[analysis.id] = AnalysisSummary(value, result, country)
    return summaries


def _pick(items: list, wanted_id: int | None, auto: bool = False):
    for item in items:
        if item.id == wanted_id:
            return item
    if auto and len(items) == 1:
        return items[0]
    return None


def all_analyses() -> list[RoiAnalysis]:
    """Return every analysis, research ones first, then the newest saved ones, for the comparison choices."""
    return list(db.session.scalars(
        select(RoiAnalysis).order_by(RoiAnalysis.kind.desc(), RoiAnalysis.created_at.desc(), RoiAnalysis.id.desc())
    ))
