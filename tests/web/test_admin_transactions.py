"""Multi-row admin writes are one transaction: a failure half-way leaves nothing written."""

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, CalculationTool, Metric, MetricValue, RatingScheme, SchemeStatus, ToolMapping
from gaissa.services import audit, metric_admin, scheme_admin, tool_admin
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    fast_password_hashing,
    metric_form,
    post,
    store_evaluation,
)


class InjectedFailure(RuntimeError):
    pass


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def fail_after(monkeypatch, module, name):
    """Make module.name run and flush, then raise, as a crash after the first rows reached the database."""
    original = getattr(module, name)

    def failing(*args, **kwargs):
        original(*args, **kwargs)
        db.session.flush()
        raise InjectedFailure(f"{name} failed on purpose")

    monkeypatch.setattr(module, name, failing)


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)))


def assert_server_error(response):
    assert response.status_code == 500
    assert "Nothing was saved" in response.get_data(as_text=True)


def test_metric_creation_with_boundaries_is_atomic(manager, monkeypatch):
    audits = audit_count()
    fail_after(monkeypatch, scheme_admin, "set_entry")
    assert_server_error(post(manager, "/admin/metrics/new?phase=inference", metric_form()))
    assert db.session.scalar(select(Metric).where(Metric.key == "fine_tuning_energy")) is None
    assert scheme_admin.draft_of("inference") is None
    assert audit_count() == audits


def test_metric_update_with_boundaries_is_atomic(manager, monkeypatch):
    latency = db.session.scalar(select(Metric).where(Metric.key == "latency"))
    fail_after(monkeypatch, audit, "record")
    form = metric_form(name="Response time", unit="ms", weight="0.9", b1="1", b2="2", b3="3", b4="4")
    assert_server_error(post(manager, f"/admin/metrics/{latency.id}", form))
    db.session.expire_all()
    assert db.session.get(Metric, latency.id).name == "Latency"
    assert scheme_admin.draft_of("inference") is None
    assert scheme_admin.working_entry("inference", "latency").weight == 0.2


def test_metric_deletion_is_atomic(manager, monkeypatch):
    store_evaluation("inference", {"latency": "30"})
    latency_id = db.session.scalar(select(Metric.id).where(Metric.key == "latency"))
    fail_after(monkeypatch, audit, "record")
    assert_server_error(post(manager, f"/admin/metrics/{latency_id}/delete"))
    db.session.expire_all()
    assert db.session.get(Metric, latency_id) is not None
    assert db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.metric_id == latency_id)) == 1
    assert db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.metric_id == latency_id)) == 1
    assert scheme_admin.draft_of("inference") is None


def test_tool_creation_with_mappings_is_atomic(manager, monkeypatch):
    energy = db.session.scalar(select(Metric.id).where(Metric.key == "energy"))
    fail_after(monkeypatch, tool_admin, "_apply_mappings")
    response = post(manager, "/admin/calculation-tools/new",
                    {"name": "Zeus", "file_format": "tabular", f"m-{energy}-column": "total_energy"})
    assert_server_error(response)
    assert db.session.scalar(select(CalculationTool).where(CalculationTool.name == "Zeus")) is None
    assert db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.column == "total_energy")) == 0


def test_tool_update_with_mappings_is_atomic(manager, monkeypatch):
    codecarbon = db.session.scalar(select(CalculationTool).where(CalculationTool.name == "CodeCarbon"))
    before = sorted((m.column, m.column_unit) for m in codecarbon.mappings)
    energy = db.session.scalar(select(Metric.id).where(Metric.key == "energy"))
    fail_after(monkeypatch, tool_admin, "_apply_mappings")
    response = post(manager, f"/admin/calculation-tools/{codecarbon.id}", {
        "name": "CodeCarbon 3", "file_format": "codecarbon", f"m-{energy}-column": "", f"m-{energy}-unit": ""})
    assert_server_error(response)
    db.session.expire_all()
    codecarbon = db.session.get(CalculationTool, codecarbon.id)
    assert codecarbon.name == "CodeCarbon"
    assert sorted((m.column, m.column_unit) for m in codecarbon.mappings) == before


def test_scheme_publication_is_atomic(manager, monkeypatch):
    latency = db.session.scalar(select(Metric).where(Metric.key == "latency"))
    form = metric_form(name="Latency", unit="ms", weight="0.2", b1="40", b2="50", b3="200", b4="1000")
    post(manager, f"/admin/metrics/{latency.id}", form)
    draft_id = scheme_admin.draft_of("inference").id
    fail_after(monkeypatch, audit, "record")
    assert_server_error(post(manager, "/admin/schemes/publish", {"phase": "inference", "summary": "Will fail"}))
    db.session.expire_all()
    draft = db.session.get(RatingScheme, draft_id)
    assert draft.status == SchemeStatus.DRAFT
    assert draft.version is None
    assert scheme_admin.latest_published("inference").version == 1


def test_model_deletion_is_atomic(manager, monkeypatch):
    evaluation = store_evaluation("training", {"energy": "1 kWh"})
    fail_after(monkeypatch, audit, "record")
    assert_server_error(post(manager, f"/admin/moderation/models/{evaluation.model_id}/delete"))
    db.session.expire_all()
    assert db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.evaluation_id == evaluation.id)) == 1


def test_service_leaves_the_commit_to_the_caller(app):
    """Services only flush; a caller that rolls back undoes the metric, its draft entry and its audit entry."""
    audits = audit_count()
    metric_admin.create_metric("inference", metric_admin.MetricInput(**{
        key: value for key, value in metric_form().items() if key in metric_admin.MetricInput.__dataclass_fields__}))
    db.session.rollback()
    assert db.session.scalar(select(Metric).where(Metric.key == "fine_tuning_energy")) is None
    assert scheme_admin.draft_of("inference") is None
    assert audit_count() == audits
