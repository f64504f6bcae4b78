"""In Chromium: a QA manager creates a metric with boundaries, changes another metric's boundaries, publishes the
new scheme version, and a stored evaluation keeps its old grade (in the database, the admin preview and the label page)."""

import uuid

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Evaluation, Metric, Role
from gaissa.services import accounts, evaluations, scheme_admin

pytestmark = pytest.mark.browser
PASSWORD = "browser test passphrase"


@pytest.fixture
def setup(live_server):
    """A QA manager and one stored inference evaluation (latency 30 ms) on the live server's database."""
    suffix = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        email = f"manager-{suffix}@example.org"
        accounts.create_user(email, PASSWORD, role=Role.QA_MANAGER)
        model = evaluations.create_model(f"Browser-test model {suffix}")
        evaluation = evaluations.create_evaluation(
            evaluations.EvaluationInput(phase="inference", model_id=model.id, values={"latency": "30"}))
        db.session.commit()
        stored = {"id": evaluation.id, "model_id": model.id, "grade": evaluation.overall_grade,
                  "scheme_id": evaluation.scheme_id, "version": evaluation.scheme.version}
        latency_id = db.session.scalar(select(Metric.id).where(Metric.key == "latency"))
        db.session.remove()
    return {"email": email, "suffix": suffix, "evaluation": stored, "latency_id": latency_id}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_publish_keeps_stored_grades(live_server, setup, page, tmp_path):
    base = live_server.url
    stored = setup["evaluation"]
    assert stored["grade"] == "B"  # 30 ms is within the B band (10 < v ≤ 50) of the default scale

    page.goto(f"{base}/admin/metrics?phase=inference")
    assert "/auth/login" in page.url
    page.fill("#email", setup["email"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Metrics')")

    # A new metric: the key is derived as the name is typed, and the scale preview follows the boundaries.
    page.click("text=New inference metric")
    page.wait_for_load_state("load")  # htmx is loaded with defer; typing earlier would send no preview request
    name = f"Tokens per joule {setup['suffix']}"
    page.fill("#name", name)
    page.wait_for_selector(f"#key-preview code:has-text('tokens_per_joule_{setup['suffix']}')")
    page.fill("#unit", "count")
    page.select_option("#direction", "higher_is_better")
    page.fill("#weight", "0.1")
    for field, value in zip(("#b1", "#b2", "#b3", "#b4"), ("1000", "100", "10", "1")):
        page.fill(field, value)
    page.wait_for_selector("#scale-preview .grade-E:has-text('< 1')")
    page.fill("#recommendations", "Batch requests.\nUse a smaller model.")
    page.screenshot(path=str(tmp_path / "metric-editor.png"), full_page=True)
    page.click("button:has-text('Create the metric')")
    page.wait_for_selector("text=Its weight and boundaries are in the inference draft")

    # Make 30 ms an A in the draft.
    page.goto(f"{base}/admin/metrics/{setup['latency_id']}")
    page.fill("#b1", "40")
    page.click("button:has-text('Save the metric')")
    page.wait_for_selector("text=in the draft scheme until you publish it")

    # The draft page lazy-loads the impact preview, which lists the stored evaluation.
    page.goto(f"{base}/admin/schemes?phase=inference")
    page.wait_for_selector(f"#scheme-impact tr:has-text('#{stored['id']},')")
    row = page.locator(f"#scheme-impact tr:has-text('#{stored['id']},')").inner_text()
    assert row.split("\t")[2].strip().startswith("B")  # stored grade
    assert row.split("\t")[-1].strip() == "A"  # under the draft
    page.fill("#summary", "Browser test: new metric and a stricter latency scale")
    page.click("button:has-text('Publish as')")
    page.wait_for_selector("text=Published the inference rating scheme")

    # In the database: a new version, and the stored evaluation untouched.
    with live_server.app.app_context():
        latest = scheme_admin.latest_published("inference")
        assert latest.version > stored["version"]
        assert any(entry.metric_name == name for entry in latest.entries)
        evaluation = db.session.get(Evaluation, stored["id"])
        assert evaluation.overall_grade == "B"
        assert evaluation.scheme_id == stored["scheme_id"]
        assert [value.grade for value in evaluation.values] == ["B"]
        regraded = scheme_admin.regrade_under(evaluation, latest).overall_letter
        new_label = latest.label
        db.session.remove()
    assert regraded == "A"

    # The admin preview shows both grades.
    page.goto(f"{base}/admin/moderation/models/{stored['model_id']}")
    row = page.locator(f"#evaluation-{stored['id']}").inner_text()
    assert "B" in row
    assert f"v{stored['version']}" in row
    assert f"under {new_label}" in row
    assert "A" in row

    # The public label page keeps the issued grade and shows the grade under the new version.
    page.goto(f"{base}/gaissalabel/models/{stored['model_id']}/inferences/{stored['id']}")
    overall = page.locator("p.overall").inner_text()
    assert "Overall grade B" in overall.replace("\n", " ")
    assert f"rating scheme v{stored['version']}" in overall
    note = " ".join(page.locator("p:has-text('Under the current scale')").inner_text().split())
    assert note.startswith(f"Under the current scale {new_label} this inference would be A.")
    page.screenshot(path=str(tmp_path / "label-page.png"), full_page=True)
