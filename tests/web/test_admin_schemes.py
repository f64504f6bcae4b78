"""The rating-scheme screen: the draft, its differences and impact, publication, discarding, past versions."""

import re

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Evaluation, Metric, SchemeStatus
from gaissa.services import scheme_admin, schemes
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
    metric_form,
    post,
    store_evaluation,
)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def latency_form(**changes):
    form = metric_form(name="Latency", unit="ms", weight="0.2", b1="10", b2="50", b3="200", b4="1000")
    form.update(changes)
    return form


def latency_id() -> int:
    return db.session.scalar(select(Metric.id).where(Metric.key == "latency"))


def test_page_without_draft_explains_how_to_make_one(manager):
    response = manager.get("/admin/schemes?phase=inference")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No draft." in text
    assert "v1" in text
    assert "current" in text


def test_draft_fragment_for_htmx(manager):
    text = manager.get("/admin/schemes?phase=inference", headers=HTMX).get_data(as_text=True)
    assert "<html" not in text
    assert 'id="scheme-draft"' in text


def test_draft_shows_its_changes(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="5", weight="0.3"))
    post(manager, "/admin/metrics/new?phase=inference", metric_form())
    text = manager.get("/admin/schemes?phase=inference").get_data(as_text=True)
    assert "Changes from v1" in text
    assert "A/B boundary" in text
    assert '<span class="diff-old">10</span>' in text
    assert '<span class="diff-new">5</span>' in text
    assert '<span class="diff-old">0.2</span>' in text
    assert "Fine-tuning energy" in text
    assert "added" in text
    assert "Publish as v2" in text


def test_impact_lists_evaluations_that_would_change_grade(manager):
    fast = store_evaluation("inference", {"latency": "30"}, model_name="Fast model")  # B now
    slow = store_evaluation("inference", {"latency": "500"}, model_name="Slow model")  # D now
    store_evaluation("inference", {"latency": "30"}, model_name="Hidden model", hidden=True)
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))  # 30 ms becomes A

    response = manager.get("/admin/schemes/impact?phase=inference", headers=HTMX)
    text = response.get_data(as_text=True)
    assert "<html" not in text
    assert "<strong>1 of 2</strong> visible stored inference evaluations" in text
    assert "Fast model" in text
    assert "Slow model" not in text
    assert "Hidden model" not in text

    impact = scheme_admin.impact(scheme_admin.draft_of("inference"))
    assert [change.evaluation.id for change in impact.changes] == [fast.id]
    assert (impact.changes[0].current_grade, impact.changes[0].draft_grade) == ("B", "A")
    assert slow.overall_grade == "D"


def test_impact_page_without_htmx(manager):
    text = manager.get("/admin/schemes/impact?phase=training").get_data(as_text=True)
    assert "<html" in text
    assert "No training draft." in text


def test_publish_makes_a_numbered_immutable_version(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    response = post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Faster latency scale"})
    assert response.status_code == 303
    latest = scheme_admin.latest_published("inference")
    assert latest.version == 2
    assert latest.status == SchemeStatus.PUBLISHED
    assert latest.summary == "Faster latency scale"
    assert latest.author_id is not None
    assert latest.published_at is not None
    assert scheme_admin.draft_of("inference") is None
    assert schemes.current_scheme("inference").id == latest.id
    assert next(entry for entry in latest.entries if entry.metric_key == "latency").b1 == 40.0
    page = manager.get("/admin/schemes?phase=inference").get_data(as_text=True)
    assert "Faster latency scale" in page
    assert "manager@example.org" in page
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "publish"))
    assert audit.after["version"] == 2
    assert audit.before["status"] == "draft"


def test_publish_keeps_stored_grades(manager):
    evaluation = store_evaluation("inference", {"latency": "30", "energy_per_inference": "20"})
    stored = (evaluation.overall_grade, evaluation.scheme_id, [value.grade for value in evaluation.values])
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Faster latency scale"})

    db.session.expire_all()
    evaluation = db.session.get(Evaluation, evaluation.id)
    assert (evaluation.overall_grade, evaluation.scheme_id, [value.grade for value in evaluation.values]) == stored
    regraded = scheme_admin.regrade_under(evaluation, scheme_admin.latest_published("inference"))
    assert regraded.metrics["latency"].letter == "A"
    assert evaluation.values[0].grade in ("B", "C")

    page = manager.get(f"/admin/moderation/models/{evaluation.model_id}").get_data(as_text=True)
    assert "under v2" in page


def test_new_evaluations_use_the_new_version(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Faster latency scale"})
    evaluation = store_evaluation("inference", {"latency": "30"})
    assert evaluation.scheme.version == 2
    assert evaluation.overall_grade == "A"


def test_publish_needs_a_summary(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    response = post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "  "})
    assert response.status_code == 400
    assert "Describe the change" in response.get_data(as_text=True)
    assert scheme_admin.latest_published("inference").version == 1


def test_publish_without_draft_is_refused(manager):
    response = post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Nothing"})
    assert response.status_code == 400
    assert "There is no inference draft to publish" in response.get_data(as_text=True)


def test_unchanged_draft_cannot_be_published(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="5"))
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="10"))
    page = manager.get("/admin/schemes?phase=inference").get_data(as_text=True)

    response = post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Same again"})

    assert scheme_admin.draft_of("inference") is not None
    assert "No difference." in page
    assert "The draft is the same as v1, so publishing it would only copy v1." in page
    assert re.search(r"<button type=\"submit\" disabled>Publish as v2</button>", page)
    assert response.status_code == 400
    assert "Nothing was published. The draft is the same as v1" in response.get_data(as_text=True)
    assert scheme_admin.latest_published("inference").version == 1


def test_draft_with_all_weights_zero_cannot_be_published(manager):
    draft = scheme_admin.get_or_create_draft("inference")
    for entry in draft.entries:
        entry.weight = 0.0
    db.session.commit()
    page = manager.get("/admin/schemes?phase=inference").get_data(as_text=True)
    assert "At least one metric needs a weight above 0" in page
    response = post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "All zero"})
    assert response.status_code == 400
    assert scheme_admin.latest_published("inference").version == 1


def test_discard_removes_the_draft(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    response = post(manager, "/admin/schemes/discard", {"phase": "inference"})
    assert response.status_code == 303
    assert scheme_admin.draft_of("inference") is None
    assert scheme_admin.working_entry("inference", "latency").b1 == 10.0


def test_discard_by_htmx_redirects_with_header(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    response = post(manager, "/admin/schemes/discard", {"phase": "inference"}, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/admin/schemes?phase=inference"


def test_version_page_shows_entries_and_changes(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Faster latency scale"})
    latest = scheme_admin.latest_published("inference")
    text = manager.get(f"/admin/schemes/{latest.id}").get_data(as_text=True)
    assert "Inference rating scheme v2" in text
    assert "Changes from v1" in text
    assert '<span class="diff-old">10</span>' in text
    fragment = manager.get(f"/admin/schemes/{latest.id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    first = scheme_admin.previous_version(latest)
    assert "first version" in manager.get(f"/admin/schemes/{first.id}").get_data(as_text=True)


def test_metric_list_marks_drafted_metrics(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    text = manager.get("/admin/metrics?phase=inference").get_data(as_text=True)
    assert text.count("changed in draft") == 1
    assert "Review the impact and publish it" in text


def test_versions_are_numbered_per_phase(manager):
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="40"))
    post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "one"})
    post(manager, f"/admin/metrics/{latency_id()}", latency_form(b1="30"))
    post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "two"})
    assert [scheme.version for scheme in scheme_admin.versions("inference")] == [3, 2, 1]
    assert [scheme.version for scheme in scheme_admin.versions("training")] == [1]
