"""ROI catalogue queries, analysis creation and validation, reports, repositories and the demo seed."""

import math

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models.roi import AnalysisMetricValue, ExpectedReduction, RoiAnalysis, Tactic
from gaissa.services import roi, roi_seed
from gaissa.services import roi_catalogue as catalogue
from gaissa.services.roi_catalogue import AnalysisInputError, MetricInput
from tests.roi_support import make_catalogue


@pytest.fixture
def cat(app):
    return make_catalogue()


def create(cat, **changes):
    arguments = dict(architecture_id=cat.architecture.id, option_id=cat.option.id, values=cat.values(),
                     country_code="ESP")
    arguments.update(changes)
    return catalogue.create_analysis(**arguments)


def errors_of(cat, **changes) -> dict[str, str]:
    with pytest.raises(AnalysisInputError) as caught:
        create(cat, **changes)
    return caught.value.errors


def analysis_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RoiAnalysis))


# ---------------------------------------------------------------- creation


def test_create_calculation_analysis(cat):
    analysis = create(cat)
    assert analysis.id is not None
    assert analysis.kind == "calculation"
    assert analysis.country_code == "ESP"
    assert analysis.created_at is not None
    assert [value.metric.name for value in analysis.values] == ["Energy Consumption", "Inference Time"]
    energy = analysis.values[0]
    assert (energy.baseline, energy.energy_price_eur_per_kwh, energy.implementation_cost_eur) == (100.0, 0.2, 1000.0)
    assert analysis.values[1].energy_price_eur_per_kwh is None


def test_create_research_analysis_needs_source(cat):
    errors = errors_of(cat, kind="research")
    assert "source" in errors
    analysis = create(cat, kind="research", source_id=cat.source.id)
    assert analysis.kind == "research"
    assert analysis.source is cat.source


def test_create_without_country_uses_world_average(cat):
    analysis = create(cat, country_code="")
    assert analysis.country_code is None
    report = catalogue.analysis_report(analysis)
    assert report.intensity.is_world_average


def test_create_rejects_unknown_kind(cat):
    assert "kind" in errors_of(cat, kind="foo")


def test_create_requires_ids(cat):
    errors = errors_of(cat, architecture_id=None, option_id=None)
    assert errors["architecture"] == "Choose a model architecture."
    assert errors["option"] == "Choose a tactic parameter."


def test_create_rejects_incompatible_architecture(cat):
    errors = errors_of(cat, architecture_id=cat.other_architecture.id)
    assert "not compatible" in errors["architecture"]
    assert "Weight Pruning" in errors["architecture"]
    assert "VGG16" in errors["architecture"]


def test_create_without_expected_reduction(cat):
    cat.tactic.architectures.append(cat.other_architecture)
    db.session.flush()
    errors = errors_of(cat, architecture_id=cat.other_architecture.id)
    assert "No expected reduction" in errors[f"baseline-{cat.energy.id}"]
    assert "VGG16" in errors[f"baseline-{cat.time.id}"]


def test_create_requires_values(cat):
    assert "values" in errors_of(cat, values=[])


def test_create_reports_missing_metric(cat):
    errors = errors_of(cat, values=cat.values()[:1])
    assert errors[f"baseline-{cat.time.id}"] == "Enter the baseline inference time in ms."


def test_create_rejects_non_applicable_metric(cat):
    values = cat.values() + [MetricInput(cat.accuracy.id, 90.0)]
    assert "not applicable for the tactic 'Weight Pruning'" in errors_of(cat, values=values)["values"]


def test_create_rejects_unknown_metric(cat):
    values = cat.values() + [MetricInput(999_999, 1.0)]
    assert "No metric with id 999999" in errors_of(cat, values=values)["values"]


def test_create_rejects_duplicate_metric(cat):
    values = cat.values() + [MetricInput(cat.time.id, 60.0)]
    assert "twice" in errors_of(cat, values=values)["values"]


@pytest.mark.parametrize(("changes", "field", "fragment"), [
    ({"energy": 5000.0}, "baseline-energy", "at most 2,000 J; got 5,000 J"),
    ({"time": -1.0}, "baseline-time", "at least 0 ms; got -1 ms"),
    ({"energy": 0.0}, "baseline-energy", "at least 1 × 10⁻⁹ J; got 0 J. Zero means not measured."),
    ({"energy": 1e-300}, "baseline-energy", "at least 1 × 10⁻⁹ J; got 1 × 10⁻³⁰⁰ J."),
    ({"energy": -3.0}, "baseline-energy", "at least 1 × 10⁻⁹ J; got -3 J."),
    ({"energy": math.nan}, "baseline-energy", "finite"),
    ({"price": None}, "price-energy", "Enter the energy price"),
    ({"cost": None}, "cost-energy", "Enter the implementation cost"),
    ({"price": 0.0}, "price-energy", "positive number of €/kWh"),
    ({"price": 250.0}, "price-energy", "divide it by 1,000"),
    ({"cost": -5.0}, "cost-energy", "0 € or more"),
    ({"cost": 2e12}, "cost-energy", "at most"),
])
def test_create_value_rules(cat, changes, field, fragment):
    metric_id = cat.energy.id if field.endswith("energy") else cat.time.id
    key = field.rsplit("-", 1)[0] + f"-{metric_id}"
    errors = errors_of(cat, values=cat.values(**changes))
    assert fragment in errors[key]


def test_create_accepts_bounds_and_free_tactic(cat):
    analysis = create(cat, values=cat.values(energy=2000.0, time=0.0, cost=0.0))
    assert analysis.values[0].implementation_cost_eur == 0.0


def test_create_accepts_large_implementation_cost(cat):
    # The original stored costs in decimal(14, 10) and failed with a server error from €10,000 on.
    analysis = create(cat, values=cat.values(cost=20_000.0))
    assert analysis.values[0].implementation_cost_eur == 20_000.0


def test_create_rejects_unknown_country(cat):
    assert "XYZ" in errors_of(cat, country_code="XYZ")["country"]


def test_failed_creation_writes_nothing(cat):
    before = analysis_count()
    errors_of(cat, values=cat.values(time=-1.0))
    db.session.flush()
    assert analysis_count() == before
    assert db.session.scalar(select(func.count()).select_from(AnalysisMetricValue)) == 0


# ---------------------------------------------------------------- cascade choices


def test_choices_cascade(cat):
    choices = catalogue.analysis_choices(cat.stage.id, cat.tactic.id, cat.architecture.id, cat.option.id)
    assert choices.tactic is cat.tactic
    assert choices.architectures == [cat.architecture]
    assert set(choices.options) == {cat.option, cat.other_option}
    assert choices.complete
    assert [metric.name for metric in choices.metrics] == ["Energy Consumption", "Inference Time"]
    assert choices.energy_metrics == [cat.energy]
    assert ("ESP", "Spain (ESP)") in choices.countries


def test_choices_drop_selections_that_do_not_fit(cat):
    choices = catalogue.analysis_choices(cat.stage.id, cat.tactic.id, cat.other_architecture.id, cat.option.id)
    assert choices.architecture is None
    assert choices.option is None
    assert not choices.complete


def test_choices_tactic_implies_stage(cat):
    choices = catalogue.analysis_choices(None, cat.tactic.id)
    assert choices.stage is cat.stage
    assert choices.tactic is cat.tactic


def test_options_need_every_metric_reduction(cat):
    db.session.delete(catalogue.reduction_for(cat.architecture.id, cat.other_option.id, cat.time.id))
    db.session.flush()
    assert catalogue.options_with_reductions(cat.tactic, cat.architecture) == [cat.option]


# ---------------------------------------------------------------- reports


def test_report_of_s1(cat):
    analysis = create(cat, country_code=None)
    report = catalogue.analysis_report(analysis, 100_000_000)
    assert [(row.metric.name, row.change.reduction_percent, row.change.new_value) for row in report.rows] == [
        ("Energy Consumption", 30.0, 70.0), ("Inference Time", 20.0, 40.0)]
    result = report.main.result
    assert result.total_new_cost == 1388.888888888889
    assert result.roi == -0.6
    assert result.break_even == 600_000_000
    assert report.title == "Weight Pruning (sparsity: 0.5) on ResNet50"
    assert "<svg" in report.radar_svg()
    assert "<svg" in report.evolution_svg()
    assert "<svg" in report.income_costs_svg()


def test_report_uses_country_latest_year(cat):
    report = catalogue.analysis_report(create(cat), 1_000)
    assert report.intensity.g_per_kwh == 120.0
    assert report.intensity.year == 2023
    assert report.intensity.label == "Spain (ESP)"
    expected = 100 / 3.6e6 * 120.0 * 1_000
    assert report.main.result.emissions.baseline_g == pytest.approx(expected)


def test_report_keeps_stored_reduction_when_removed(cat):
    analysis = create(cat)
    db.session.delete(catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.time.id))
    db.session.flush()
    report = catalogue.analysis_report(analysis)
    time_row = [row for row in report.rows if row.metric is cat.time][0]
    assert time_row.reduction is None
    assert time_row.change.reduction == 0.20
    assert time_row.catalogue_removed
    assert report.has_catalogue_changes


def test_report_of_older_analysis_without_reduction(cat):
    analysis = create(cat)
    for value in analysis.values:
        value.expected_reduction = None
    db.session.delete(catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id))
    db.session.flush()
    report = catalogue.analysis_report(analysis)
    energy_row = [row for row in report.rows if row.metric is cat.energy][0]
    assert energy_row.change is None
    assert report.energy == []
    assert report.missing_reductions == [cat.energy]


def test_create_stores_expected_reductions(cat):
    analysis = create(cat)
    assert [value.expected_reduction for value in analysis.values] == [0.30, 0.20]


def test_catalogue_edit_keeps_saved_figures(cat):
    analysis = create(cat)
    before = catalogue.analysis_report(analysis).main.result
    catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id).value = 1.0
    db.session.flush()

    report = catalogue.analysis_report(analysis)
    after = report.main.result
    assert (after.reduction, after.break_even, after.roi) == (before.reduction, before.break_even, before.roi)
    energy_row = report.rows[0]
    assert energy_row.change.reduction == 0.30
    assert energy_row.catalogue_changed
    assert not report.rows[1].catalogue_changed


def test_older_analysis_follows_catalogue(cat):
    analysis = create(cat)
    analysis.values[0].expected_reduction = None
    catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id).value = 0.5
    db.session.flush()
    report = catalogue.analysis_report(analysis)
    assert report.main.result.reduction == 0.5
    assert not report.rows[0].catalogue_changed


def test_report_of_tiny_stored_baseline(cat):
    # Stored before the lower bound existed: the exact break-even point (about 6 × 10^310) is beyond
    # any float, yet the report, its series and its charts are computed.
    analysis = create(cat)
    analysis.values[0].baseline = 1e-300
    db.session.flush()
    report = catalogue.analysis_report(analysis)
    result = report.main.result
    assert result.break_even > 10**310
    assert result.breaks_even_beyond_workloads
    assert report.main.series[-1].inferences <= roi.MAX_SERIES_SPAN
    assert "<svg" in report.evolution_svg()
    assert "<svg" in report.income_costs_svg()


def test_baseline_bounds_of_energy_metric(cat):
    assert catalogue.baseline_bounds(cat.energy) == (1e-9, 2000.0)
    assert catalogue.baseline_bounds(cat.time) == (0.0, 1000.0)
    cat.energy.min_value, cat.energy.max_value = None, None
    assert catalogue.baseline_bounds(cat.energy) == (1e-9, 1e6)


def test_country_label_hides_owid_codes():
    assert catalogue.country_label("ESP", "Spain") == "Spain (ESP)"
    assert catalogue.country_label("OWID_KOS", "Kosovo") == "Kosovo"


def test_report_lists_alternatives(cat):
    first = create(cat)
    other = create(cat, option_id=cat.other_option.id)
    report = catalogue.analysis_report(first)
    assert report.alternatives == [(cat.other_option, [other])]
    assert report.has_illustrative is False
    assert catalogue.analysis_report(other).has_illustrative is True


def test_metric_row_direction(cat):
    analysis = create(cat)
    row = catalogue.analysis_report(analysis).rows[0]
    assert row.is_good
    cat.energy.higher_is_better = True
    assert not row.is_good


# ---------------------------------------------------------------- repositories and counters


def test_browse_auto_selects_single_choices(cat):
    analysis = create(cat)
    repository = catalogue.browse("calculation")
    assert repository.tactic is cat.tactic
    assert repository.architecture is cat.architecture
    assert repository.option is cat.option
    assert repository.analyses == [analysis]
    assert catalogue.browse("research").analyses == []


def test_browse_summarizes_each_analysis(cat):
    cheap = create(cat, values=cat.values(cost=10.0))
    costly = create(cat, values=cat.values(energy=200.0, cost=10_000.0))
    summaries = catalogue.browse("calculation").summaries
    assert summaries[cheap.id].value.implementation_cost_eur == 10.0
    assert summaries[cheap.id].result.break_even == 6_000_000
    assert summaries[costly.id].value.baseline == 200.0
    assert summaries[costly.id].result.break_even == 3_000_000_000


def test_browse_filters_by_option(cat):
    first = create(cat)
    second = create(cat, option_id=cat.other_option.id)
    repository = catalogue.browse("calculation", tactic_id=cat.tactic.id)
    assert repository.option is None
    assert set(repository.analyses) == {first, second}
    assert catalogue.browse("calculation", option_id=cat.other_option.id).analyses == [second]


def test_counts_and_stage_summaries(cat):
    before = catalogue.counts()
    create(cat)
    create(cat, kind="research", source_id=cat.source.id)
    after = catalogue.counts()
    assert after["analyses"] == before["analyses"] + 1
    assert after["research_analyses"] == before["research_analyses"] + 1
    assert set(after) == {"stages", "tactics", "research_analyses", "analyses"}
    summary = [s for s in catalogue.stage_summaries() if s.stage is cat.stage][0]
    assert (len(summary.tactics), summary.research_analyses, summary.calculation_analyses) == (1, 1, 1)
    assert summary.total_analyses == 2


# ---------------------------------------------------------------- demo seed


def test_seed_is_idempotent(app):
    first = roi_seed.seed_roi_catalogue()
    second = roi_seed.seed_roi_catalogue()
    assert first["roi_tactics"] == len(roi_seed.TACTICS)
    assert first["roi_reductions"] == len(roi_seed.REDUCTIONS)
    assert set(second.values()) == {0}


def test_seed_reductions_name_their_source(app):
    roi_seed.seed_roi_catalogue()
    reductions = db.session.scalars(select(ExpectedReduction)).all()
    assert reductions
    for reduction in reductions:
        assert reduction.note
        assert reduction.source is not None or reduction.is_illustrative
        if reduction.source is not None:
            assert reduction.source.url.startswith("https://")


def test_seed_every_option_is_usable(app):
    roi_seed.seed_roi_catalogue()
    for tactic in db.session.scalars(select(Tactic)).all():
        for architecture in tactic.architectures:
            assert catalogue.options_with_reductions(tactic, architecture), (tactic.name, architecture.name)


def test_seed_demo_analysis_can_be_created(app):
    roi_seed.seed_roi_catalogue()
    tactic = db.session.scalar(select(Tactic).where(Tactic.name == "Energy-aware pruning"))
    architecture = [a for a in tactic.architectures if a.name == "AlexNet"][0]
    values = [MetricInput(m.id, 1.0 if m.is_energy else 80.0, 0.25 if m.is_energy else None,
                          500.0 if m.is_energy else None) for m in tactic.metrics]
    analysis = catalogue.create_analysis(architecture.id, tactic.options[0].id, values)
    result = catalogue.analysis_report(analysis).main.result
    assert result.reduction == pytest.approx(1 - 1 / 3.7)
