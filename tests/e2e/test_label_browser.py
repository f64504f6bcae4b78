"""In Chromium: upload the real CodeCarbon training file, choose a run, create the model inline,
save the evaluation, and download its PDF label."""

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
TRAINING_FILE = Path(__file__).resolve().parent.parent / "data" / "codecarbon" / "training-emissions.csv"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(live_server):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-background-networking"])
        context = browser.new_context(accept_downloads=True)
        yield context.new_page()
        context.close()
        browser.close()


def test_upload_save_and_download_pdf(live_server, page, tmp_path):
    page.goto(f"{live_server.url}/gaissalabel/training/upload")
    page.set_input_files("#files", str(TRAINING_FILE))
    assert page.locator("#file-rows .file-row span").first.inner_text() == "training-emissions.csv"
    page.select_option("select[name='tool-0']", label="CodeCarbon")
    page.click("text=Read the files")

    page.wait_for_selector("text=Runs found in your file")
    checkboxes = page.locator("input[name='runs-0']")
    assert checkboxes.count() == 3
    for index in range(3):
        checkboxes.nth(index).set_checked(index == 1)
    page.click("text=Review the values")

    page.wait_for_selector("text=Review the values read from your files")
    assert page.input_value("#value-energy") != ""
    # The run's project name has no model yet, so the form offers to create it, already filled in.
    assert page.input_value("#new-model-name") == "digits-random-forest"
    assert page.locator("details:has(#new-model-name)").get_attribute("open") is not None
    page.fill("#new-model-name", "digits-random-forest (browser test)")
    page.click("button:has-text('Create model')")
    page.wait_for_selector("text=Model created and selected.")
    assert page.locator("#model-options option:checked").inner_text().startswith("digits-random-forest (browser test)")

    page.click("button:has-text('Save and show the label')")
    page.wait_for_selector("text=Why these grades")
    assert "Energy label · training of digits-random-forest (browser test)" in page.inner_text("h1")
    assert page.locator("figure.label-figure svg").count() == 1
    page.screenshot(path=str(tmp_path / "label-page.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("text=Download PDF")
    pdf_path = tmp_path / "label.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        import subprocess

        text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
        assert "digits-random-forest" in text


def test_form_errors_appear_under_htmx(live_server, page):
    page.goto(f"{live_server.url}/gaissalabel/inference/new")
    page.fill("#value-energy_per_inference", "0.5")
    page.click("button:has-text('Save and show the label')")
    page.wait_for_selector("text=Select a model or create one.")
    assert page.locator("#value-energy_per_inference").input_value() == "0.5"
