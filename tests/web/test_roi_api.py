"""ROI analyses through the JSON API: validation before any write, and figures that stay computable."""

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models.roi import RoiAnalysis
from gaissa.services import roi_catalogue
from tests.roi_support import make_catalogue


def analysis_total() -> int:
    return db.session.scalar(select(func.count()).select_from(RoiAnalysis))


def payload(catalogue, baseline: float) -> dict:
    return {
        "architecture_id": catalogue.architecture.id, "option_id": catalogue.option.id,
        "values": [
            {"metric_id": catalogue.energy.id, "baseline": baseline, "energy_price": 0.2, "implementation_cost": 1000.0},
            {"metric_id": catalogue.time.id, "baseline": 50.0},
        ],
    }


def test_api_tiny_baseline_writes_nothing(client, app):
    catalogue = make_catalogue()
    db.session.commit()
    before = analysis_total()

    response = client.post("/api/v1/roi/analyses", json=payload(catalogue, 1e-300))

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["field"] == f"baseline-{catalogue.energy.id}"
    assert "must be at least 1 × 10⁻⁹ J; got 1 × 10⁻³⁰⁰ J" in problem["detail"]
    assert analysis_total() == before


def test_api_stores_expected_reduction(client, app):
    catalogue = make_catalogue()
    db.session.commit()

    response = client.post("/api/v1/roi/analyses", json=payload(catalogue, 100.0))
    assert response.status_code == 201
    created = db.session.get(RoiAnalysis, response.get_json()["id"])
    assert [value.expected_reduction for value in created.values] == [0.3, 0.2]

    roi_catalogue.reduction_for(catalogue.architecture.id, catalogue.option.id, catalogue.energy.id).value = 0.9
    db.session.commit()
    read = client.get(response.headers["Location"]).get_json()
    assert read["metrics"][0]["expected_reduction"] == 0.3
    assert read["energy"][0]["break_even_inferences"] == 600_000_000


def test_api_reads_tiny_stored_baseline(client, app):
    catalogue = make_catalogue()
    analysis = roi_catalogue.create_analysis(catalogue.architecture.id, catalogue.option.id, catalogue.values(), None)
    analysis.values[0].baseline = 1e-300
    db.session.commit()

    response = client.get(f"/api/v1/roi/analyses/{analysis.id}")

    assert response.status_code == 200
    energy = response.get_json()["energy"][0]
    assert energy["break_even_inferences"] > 10**310
    assert energy["series"][-1]["inferences"] == 4 * 10**16
