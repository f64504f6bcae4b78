"""ROI analyses: create one from baseline values, read it with every computed figure for N inferences."""

import math

from flask import url_for

from gaissa.api import schemas
from gaissa.api.blueprint import api
from gaissa.api.errors import invalid_input
from gaissa.api.responses import created, not_found
from gaissa.extensions import db
from gaissa.services import roi as calculator
from gaissa.services import roi_catalogue

ROI = {"tag": "ROI analyses", "tool": "roi"}


@api.operation("POST", "/roi/analyses", summary="Create an ROI analysis", body=schemas.RoiAnalysisCreate,
               response=schemas.RoiAnalysisOut, status=201, **ROI)
def create_analysis(body: schemas.RoiAnalysisCreate):
    """Store baseline values for a tactic option on an architecture; the figures are for 10^8 inferences.

    Energy metrics need the energy price (€/kWh) and the implementation cost (€).
    """
    values = [roi_catalogue.MetricInput(item.metric_id, item.baseline, item.energy_price, item.implementation_cost)
              for item in body.values]
    try:
        analysis = roi_catalogue.create_analysis(body.architecture_id, body.option_id, values, body.country_code)
    except roi_catalogue.AnalysisInputError as exc:
        raise invalid_input(exc.errors) from None

    # Build the whole response before committing, so a failure on the way writes nothing.
    body = analysis_out(roi_catalogue.analysis_report(analysis))
    db.session.commit()
    return created(body, url_for("api.get_analysis", analysis_id=analysis.id, _external=True))


@api.operation("GET", "/roi/analyses/<int:analysis_id>", summary="Read an ROI analysis", query=schemas.RoiQuery,
               response=schemas.RoiAnalysisOut, **ROI)
def get_analysis(analysis_id: int, query: schemas.RoiQuery):
    """Return every computed figure of the analysis (costs, ROI, break-even, CO2, ROI series) for `inferences` inferences."""
    analysis = roi_catalogue.get_analysis(analysis_id)
    if analysis is None:
        raise not_found(f"No ROI analysis with id {analysis_id}.", field="analysis_id")
    report = roi_catalogue.analysis_report(analysis, query.inferences or calculator.DEFAULT_INFERENCES)
    return analysis_out(report)


def analysis_out(report: roi_catalogue.AnalysisReport) -> schemas.RoiAnalysisOut:
    analysis = report.analysis
    rows = [
        schemas.RoiMetricRowOut(
            metric_id=row.metric.id, name=row.metric.name, unit=row.metric.unit or "", baseline=row.value.baseline,
            expected_reduction=row.change.reduction if row.change else None,
            new_value=_finite(row.change.new_value) if row.change else None,
            illustrative=bool(row.reduction and row.reduction.is_illustrative),
        )
        for row in report.rows
    ]
    return schemas.RoiAnalysisOut(
        id=analysis.id, kind=analysis.kind, title=report.title, architecture=analysis.architecture.name,
        tactic=report.tactic.name, option=analysis.option.label, country_code=analysis.country_code,
        created_at=analysis.created_at, inferences=report.inferences,
        carbon_intensity=schemas.CarbonIntensityOut(
            g_per_kwh=report.intensity.g_per_kwh, year=report.intensity.year, label=report.intensity.label,
            is_world_average=report.intensity.is_world_average,
        ),
        metrics=rows, energy=[_energy_out(block) for block in report.energy],
        links={"self": url_for("api.get_analysis", analysis_id=analysis.id, _external=True),
               "page": url_for("roi.analysis", analysis_id=analysis.id, _external=True)},
    )


def _energy_out(block: roi_catalogue.EnergyBlock) -> schemas.RoiEnergyOut:
    result = block.result
    return schemas.RoiEnergyOut(
        metric_id=block.metric.id, name=block.metric.name, reduction=result.reduction,
        energy_price_eur_per_kwh=result.energy_price, implementation_cost_eur=result.implementation_cost,
        inferences=result.inferences,
        baseline_cost_per_inference_eur=_finite(result.baseline_cost_per_inference),
        new_cost_per_inference_eur=_finite(result.new_cost_per_inference),
        total_baseline_cost_eur=_finite(result.total_baseline_cost), total_new_cost_eur=_finite(result.total_new_cost),
        savings_eur=_finite(result.total_savings),
        roi=_finite(result.roi), roi_unbounded=_unbounded(result.roi),
        infinite_horizon_roi=_finite(result.infinite_roi), infinite_horizon_roi_unbounded=_unbounded(result.infinite_roi),
        break_even_inferences=result.break_even,
        emissions_baseline_g=_finite(result.emissions.baseline_g), emissions_new_g=_finite(result.emissions.new_g),
        emissions_saved_g=_finite(result.emissions.saved_g),
        series=[schemas.RoiPointOut(inferences=point.inferences, roi=_finite(point.roi), unbounded=_unbounded(point.roi))
                for point in block.series],
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _unbounded(value: float | None) -> bool:
    return value is not None and math.isinf(value) and value > 0
