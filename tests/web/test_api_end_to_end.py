"""End to end over real HTTP on loopback, from the account page to the label formats.

The test signs in, creates an API token on the account page, and creates a model and a training through the
API with it. It then fetches the label as JSON, SVG and PDF and checks them against the public label page.
"""

import os
import re
import subprocess
import threading
import xml.etree.ElementTree as ET

import pytest
import requests
from werkzeug.serving import make_server

import config
from gaissa import create_app
from gaissa.extensions import db
from gaissa.services import accounts, seed

EMAIL = "scientist@example.org"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SECRET = re.compile(r'id="new-token-secret"[^>]*value="(gaissa_[A-Za-z0-9_\-]+)"')
OVERALL = re.compile(r'Overall grade <span class="grade-letter grade-([A-E])"')
METRIC_GRADE = re.compile(
    r'id="metric-(?P<key>[\w.-]+)".*?<div class="value">\s*<span class="grade-letter grade-(?P<grade>[A-E]|none)"', re.S)


@pytest.fixture
def live_server(tmp_path, monkeypatch):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the live server runs on its own SQLite file, so the suite's SQLite pass already covers it")
    """The app on a file database, served on 127.0.0.1 with an ephemeral port."""

    class LiveConfig(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'e2e.sqlite'}"
        PUBLIC_BASE_URL = ""

    monkeypatch.setitem(config.CONFIGS, "api-e2e", LiveConfig)
    app = create_app("api-e2e")
    with app.app_context():
        db.create_all()
        seed.seed_catalogue()
        accounts.create_user(EMAIL, PASSWORD)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def _token_from_account_page(base: str) -> str:
    browser = requests.Session()
    login_page = browser.get(f"{base}/auth/login", timeout=10).text
    signed_in = browser.post(f"{base}/auth/login", timeout=10, data={
        "email": EMAIL, "password": PASSWORD, "csrf_token": CSRF.search(login_page).group(1)})
    assert signed_in.ok
    tokens_page = browser.get(f"{base}/account/tokens", timeout=10).text
    created = browser.post(f"{base}/account/tokens", timeout=10, data={
        "name": "end-to-end test", "csrf_token": CSRF.search(tokens_page).group(1)})
    assert created.status_code == 201
    return SECRET.search(created.text).group(1)


def test_api_labels_match_the_label_page(live_server, tmp_path):
    secret = _token_from_account_page(live_server)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {secret}"

    model = api.post(f"{live_server}/api/v1/models", timeout=10, json={"name": "E2E ResNet", "author": "Lab"})
    assert model.status_code == 201
    training = api.post(model.json()["links"]["trainings"], timeout=10, json={
        "values": {"energy": 0.002, "co2_eq_emissions": "0.9 g", "duration": "30 min", "performance_score": 0.91},
        "info": {"hardware_used": "1 × RTX 4090"},
        "provenance": {"tool": "CodeCarbon", "tool_version": "2.4.1"},
    })
    assert training.status_code == 201, training.text
    evaluation = training.json()
    links = evaluation["links"]

    label = api.get(links["label_json"], timeout=10).json()
    svg = api.get(links["label_svg"], timeout=10)
    pdf = api.get(links["label_pdf"], timeout=30)
    page = requests.get(links["page"], timeout=10).text

    api_grades = {item["key"]: item["grade"] for item in evaluation["values"]}
    page_grades = {match["key"]: match["grade"] for match in METRIC_GRADE.finditer(page)}
    assert OVERALL.search(page).group(1) == evaluation["overall_grade"]
    assert label["overall_grade"] == evaluation["overall_grade"]
    assert {key: item["grade"] for key, item in label["metrics"].items()} == api_grades
    assert {key: grade for key, grade in page_grades.items() if key in api_grades} == api_grades
    assert {grade for key, grade in page_grades.items() if key not in api_grades} == {"none"}

    root = ET.fromstring(svg.content)
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert root.get("aria-label").endswith(f"grade {evaluation['overall_grade']}")
    graded = f"{evaluation['graded_count']} of {evaluation['scheme_metric_count']} metrics graded"
    assert graded in svg.text

    assert pdf.headers["Content-Type"] == "application/pdf"
    pdf_file = tmp_path / "label.pdf"
    pdf_file.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(pdf_file), "-"], capture_output=True, text=True, timeout=60).stdout
    assert "E2E ResNet" in text
    assert graded in text
    assert "Sent through the API (CodeCarbon)" in text
