"""The ROI Analyzer in headless Chromium: create an analysis, move the inference slider, download the PDF."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PRUNING = ("Model optimization", "Energy-aware pruning", "AlexNet", "top-5 accuracy loss budget: 1 %")


def settle(page):
    """Wait until htmx has swapped and settled, so the new form's selects react to changes."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def choose(page, stage, tactic, architecture, option):
    # Each choice reloads the form through htmx; wait until the next list offers the wanted entry.
    settle(page)
    page.select_option("#stage", label=stage)
    for select, label in (("#tactic", tactic), ("#architecture", architecture), ("#option", option)):
        page.wait_for_selector(f"{select} option:text-is('{label}')", state="attached")
        settle(page)
        page.select_option(select, label=label)
    page.wait_for_selector("button:has-text('Calculate and save'):not([disabled])")


def create_analysis(page, base_url, cost="500") -> str:
    page.goto(f"{base_url}/roi/analyses/new")
    choose(page, *PRUNING)
    page.get_by_label("Energy per inference (J)").fill("2.5")
    page.get_by_label("Accuracy (%)").fill("80")
    page.get_by_label("Energy price (€/kWh)").fill("0.25")
    page.get_by_label("Implementation cost (€)").fill(cost)
    page.get_by_role("button", name="Calculate and save").click()
    page.wait_for_url(re.compile(r".*/roi/analyses/\d+$"))
    return page.url


def test_analysis_slider_and_pdf(live_server, page, tmp_path):
    create_analysis(page, live_server.url)
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


def test_inference_box_messages(live_server, page):
    create_analysis(page, live_server.url, cost="10,000")
    box = page.locator("#inferences-main")
    message = page.locator("#inferences-error-main")

    for text in ("0", "-5", "12.5"):
        box.fill(text)
        box.press("Enter")
        page.wait_for_function(
            "document.querySelector('#inferences-error-main').textContent.includes('whole number')")
        assert message.is_visible()
        assert "ROI for 100,000,000 inferences" in page.locator("#roi-results-main h2").inner_text()

    box.fill("5,000,000")
    box.press("Enter")
    page.wait_for_function(
        "document.querySelector('#roi-results-main h2').textContent.includes('5,000,000')")
    assert message.inner_text() == ""
    assert not message.is_visible()


def test_compare_keeps_each_column_in_url(live_server, page):
    first = create_analysis(page, live_server.url).rsplit("/", 1)[1]
    second = create_analysis(page, live_server.url, cost="900").rsplit("/", 1)[1]
    page.goto(f"{live_server.url}/roi/compare?a={first}&b={second}")

    page.locator("#inferences-b").fill("7000000")
    page.locator("#inferences-b").press("Enter")
    page.wait_for_function("document.querySelector('#roi-results-b h2').textContent.includes('7,000,000')")
    assert "inferences_b=7000000" in page.url
    assert "ROI for 100,000,000 inferences" in page.locator("#roi-results-a h2").inner_text()

    page.locator("#inferences-a").fill("2000000")
    page.locator("#inferences-a").press("Enter")
    page.wait_for_function("document.querySelector('#roi-results-a h2').textContent.includes('2,000,000')")
    assert "inferences_a=2000000" in page.url
    assert "inferences_b=7000000" in page.url

    page.reload()
    assert "2,000,000" in page.locator("#roi-results-a h2").inner_text()
    assert "7,000,000" in page.locator("#roi-results-b h2").inner_text()


def test_typed_values_survive_stage_change(live_server, page):
    page.goto(f"{live_server.url}/roi/analyses/new")
    choose(page, *PRUNING)
    page.get_by_label("Energy per inference (J)").fill("3.5")
    page.get_by_label("Energy price (€/kWh)").fill("0.3")

    page.select_option("#stage", label="Data-centric")
    page.wait_for_function("!document.querySelector('#architecture')")
    choose(page, *PRUNING)
    assert page.get_by_label("Energy per inference (J)").input_value() == "3.5"
    assert page.get_by_label("Energy price (€/kWh)").input_value() == "0.3"
