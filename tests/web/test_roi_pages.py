"""ROI Analyzer pages and htmx fragments through the test client, with CSRF on."""

import re

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models.roi import RoiAnalysis
from gaissa.services import roi_catalogue
from tests.conftest import csrf_token
from tests.roi_support import make_catalogue

HTMX = {"HX-Request": "true"}


@pytest.fixture
def cat(app):
    return make_catalogue()


@pytest.fixture
def analysis(cat):
    created = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), "ESP")
    db.session.flush()
    return created


def form_data(client, cat, **changes):
    data = {
        "csrf_token": csrf_token(client),
        "stage": cat.stage.id, "tactic": cat.tactic.id, "architecture": cat.architecture.id, "option": cat.option.id,
        f"baseline-{cat.energy.id}": "100", f"price-{cat.energy.id}": "0.2", f"cost-{cat.energy.id}": "1000",
        f"baseline-{cat.time.id}": "50", "country": "ESP",
    }
    data.update(changes)
    return data


def analysis_total() -> int:
    return db.session.scalar(select(func.count()).select_from(RoiAnalysis))


# ---------------------------------------------------------------- home


def test_home_shows_counters_and_stages(client, cat):
    response = client.get("/roi/")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "pipeline stages" in body
    assert "Tactics by pipeline stage" in body
    assert "Test optimization" in body
    assert "Weight Pruning" in body
    assert "Getting started" in body


def test_site_home_shows_roi_counts(client, cat):
    body = client.get("/").get_data(as_text=True)
    assert "saved analyses" in body


# ---------------------------------------------------------------- calculator form


def test_form_page_lists_stages(client, cat):
    response = client.get("/roi/analyses/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in body
    assert "Test optimization" in body
    assert 'name="tactic"' not in body


def test_form_cascade_fragment(client, cat):
    response = client.get(f"/roi/analyses/new?stage={cat.stage.id}&tactic={cat.tactic.id}", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="analysis-form"' in body
    assert "Weight Pruning" in body
    assert 'name="architecture"' in body
    assert f'name="baseline-{cat.energy.id}"' in body
    assert "Energy price (€/kWh)" in body
    assert "HX-Request" in response.headers["Vary"]


def test_form_cascade_drops_incompatible_choice(client, cat):
    url = (f"/roi/analyses/new?stage={cat.stage.id}&tactic={cat.tactic.id}"
           f"&architecture={cat.other_architecture.id}&option={cat.option.id}")
    body = client.get(url, headers=HTMX).get_data(as_text=True)
    assert 'name="option"' not in body
    assert "disabled" in body


def test_form_keeps_typed_values(client, cat):
    url = f"/roi/analyses/new?stage={cat.stage.id}&tactic={cat.tactic.id}&baseline-{cat.time.id}=42.5"
    body = client.get(url, headers=HTMX).get_data(as_text=True)
    assert 'value="42.5"' in body


def test_form_lists_countries_with_data(client, cat):
    body = client.get(f"/roi/analyses/new?tactic={cat.tactic.id}").get_data(as_text=True)
    assert "Spain (ESP)" in body
    assert "World average (no country)" in body


def test_create_analysis_redirects(client, cat):
    before = analysis_total()
    response = client.post("/roi/analyses/new", data=form_data(client, cat))
    assert response.status_code == 303
    match = re.search(r"/roi/analyses/(\d+)$", response.headers["Location"])
    assert match
    assert analysis_total() == before + 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The analysis is saved" in page


def test_create_analysis_with_htmx(client, cat):
    data = form_data(client, cat)
    response = client.post("/roi/analyses/new", data=data, headers={**HTMX, "X-CSRFToken": data.pop("csrf_token")})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/roi/analyses/")


def test_create_analysis_rejects_out_of_range(client, cat):
    before = analysis_total()
    response = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"baseline-{cat.energy.id}": "5000"}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Energy Consumption must be at most 2,000 J; got 5,000 J." in body
    assert f'id="baseline-{cat.energy.id}-error"' in body
    assert 'value="5000"' in body
    assert analysis_total() == before


def test_create_analysis_error_fragment_for_htmx(client, cat):
    data = form_data(client, cat, **{f"price-{cat.energy.id}": "abc"})
    response = client.post("/roi/analyses/new", data=data, headers={**HTMX, "X-CSRFToken": data["csrf_token"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert "Enter a number; got &#39;abc&#39;." in body


def test_create_analysis_reports_missing_values(client, cat):
    data = form_data(client, cat)
    del data[f"baseline-{cat.time.id}"]
    del data[f"cost-{cat.energy.id}"]
    body = client.post("/roi/analyses/new", data=data).get_data(as_text=True)
    assert "Enter the baseline inference time in ms." in body
    assert "Enter the implementation cost in €" in body


def test_create_analysis_needs_csrf(client, cat):
    data = form_data(client, cat)
    del data["csrf_token"]
    response = client.post("/roi/analyses/new", data=data)
    assert response.status_code == 400


# ---------------------------------------------------------------- analysis page


def test_analysis_page(client, analysis):
    response = client.get(f"/roi/analyses/{analysis.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Weight Pruning (sparsity: 0.5) on ResNet50" in body
    assert "Model information" in body
    assert "Spain (ESP)" in body
    assert "Test Research Paper" in body
    assert body.count("<svg") >= 3
    assert "ROI for 100,000,000 inferences" in body
    assert "600,000,000 inferences or more" in body
    assert "120 g CO₂e/kWh (Spain (ESP), 2023)" in body
    assert "of gasoline" in body
    assert "8,887 g CO₂ per US gallon" in body
    assert 'type="range"' in body


def test_analysis_roi_fragment(client, analysis):
    response = client.get(f"/roi/analyses/{analysis.id}?inferences=5000000", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith("{#") is False
    assert 'id="roi-results-main"' in body
    assert "ROI for 5,000,000 inferences" in body
    assert "−97.28 %" in body or "-97.28 %" in body
    assert "report.pdf?inferences=5000000" in body
    assert "HX-Request" in response.headers["Vary"]


def test_analysis_fragment_for_comparison_slot(client, analysis):
    body = client.get(f"/roi/analyses/{analysis.id}?inferences=1000&slot=b", headers=HTMX).get_data(as_text=True)
    assert 'id="roi-results-b"' in body
    assert "Download PDF report" not in body


def test_analysis_rejects_bad_inferences(client, analysis):
    body = client.get(f"/roi/analyses/{analysis.id}?inferences=-3", headers=HTMX).get_data(as_text=True)
    assert "whole number of at least 1" in body
    assert "ROI for 100,000,000 inferences" in body


def test_analysis_not_found(client, cat):
    response = client.get("/roi/analyses/999999")
    assert response.status_code == 404
    assert "No ROI analysis with id 999999" in response.get_data(as_text=True)


def test_analysis_never_breaks_even(client, cat):
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id)
    reduction.value = -0.265
    analysis = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    body = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    assert "Never pays back." in body
    assert "world average" in body
    assert "Added" in body


def test_analysis_unbounded_roi(client, cat):
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id)
    reduction.value = 1.0
    analysis = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(cost=0.0), None)
    body = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    assert "unbounded (∞)" in body
    assert "from the first inference" in body


def test_analysis_switch_to_other_option(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)
    body = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    assert "Switch to another parameter" in body
    assert f"/roi/analyses/{other.id}" in body
    other_body = client.get(f"/roi/analyses/{other.id}").get_data(as_text=True)
    assert "illustrative" in other_body


def test_analysis_pdf(client, analysis):
    response = client.get(f"/roi/analyses/{analysis.id}/report.pdf?inferences=5000000")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f'filename="roi-analysis-{analysis.id}-resnet50-weight-pruning.pdf"' in response.headers["Content-Disposition"]


# ---------------------------------------------------------------- repositories and comparison


def test_saved_repository(client, analysis):
    response = client.get("/roi/saved")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in body
    assert f"/roi/analyses/{analysis.id}" in body
    assert "Tactic parameter" in body


def test_repository_fragment_filters(client, analysis, cat):
    response = client.get(f"/roi/saved?tactic={cat.tactic.id}&option={cat.other_option.id}", headers=HTMX)
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'id="repository"' in body
    assert f"/roi/analyses/{analysis.id}" in body


def test_research_repository(client, cat):
    research = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None,
                                             kind="research", source_id=cat.source.id)
    body = client.get("/roi/research").get_data(as_text=True)
    assert f"/roi/analyses/{research.id}" in body
    assert "Test Research Paper" in body
    page = client.get(f"/roi/analyses/{research.id}").get_data(as_text=True)
    assert "Research" in page
    assert "https://arxiv.org/abs/1234.5678" in page


def test_empty_research_repository(client, cat):
    body = client.get("/roi/research").get_data(as_text=True)
    assert "QA managers add research analyses" in body


def test_compare_page(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)
    response = client.get(f"/roi/compare?a={analysis.id}&b={other.id}&inferences=1000000")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Analysis A" in body
    assert "Analysis B" in body
    assert 'id="roi-results-a"' in body
    assert 'id="roi-results-b"' in body
    assert "ROI for 1,000,000 inferences" in body


def test_compare_page_without_choice(client, cat):
    body = client.get("/roi/compare").get_data(as_text=True)
    assert "How to compare" in body


def test_disabled_tool_is_hidden(client, cat):
    from gaissa.services import site

    site.get_settings().roi_enabled = False
    db.session.flush()
    assert client.get("/roi/").status_code == 404
