"""Moderation: search models, hide and show models and evaluations, delete spam with its values."""

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Evaluation, InfoValue, MetricValue, MLModel
from gaissa.services import evaluations, statistics
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
    post,
    store_evaluation,
)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def test_search_finds_models_by_name_author_and_state(manager):
    store_evaluation("training", {"energy": "1 kWh"}, model_name="Buy cheap watches")
    visible = store_evaluation("training", {"energy": "1 kWh"}, model_name="bert-base-uncased")
    visible.model.hidden = True
    db.session.commit()

    page = manager.get("/admin/moderation").get_data(as_text=True)
    assert "Buy cheap watches" in page
    assert "bert-base-uncased" in page

    fragment = manager.get("/admin/moderation?q=WATCH", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "Buy cheap watches" in fragment
    assert "bert-base-uncased" not in fragment
    assert "1 model." in fragment

    hidden_only = manager.get("/admin/moderation?state=hidden", headers=HTMX).get_data(as_text=True)
    assert "bert-base-uncased" in hidden_only
    assert "Buy cheap watches" not in hidden_only
    by_author = manager.get("/admin/moderation?q=tester", headers=HTMX).get_data(as_text=True)
    assert "2 models." in by_author


def test_search_pages(manager):
    for index in range(27):
        evaluations.create_model(f"Model {index:02d}")
    db.session.commit()
    first = manager.get("/admin/moderation?q=Model").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = manager.get("/admin/moderation?q=Model&page=2").get_data(as_text=True)
    assert "Model 00" in second
    assert "Model 26" not in second


def test_hide_model_by_htmx_returns_its_row(manager):
    evaluation = store_evaluation("training", {"energy": "1 kWh"}, model_name="Spam")
    counts_before = statistics.label_counts()
    response = post(manager, f"/admin/moderation/models/{evaluation.model_id}/hidden", {"hidden": "1"}, htmx=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<tr id="model-{evaluation.model_id}" class="state-hidden">')
    assert ">Show</button>" in text
    assert db.session.get(MLModel, evaluation.model_id).hidden is True
    counts_after = statistics.label_counts()
    assert counts_after.models == counts_before.models - 1
    assert counts_after.trainings == counts_before.trainings - 1
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "model"))
    assert (audit.action, audit.before["hidden"], audit.after["hidden"]) == ("hide", False, True)


def test_unhide_model_without_htmx_redirects(manager):
    evaluation = store_evaluation("training", {"energy": "1 kWh"}, model_name="Spam")
    evaluation.model.hidden = True
    db.session.commit()
    response = post(manager, f"/admin/moderation/models/{evaluation.model_id}/hidden", {"hidden": "0"})
    assert response.status_code == 303
    assert db.session.get(MLModel, evaluation.model_id).hidden is False


def test_model_page_lists_evaluations_with_grades(manager):
    evaluation = store_evaluation("inference", {"latency": "30"}, model_name="Served model")
    page = manager.get(f"/admin/moderation/models/{evaluation.model_id}").get_data(as_text=True)
    assert "Served model" in page
    assert f"#{evaluation.id}" in page
    assert 'grade-letter grade-B' in page
    assert "rated with the current version" in page
    fragment = manager.get(f"/admin/moderation/models/{evaluation.model_id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert fragment.lstrip().startswith(f'<tr id="evaluation-{evaluation.id}"')


def test_hide_evaluation_by_htmx(manager):
    evaluation = store_evaluation("inference", {"latency": "30"})
    response = post(manager, f"/admin/moderation/evaluations/{evaluation.id}/hidden", {"hidden": "1"}, htmx=True)
    assert response.get_data(as_text=True).lstrip().startswith(f'<tr id="evaluation-{evaluation.id}" class="state-hidden">')
    assert db.session.get(Evaluation, evaluation.id).hidden is True
    plain = post(manager, f"/admin/moderation/evaluations/{evaluation.id}/hidden", {"hidden": "0"})
    assert plain.status_code == 303
    assert db.session.get(Evaluation, evaluation.id).hidden is False


def test_delete_model_removes_evaluations_and_values(manager):
    model = evaluations.create_model("Spam with info")
    evaluations.create_evaluation(evaluations.EvaluationInput(
        phase="training", model_id=model.id, values={"energy": "1 kWh"}, info={"country": "ESP"}))
    evaluations.create_evaluation(evaluations.EvaluationInput(phase="training", model_id=model.id,
                                                              values={"energy": "2 kWh"}))
    keep = store_evaluation("training", {"energy": "1 kWh"}, model_name="Keep me")
    db.session.commit()
    model_id = model.id
    evaluation_ids = list(db.session.scalars(select(Evaluation.id).where(Evaluation.model_id == model_id)))

    warning = manager.get(f"/admin/moderation/models/{model_id}/delete").get_data(as_text=True)
    assert "2 evaluations</strong>" in warning
    assert "<html" not in manager.get(f"/admin/moderation/models/{model_id}/delete", headers=HTMX).get_data(as_text=True)

    response = post(manager, f"/admin/moderation/models/{model_id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/moderation"
    assert db.session.get(MLModel, model_id) is None
    assert db.session.scalar(select(func.count(Evaluation.id)).where(Evaluation.id.in_(evaluation_ids))) == 0
    assert db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.evaluation_id.in_(evaluation_ids))) == 0
    assert db.session.scalar(select(func.count(InfoValue.id)).where(InfoValue.evaluation_id.in_(evaluation_ids))) == 0
    assert db.session.get(Evaluation, keep.id) is not None
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "model", AuditEntry.action == "delete"))
    assert audit.before["name"] == "Spam with info"
    assert "2 evaluations" in audit.summary


def test_delete_one_evaluation(manager):
    evaluation = store_evaluation("inference", {"latency": "30", "accuracy": "0.9"})
    warning = manager.get(f"/admin/moderation/evaluations/{evaluation.id}/delete").get_data(as_text=True)
    assert "2 metric values</strong>" in warning
    evaluation_id, model_id = evaluation.id, evaluation.model_id
    response = post(manager, f"/admin/moderation/evaluations/{evaluation_id}/delete")
    assert response.headers["Location"] == f"/admin/moderation/models/{model_id}"
    assert db.session.get(Evaluation, evaluation_id) is None
    assert db.session.get(MLModel, model_id) is not None
    assert db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.evaluation_id == evaluation_id)) == 0


def test_missing_model_is_not_found(manager):
    assert manager.get("/admin/moderation/models/99999").status_code == 404
    assert post(manager, "/admin/moderation/evaluations/99999/hidden", {"hidden": "1"}).status_code == 404
