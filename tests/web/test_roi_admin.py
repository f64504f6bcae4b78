"""ROI catalogue administration: access, validation rules, deletion protection and the audit log."""

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry
from gaissa.models.roi import ExpectedReduction, PipelineStage, RoiAnalysis, Tactic
from gaissa.services import roi_admin, roi_catalogue
from tests.conftest import csrf_token
from tests.roi_support import make_catalogue

HTMX = {"HX-Request": "true"}
ENTITIES = ["stages", "architectures", "sources", "metrics", "tactics", "options", "reductions", "analyses"]


@pytest.fixture
def cat(app):
    return make_catalogue()


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def audit_entries(entity: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)))


# ---------------------------------------------------------------- access


def test_admin_needs_login(client, cat):
    response = client.get("/admin/roi/")
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_admin_forbidden_for_users(client, auth, cat):
    auth.login(email="user@example.org", role="user")
    assert client.get("/admin/roi/").status_code == 403


def test_admin_index(manager, cat):
    body = manager.get("/admin/roi/").get_data(as_text=True)
    assert "ROI catalogue" in body
    assert "Expected reductions" in body


@pytest.mark.parametrize("entity", ENTITIES)
def test_admin_lists(manager, cat, entity):
    response = manager.get(f"/admin/roi/{entity}/")
    assert response.status_code == 200


@pytest.mark.parametrize("entity", ENTITIES[:-1])
def test_admin_new_forms(manager, cat, entity):
    response = manager.get(f"/admin/roi/{entity}/new")
    assert response.status_code == 200
    assert 'id="catalogue-form"' in response.get_data(as_text=True)


def test_admin_unknown_entity(manager, cat):
    assert manager.get("/admin/roi/widgets/").status_code == 404


# ---------------------------------------------------------------- create and edit


def test_create_stage_is_audited(manager, cat):
    response = post(manager, "/admin/roi/stages/new", name="Deployment", description="Serving tactics")
    assert response.status_code == 303
    stage = db.session.scalar(select(PipelineStage).where(PipelineStage.name == "Deployment"))
    assert stage is not None
    entry = audit_entries("roi_pipeline_stages")[-1]
    assert entry.action == "create"
    assert entry.after["name"] == "Deployment"
    assert entry.user_id is not None


def test_duplicate_stage_name_rejected(manager, cat):
    response = post(manager, "/admin/roi/stages/new", name="test OPTIMIZATION")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_edit_stage_records_before_and_after(manager, cat):
    response = post(manager, f"/admin/roi/stages/{cat.stage.id}/edit", name="Renamed stage", description="")
    assert response.status_code == 303
    entry = audit_entries("roi_pipeline_stages")[-1]
    assert (entry.action, entry.before["name"], entry.after["name"]) == ("update", "Test optimization", "Renamed stage")


def test_edit_form_shows_values(manager, cat):
    body = manager.get(f"/admin/roi/tactics/{cat.tactic.id}/edit").get_data(as_text=True)
    assert 'value="Weight Pruning"' in body
    assert "selected" in body


def test_tactic_needs_architectures_metrics_and_sources(manager, cat):
    response = post(manager, "/admin/roi/tactics/new", name="Quantization", stage=str(cat.stage.id))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at least one compatible model architecture" in body
    assert "at least one applicable metric" in body
    assert "at least one source" in body


def test_create_tactic(manager, cat):
    response = manager.post("/admin/roi/tactics/new", data={
        "csrf_token": csrf_token(manager), "name": "Quantization", "stage": str(cat.stage.id), "information": "",
        "sources": [str(cat.source.id)], "architectures": [str(cat.architecture.id), str(cat.other_architecture.id)],
        "metrics": [str(cat.energy.id)],
    })
    assert response.status_code == 303
    tactic = db.session.scalar(select(Tactic).where(Tactic.name == "Quantization"))
    assert {a.name for a in tactic.architectures} == {"ResNet50", "VGG16"}
    assert audit_entries("roi_tactics")[-1].after["architecture_ids"] == sorted(
        [cat.architecture.id, cat.other_architecture.id])


def test_energy_metric_must_be_in_joules(manager, cat):
    response = post(manager, "/admin/roi/metrics/new", name="Power", unit="W", is_energy="y")
    assert response.status_code == 422
    assert "set its unit to &#39;J&#39;" in response.get_data(as_text=True)


def test_metric_bounds_order(manager, cat):
    response = post(manager, "/admin/roi/metrics/new", name="Latency", unit="ms", min_value="10", max_value="5")
    assert "must not be below the minimum" in response.get_data(as_text=True)


def test_source_url_must_be_http(manager, cat):
    response = post(manager, "/admin/roi/sources/new", title="A paper", url="not-a-valid-url")
    assert response.status_code == 422
    assert "http" in response.get_data(as_text=True)


def test_duplicate_option_rejected(manager, cat):
    response = post(manager, "/admin/roi/options/new", tactic=str(cat.tactic.id), name="sparsity", value="0.5")
    assert response.status_code == 422
    assert "already has the parameter sparsity: 0.5" in response.get_data(as_text=True)


def reduction_form(cat, **changes):
    data = {"option": str(cat.option.id), "architecture": str(cat.architecture.id), "metric": str(cat.energy.id),
            "percent": "25", "source": "0", "note": ""}
    data.update(changes)
    return data


def test_duplicate_reduction_rejected(manager, cat):
    response = post(manager, "/admin/roi/reductions/new", **reduction_form(cat))
    assert response.status_code == 422
    assert "already exists; edit that one" in response.get_data(as_text=True)


def test_reduction_needs_compatible_architecture(manager, cat):
    response = post(manager, "/admin/roi/reductions/new", **reduction_form(cat, architecture=str(cat.other_architecture.id)))
    assert "is not compatible with the model architecture &#39;VGG16&#39;" in response.get_data(as_text=True)


def test_reduction_needs_applicable_metric(manager, cat):
    response = post(manager, "/admin/roi/reductions/new", **reduction_form(cat, metric=str(cat.accuracy.id)))
    assert "is not applicable for the tactic" in response.get_data(as_text=True)


def test_reduction_range(manager, cat):
    response = post(manager, "/admin/roi/reductions/new", **reduction_form(cat, percent="150"))
    assert "between -1000 % and 100 %" in response.get_data(as_text=True)


def test_reduction_without_source_is_illustrative(manager, cat):
    cat.tactic.metrics.append(cat.accuracy)
    db.session.flush()
    response = post(manager, "/admin/roi/reductions/new", **reduction_form(cat, metric=str(cat.accuracy.id), percent="-2"))
    assert response.status_code == 303
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.accuracy.id)
    assert reduction.value == pytest.approx(-0.02)
    assert reduction.is_illustrative
    assert reduction.source is None


def test_edit_reduction(manager, cat):
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id)
    body = manager.get(f"/admin/roi/reductions/{reduction.id}/edit").get_data(as_text=True)
    assert 'value="30' in body
    response = post(manager, f"/admin/roi/reductions/{reduction.id}/edit",
                    **reduction_form(cat, percent="35", source=str(cat.source.id), note="Table 2"))
    assert response.status_code == 303
    db.session.refresh(reduction)
    assert reduction.value == pytest.approx(0.35)
    assert not reduction.is_illustrative


def test_htmx_form_errors_come_back_as_fragment(manager, cat):
    token = csrf_token(manager)
    response = manager.post("/admin/roi/stages/new", data={"name": ""}, headers={**HTMX, "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert "Enter a name." in body


# ---------------------------------------------------------------- deleting


def test_delete_stage_with_tactics_refused(manager, cat):
    token = csrf_token(manager)
    response = manager.post(f"/admin/roi/stages/{cat.stage.id}/delete", headers={**HTMX, "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "has 1 tactic; move or delete them first" in body
    assert db.session.get(PipelineStage, cat.stage.id) is not None


def test_delete_option_used_by_analysis_refused(manager, cat):
    roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    response = post(manager, f"/admin/roi/options/{cat.option.id}/delete")
    assert response.status_code == 303
    assert "delete those analyses first" in manager.get("/admin/roi/options/").get_data(as_text=True)


def test_delete_reduction_used_by_analyses_refused(manager, cat):
    for _ in range(2):
        roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id)
    token = csrf_token(manager)
    response = manager.post(f"/admin/roi/reductions/{reduction.id}/delete", headers={**HTMX, "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("The expected reduction of Energy Consumption for Weight Pruning – sparsity: 0.5 on ResNet50 is used by "
            "2 analyses; delete those analyses first.") in body
    assert db.session.get(ExpectedReduction, reduction.id) is not None


def test_delete_unused_reduction(manager, cat):
    roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.other_option.id, cat.energy.id)
    response = post(manager, f"/admin/roi/reductions/{reduction.id}/delete")
    assert response.status_code == 303
    assert db.session.get(ExpectedReduction, reduction.id) is None


def test_used_reduction_keeps_its_key(manager, cat):
    roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    reduction = roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.time.id)
    cat.tactic.metrics.append(cat.accuracy)
    db.session.flush()
    moved = post(manager, f"/admin/roi/reductions/{reduction.id}/edit",
                 **reduction_form(cat, metric=str(cat.accuracy.id), percent="20"))
    assert moved.status_code == 422
    assert "is used by 1 analysis, so its parameter, architecture and metric cannot change" in moved.get_data(as_text=True)
    edited = post(manager, f"/admin/roi/reductions/{reduction.id}/edit",
                  **reduction_form(cat, metric=str(cat.time.id), percent="40"))
    assert edited.status_code == 303


def test_delete_option_removes_its_reductions(manager, cat):
    token = csrf_token(manager)
    response = manager.post(f"/admin/roi/options/{cat.other_option.id}/delete", headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    remaining = db.session.scalars(select(ExpectedReduction).where(ExpectedReduction.option_id == cat.other_option.id))
    assert list(remaining) == []
    assert audit_entries("roi_parameter_options")[-1].action == "delete"


def test_delete_analysis(manager, cat):
    analysis = roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    analysis_id = analysis.id
    response = post(manager, f"/admin/roi/analyses/{analysis_id}/delete")
    assert response.status_code == 303
    assert db.session.get(RoiAnalysis, analysis_id) is None
    assert audit_entries("roi_analyses")[-1].before["values"][0]["baseline"] == 100.0


def test_delete_needs_csrf(manager, cat):
    assert manager.post(f"/admin/roi/stages/{cat.stage.id}/delete").status_code == 400


# ---------------------------------------------------------------- research analyses


def test_research_form(manager, cat):
    body = manager.get(f"/admin/roi/research/new?tactic={cat.tactic.id}").get_data(as_text=True)
    assert "Paper or report the values are taken from" in body
    assert "Test Research Paper" in body


def test_create_research_analysis(manager, cat):
    data = {"stage": cat.stage.id, "tactic": cat.tactic.id, "architecture": cat.architecture.id,
            "option": cat.option.id, f"baseline-{cat.energy.id}": "400", f"price-{cat.energy.id}": "0.18",
            f"cost-{cat.energy.id}": "800", f"baseline-{cat.time.id}": "80", "country": ""}
    missing = post(manager, "/admin/roi/research/new", **data)
    assert missing.status_code == 422
    assert "must name the paper or report" in missing.get_data(as_text=True)

    response = post(manager, "/admin/roi/research/new", source=str(cat.source.id), **data)
    assert response.status_code == 303
    analysis = db.session.scalar(select(RoiAnalysis).where(RoiAnalysis.kind == "research"))
    assert analysis.source is cat.source
    assert audit_entries("roi_analyses")[-1].action == "create"


def test_save_functions_raise_catalogue_error(app, cat):
    with pytest.raises(roi_admin.CatalogueError) as caught:
        roi_admin.save_option({"tactic_id": None, "name": "", "value": ""})
    assert set(caught.value.errors) == {"tactic", "name", "value"}


def test_research_form_cascade_fragment(manager, cat):
    url = f"/admin/roi/research/new?stage={cat.stage.id}&tactic={cat.tactic.id}&architecture={cat.architecture.id}"
    response = manager.get(url, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'name="option"' in body
    assert 'name="source"' in body
    assert 'hx-get="/admin/roi/research/new"' in body


def test_research_form_refresh_saves_nothing(manager, cat):
    data = {"stage": str(cat.stage.id), "tactic": str(cat.tactic.id), "architecture": str(cat.architecture.id),
            "option": str(cat.option.id), f"baseline-{cat.energy.id}": "900", "refresh": "1"}
    response = post(manager, "/admin/roi/research/new", **data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was not saved" not in body
    assert 'value="900"' in body
    assert db.session.scalar(select(RoiAnalysis).where(RoiAnalysis.kind == "research")) is None
