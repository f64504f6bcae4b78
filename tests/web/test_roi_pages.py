"""ROI Analyzer pages and htmx fragments through the test client, with CSRF on."""

import re

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import CarbonIntensity, Country
from gaissa.models.roi import PipelineStage, RoiAnalysis
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
    assert "Enter a number such as 0.25, 1500 or 1e-3; got &#39;abc&#39;." in body


def test_create_analysis_reports_missing_values(client, cat):
    data = form_data(client, cat)
    del data[f"baseline-{cat.time.id}"]
    del data[f"cost-{cat.energy.id}"]
    body = client.post("/roi/analyses/new", data=data).get_data(as_text=True)
    assert "Enter the baseline inference time in ms." in body
    assert "Enter the implementation cost in €" in body


def test_create_rejects_tiny_baseline(client, cat):
    before = analysis_total()
    response = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"baseline-{cat.energy.id}": "1e-300"}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="baseline-{cat.energy.id}-error"' in body
    assert "Energy Consumption must be at least 1 × 10⁻⁹ J; got 1 × 10⁻³⁰⁰ J." in body
    assert analysis_total() == before


def test_energy_hint_and_validation_agree(client, cat):
    body = client.get(f"/roi/analyses/new?tactic={cat.tactic.id}").get_data(as_text=True)
    field = body[body.index(f'id="baseline-{cat.energy.id}"'):body.index(f'id="baseline-{cat.energy.id}-help"')]
    assert 'min="0"' not in field
    assert "Valid range: 1 × 10⁻⁹ to 2,000 J. Zero means not measured." in body

    response = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"baseline-{cat.energy.id}": "0"}))
    assert "must be at least 1 × 10⁻⁹ J; got 0 J." in response.get_data(as_text=True)
    smallest = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"baseline-{cat.energy.id}": "1e-9"}))
    assert smallest.status_code == 303


@pytest.mark.parametrize(("cost", "saved"), [("€10,000", 10_000.0), ("10 000", 10_000.0), ("1,234.50", 1234.5)])
def test_create_accepts_thousands_separators(client, cat, cost, saved):
    response = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"cost-{cat.energy.id}": cost}))
    assert response.status_code == 303
    analysis_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert db.session.get(RoiAnalysis, analysis_id).values[0].implementation_cost_eur == saved


@pytest.mark.parametrize(("price", "message"), [
    ("0,20", "Use a dot as the decimal separator: 0.20 instead of &#39;0,20&#39;."),
    ("1.000,5", "Use a dot as the decimal separator and commas only between thousands"),
])
def test_create_explains_separators(client, cat, price, message):
    response = client.post("/roi/analyses/new", data=form_data(client, cat, **{f"price-{cat.energy.id}": price}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    assert "fix the field marked below" in body


def test_form_keeps_values_across_stage_change(client, cat):
    other_stage = PipelineStage(name="Other stage")
    db.session.add(other_stage)
    db.session.flush()
    typed = {f"baseline-{cat.energy.id}": "123.5", f"price-{cat.energy.id}": "0.31", f"cost-{cat.energy.id}": "4,000"}

    away = client.get("/roi/analyses/new", query_string={"stage": other_stage.id, "tactic": cat.tactic.id, **typed},
                      headers=HTMX).get_data(as_text=True)
    assert f'name="baseline-{cat.energy.id}"' in away
    assert f'<input type="hidden" name="baseline-{cat.energy.id}" value="123.5">' in away
    assert f'<input type="hidden" name="cost-{cat.energy.id}" value="4,000">' in away

    back = client.get("/roi/analyses/new", query_string={"stage": cat.stage.id, "tactic": cat.tactic.id, **typed},
                      headers=HTMX).get_data(as_text=True)
    assert f'id="baseline-{cat.energy.id}" name="baseline-{cat.energy.id}" value="123.5"' in back
    assert f'id="price-{cat.energy.id}" name="price-{cat.energy.id}" value="0.31"' in back
    assert f'type="hidden" name="baseline-{cat.energy.id}"' not in back


def test_show_choices_button_posts(client, cat):
    body = client.get(f"/roi/analyses/new?stage={cat.stage.id}").get_data(as_text=True)
    assert 'formmethod="get"' not in body
    assert 'name="refresh"' in body

    before = analysis_total()
    data = form_data(client, cat, refresh="1")
    del data[f"cost-{cat.energy.id}"]
    response = client.post("/roi/analyses/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was not saved" not in body
    assert 'value="100"' in body
    assert analysis_total() == before


def test_country_list_hides_owid_codes(client, cat):
    kosovo = Country(code="OWID_KOS", name="Kosovo")
    kosovo.intensities = [CarbonIntensity(year=2023, g_per_kwh=900.0)]
    db.session.add(kosovo)
    db.session.flush()
    body = client.get(f"/roi/analyses/new?tactic={cat.tactic.id}").get_data(as_text=True)
    assert '<option value="OWID_KOS" >Kosovo</option>' in body
    assert "(OWID_KOS)" not in body


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


@pytest.mark.parametrize("text", ["0", "-5", "12.5", "abc"])
def test_htmx_bad_inferences_message_at_box(client, analysis, text):
    response = client.get(f"/roi/analyses/{analysis.id}", query_string={"inferences": text}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.headers["HX-Reswap"] == "none"
    assert response.headers["HX-Push-Url"] == "false"
    assert 'id="inferences-error-main"' in body
    assert 'hx-swap-oob="true"' in body
    assert "The number of inferences must be a whole number" in body
    assert 'id="roi-results-main"' not in body


def test_htmx_valid_inferences_clear_message(client, analysis):
    response = client.get(f"/roi/analyses/{analysis.id}?inferences=1,000,000", headers=HTMX)
    body = response.get_data(as_text=True)
    assert "HX-Reswap" not in response.headers
    assert "ROI for 1,000,000 inferences" in body
    assert re.search(r'<p id="inferences-error-main"[^>]*hx-swap-oob="true"></p>', body)


def test_page_bad_inferences_message_at_box(client, analysis):
    body = client.get(f"/roi/analyses/{analysis.id}?inferences=-3").get_data(as_text=True)
    box = body[body.index('class="inference-control"'):body.index('id="roi-results-main"')]
    assert "whole number of at least 1; got &#39;-3&#39;. Showing 100,000,000 inferences instead." in box
    assert 'aria-invalid="true"' in box
    assert "ROI for 100,000,000 inferences" in body


def test_inference_box_is_validated_by_server(client, analysis):
    body = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    form = body[body.index('<form class="inference-control"'):body.index("</form>", body.index('class="inference-control"'))]
    assert "novalidate" in form
    assert 'min="1"' not in form


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


def test_analysis_page_after_catalogue_edit(client, analysis, cat):
    before = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id).value = 0.5
    db.session.flush()
    after = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    assert "600,000,000 inferences or more" in before
    assert "600,000,000 inferences or more" in after
    assert "Saved with 30 %; the catalogue now gives 50 %." in after
    assert "The catalogue's expected reductions changed after this analysis was saved" in after


def test_analysis_with_removed_reduction_says_why(client, analysis, cat):
    for value in analysis.values:
        value.expected_reduction = None
    db.session.delete(roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id))
    db.session.flush()
    body = client.get(f"/roi/analyses/{analysis.id}").get_data(as_text=True)
    assert "No ROI for Energy Consumption:" in body
    assert "was removed" in body
    assert "No energy-related metric with an energy price" not in body


def test_tiny_stored_baseline_pages_work(client, analysis, cat):
    # Saved before the lower bound existed; the exact break-even point is about 6 × 10^310.
    analysis.values[0].baseline = 1e-300
    db.session.flush()
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)

    page = client.get(f"/roi/analyses/{analysis.id}")
    pdf = client.get(f"/roi/analyses/{analysis.id}/report.pdf")
    compare = client.get(f"/roi/compare?a={analysis.id}&b={other.id}")
    saved = client.get("/roi/saved")

    assert page.status_code == 200
    assert "Practically never pays back." in page.get_data(as_text=True)
    assert "× 10³¹⁰ inferences" in page.get_data(as_text=True)
    assert pdf.status_code == 200
    assert compare.status_code == 200
    assert saved.status_code == 200


def test_pdf_report_html(app, analysis, cat):
    from flask import render_template

    roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id).is_illustrative = True
    with app.test_request_context("/"):
        html = render_template("pdf/roi_report.html", report=roi_catalogue.analysis_report(analysis), now=None)
    assert "illustrative" in html
    assert "Hover" not in html
    assert "The note under each says how each was obtained." in html
    assert ".table-scroll { break-inside: avoid; }" in html
    assert "caption { break-after: avoid; }" in html


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


def test_saved_repository_rows_differ(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(energy=250, cost=10_000), "ESP")
    body = client.get("/roi/saved").get_data(as_text=True)
    rows = {match.group(1): match.group(0) for match in re.finditer(r'<tr>\s*<td><a href="/roi/analyses/(\d+)">.*?</tr>',
                                                                      body, re.DOTALL)}
    first, second = rows[str(analysis.id)], rows[str(other.id)]
    assert "100 J" in first
    assert "€1,000.00" in first
    assert "600,000,000 inferences" in first
    assert "250 J" in second
    assert "€10,000.00" in second
    assert "2,400,000,000 inferences" in second
    assert "0.2 €/kWh" in second
    assert "UTC" in first
    assert "Spain (ESP)" in first
    assert "2 analyses" in body
    assert "analysis(es)" not in body


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


def test_compare_columns_keep_own_inferences(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)
    url = f"/roi/compare?a={analysis.id}&b={other.id}&inferences_a=2000000&inferences_b=7000000"
    body = client.get(url).get_data(as_text=True)
    column_a = body[body.index('id="roi-results-a"'):body.index('id="roi-results-b"')]
    column_b = body[body.index('id="roi-results-b"'):]
    assert "ROI for 2,000,000 inferences" in column_a
    assert "ROI for 7,000,000 inferences" in column_b
    # Column B's plain form carries A's count, so submitting B without JavaScript leaves A as it is.
    assert 'id="b-carry-inferences_a" name="inferences_a" value="2000000"' in body
    assert 'id="a-carry-inferences_b" name="inferences_b" value="7000000"' in body
    assert 'name="inferences_b" value="7000000"' in body


def test_compare_htmx_updates_one_column(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)
    url = f"/roi/compare?a={analysis.id}&b={other.id}&inferences_a=2000000&inferences_b=7000000"
    response = client.get(url, headers={**HTMX, "HX-Target": "roi-results-b"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="roi-results-b"' in body
    assert 'id="roi-results-a"' not in body
    assert "ROI for 7,000,000 inferences" in body
    assert re.search(r'<input type="hidden" id="a-carry-inferences_b" name="inferences_b" value="7000000" '
                     r'hx-swap-oob="true">', body)
    assert 'id="picker-carry-inferences_b"' in body


def test_compare_shared_inferences_link(client, analysis, cat):
    other = roi_catalogue.create_analysis(cat.architecture.id, cat.other_option.id, cat.values(), None)
    body = client.get(f"/roi/compare?a={analysis.id}&b={other.id}&inferences=3000000").get_data(as_text=True)
    column_a = body[body.index('id="roi-results-a"'):body.index('id="roi-results-b"')]
    column_b = body[body.index('id="roi-results-b"'):]
    assert "<h2>ROI for 3,000,000 inferences</h2>" in column_a
    assert "<h2>ROI for 3,000,000 inferences</h2>" in column_b


def test_compare_page_without_choice(client, cat):
    body = client.get("/roi/compare").get_data(as_text=True)
    assert "How to compare" in body


def test_disabled_tool_is_hidden(client, cat):
    from gaissa.services import site

    site.get_settings().roi_enabled = False
    db.session.flush()
    assert client.get("/roi/").status_code == 404
