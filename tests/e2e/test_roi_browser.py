"""The ROI Analyzer in headless Chromium: create an analysis, move the inference slider, download the PDF."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_analysis_slider_and_pdf(live_server, page, tmp_path):
    page.goto(f"{live_server.url}/roi/analyses/new")

    page.select_option("#stage", label="Model optimization")
    page.wait_for_selector("#tactic")
    page.select_option("#tactic", label="Energy-aware pruning")
    page.wait_for_selector("#architecture")
    page.select_option("#architecture", label="AlexNet")
    page.wait_for_selector("#option")
    page.select_option("#option", label="top-5 accuracy loss budget: 1 %")
    page.wait_for_selector("button:has-text('Calculate and save'):not([disabled])")

    page.get_by_label("Energy per inference (J)").fill("2.5")
    page.get_by_label("Accuracy (%)").fill("80")
    page.get_by_label("Energy price (€/kWh)").fill("0.25")
    page.get_by_label("Implementation cost (€)").fill("500")
    page.get_by_role("button", name="Calculate and save").click()

    page.wait_for_url(re.compile(r".*/roi/analyses/\d+$"))
    results = page.locator("#roi-results-main")
    assert "ROI for 100,000,000 inferences" in results.inner_text()
    table_before = page.locator(".roi-table").inner_text()

    # A marker on the window survives an htmx swap but not a page load.
    page.evaluate("window.__sameDocument = true")
    slider = page.locator("#inferences-range-main")
    slider.focus()
    slider.press("End")
    page.wait_for_function(
        "document.querySelector('#roi-results-main h2').textContent.includes('1,000,000,000')")

    assert page.evaluate("window.__sameDocument") is True
    assert page.input_value("#inferences-main") == "1000000000"
    assert page.locator(".roi-table").inner_text() != table_before
    assert "inferences=1000000000" in page.url

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF report").click()
    download = download_info.value
    assert re.fullmatch(r"roi-analysis-\d+-alexnet-energy-aware-pruning\.pdf", download.suggested_filename)
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
