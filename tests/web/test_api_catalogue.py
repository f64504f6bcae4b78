"""The catalogue through the API: reads for everyone, writes for QA managers' tokens, audited."""

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Evaluation
from gaissa.services import accounts
from tests.web.test_api import add_evaluation, add_model, bearer, make_token

MANAGER = "catalogue-manager@example.org"


@pytest.fixture
def manager(client):
    return bearer(make_token(MANAGER, role="qa_manager"))


def _metric_payload(**changes):
    payload = {"phase": "inference", "name": "Peak memory", "unit": "GB", "direction": "lower_is_better",
               "weight": 0.2, "boundaries": [1, 4, 16, 64], "description": "Resident memory at peak.",
               "recommendations": ["Quantize the weights.", "Use smaller batches."]}
    payload.update(changes)
    return payload


def test_grades_a_to_e(client):
    items = client.get("/api/v1/grades").get_json()["items"]

    assert [item["letter"] for item in items] == ["A", "B", "C", "D", "E"]
    assert items[0]["colour"].startswith("#")


def test_metrics_with_published_ratings(client):
    items = client.get("/api/v1/metrics?phase=training").get_json()["items"]
    energy = next(item for item in items if item["key"] == "energy")

    assert {item["phase"] for item in items} == {"training"}
    assert energy["unit"] == "kWh"
    assert energy["published"]["weight"] == 0.35
    assert len(energy["published"]["boundaries"]) == 4
    assert energy["draft"] is None


def test_create_metric_goes_to_the_draft(client, manager):
    response = client.post("/api/v1/metrics", json=_metric_payload(), headers=manager)
    body = response.get_json()

    assert response.status_code == 201
    assert body["key"] == "peak_memory"
    assert body["published"] is None
    assert body["draft"] == {"weight": 0.2, "boundaries": [1.0, 4.0, 16.0, 64.0]}
    assert response.headers["Location"].endswith("/api/v1/metrics/peak_memory")
    assert client.get("/api/v1/metrics/peak_memory").get_json()["draft"] is None


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "Energy", "phase": "training"}, "name"),
    ({"unit": "bananas"}, "unit"),
    ({"unit": "("}, "unit"),
    ({"boundaries": [1, 4, 3, 64]}, "boundaries.2"),
    ({"boundaries": [1, 2, 3]}, "boundaries"),
    ({"weight": -1}, "weight"),
    ({"direction": "sideways"}, "direction"),
])
def test_create_metric_rejects(client, manager, changes, field):
    response = client.post("/api/v1/metrics", json=_metric_payload(**changes), headers=manager)

    assert response.status_code == 422
    assert field in response.get_json()["errors"], response.get_json()


def test_patch_weight_then_publish_new_version(client, manager):
    model = add_model("Scheme model")
    before = add_evaluation(model, "inference", {"latency": 30})

    patched = client.patch("/api/v1/metrics/latency", json={"weight": 0.9, "boundaries": [5, 10, 20, 40]},
                           headers=manager)
    draft = client.get("/api/v1/schemes/inference/draft", headers=manager)
    published = client.post("/api/v1/schemes/inference/draft/publish", json={"summary": "Stricter latency"},
                            headers=manager)
    versions = client.get("/api/v1/schemes/inference").get_json()["items"]
    after = client.post(f"/api/v1/models/{model.id}/inferences", json={"values": {"latency": 30}}).get_json()

    assert patched.status_code == 200
    assert patched.get_json()["draft"] == {"weight": 0.9, "boundaries": [5.0, 10.0, 20.0, 40.0]}
    assert draft.status_code == 200
    assert published.status_code == 201
    assert published.get_json()["version"] == 2
    assert [item["version"] for item in versions] == [2, 1]
    assert after["scheme_version"] == 2
    assert after["values"][0]["grade"] == "D"
    db.session.expire_all()
    assert db.session.get(Evaluation, before.id).scheme.version == 1
    assert client.get(f"/api/v1/models/{model.id}/inferences/{before.id}").get_json()["values"][0]["grade"] == "B"


def test_patch_keeps_fields_not_given(client, manager):
    response = client.patch("/api/v1/metrics/latency", json={"description": "Time to first byte."}, headers=manager)
    body = response.get_json()

    assert response.status_code == 200
    assert body["description"] == "Time to first byte."
    assert body["name"] == "Latency"
    assert body["unit"] == "ms"
    assert body["draft"] is None


def test_publish_without_draft_is_422(client, manager):
    response = client.post("/api/v1/schemes/training/draft/publish", json={"summary": "Nothing"}, headers=manager)

    assert response.status_code == 422
    assert "no training draft" in response.get_json()["detail"]


def test_discard_draft(client, manager):
    client.patch("/api/v1/metrics/latency", json={"weight": 0.5}, headers=manager)

    assert client.delete("/api/v1/schemes/inference/draft", headers=manager).status_code == 200
    assert client.get("/api/v1/schemes/inference/draft", headers=manager).status_code == 404


def test_unknown_phase_and_version_are_404(client):
    assert client.get("/api/v1/schemes/deployment").status_code == 404
    assert client.get("/api/v1/schemes/training/99").status_code == 404
    assert client.get("/api/v1/schemes/training/1").get_json()["status"] == "published"


def test_delete_metric_reports_removed_values(client, manager):
    model = add_model("Deletion model")
    add_evaluation(model, "training", {"energy": 3, "downloads": 12})

    response = client.delete("/api/v1/metrics/downloads", headers=manager)

    assert response.status_code == 200
    assert response.get_json()["removed_values"] >= 1
    assert client.get("/api/v1/metrics/downloads").status_code == 404


def test_info_field_create_update_delete(client, manager):
    created = client.post("/api/v1/info-fields", json={"phase": "inference", "name": "Container image",
                                                       "options": ["ONNX Runtime", "TensorRT"]}, headers=manager)
    updated = client.patch("/api/v1/info-fields/inference/container_image", json={"options": []}, headers=manager)
    listed = client.get("/api/v1/info-fields?phase=inference").get_json()["items"]
    deleted = client.delete("/api/v1/info-fields/inference/container_image", headers=manager)

    assert created.status_code == 201
    assert created.get_json()["options"] == ["ONNX Runtime", "TensorRT"]
    assert updated.get_json()["options"] is None
    assert "container_image" in [item["key"] for item in listed]
    assert deleted.status_code == 200
    assert client.patch("/api/v1/info-fields/inference/container_image", json={}, headers=manager).status_code == 404


def test_tool_create_replace_delete(client, manager):
    payload = {"name": "My profiler", "file_format": "tabular", "mappings": [
        {"column": "energy_wh", "metric": "energy_per_inference", "column_unit": "Wh"},
        {"column": "lat", "metric": "latency", "column_unit": "s"},
        {"column": "gpu", "info_field": "inference.hardware_used"},
    ]}

    created = client.post("/api/v1/tools", json=payload, headers=manager)
    tool_id = created.get_json()["id"]
    payload["mappings"] = payload["mappings"][:1]
    replaced = client.put(f"/api/v1/tools/{tool_id}", json=payload, headers=manager)
    deleted = client.delete(f"/api/v1/tools/{tool_id}", headers=manager)

    assert created.status_code == 201
    assert {(m["column"], m["metric"], m["info_field"]) for m in created.get_json()["mappings"]} == {
        ("energy_wh", "energy_per_inference", None), ("lat", "latency", None), ("gpu", None, "inference.hardware_used")}
    assert [m["column"] for m in replaced.get_json()["mappings"]] == ["energy_wh"]
    assert deleted.get_json()["removed_mappings"] == 1
    assert client.get(f"/api/v1/tools/{tool_id}").status_code == 404


@pytest.mark.parametrize(("mapping", "field"), [
    ({"column": "x", "metric": "no_such_metric"}, "mappings.0.metric"),
    ({"column": "x", "info_field": "training.nothing"}, "mappings.0.info_field"),
    ({"column": "x"}, "mappings.0"),
    ({"column": "x", "metric": "latency", "column_unit": "kWh"}, "mappings.0.column_unit"),
])
def test_tool_mapping_errors_name_the_mapping(client, manager, mapping, field):
    response = client.post("/api/v1/tools", json={"name": "Broken tool", "file_format": "tabular",
                                                  "mappings": [mapping]}, headers=manager)

    assert response.status_code == 422
    assert field in response.get_json()["errors"], response.get_json()


def test_duplicate_tool_name_is_422(client, manager):
    response = client.post("/api/v1/tools", json={"name": "codecarbon", "file_format": "codecarbon"}, headers=manager)

    assert response.status_code == 422
    assert response.get_json()["field"] == "name"


def test_manager_writes_are_audited_as_the_token_user(client, manager):
    client.post("/api/v1/info-fields", json={"phase": "training", "name": "Cluster name"}, headers=manager)

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "info_field")
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert entry.action == "create"
    assert entry.user_id == accounts.find_user(MANAGER).id


def test_tool_mapping_per_inference_round_trip(client, manager):
    payload = {"name": "Load tester", "file_format": "tabular", "mappings": [
        {"column": "energy_kwh", "metric": "energy_per_inference", "column_unit": "kWh"},
        {"column": "latency_ms", "metric": "latency", "column_unit": "ms", "per_inference": True},
    ]}

    created = client.post("/api/v1/tools", json=payload, headers=manager)
    read = client.get(f"/api/v1/tools/{created.get_json()['id']}")
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    assert created.status_code == 201
    assert {m["column"]: m["per_inference"] for m in read.get_json()["mappings"]} == {
        "energy_kwh": False, "latency_ms": True}
    assert "per_inference" in schema["MappingIn"]["properties"]
    assert "per_inference" in schema["MappingOut"]["properties"]


@pytest.mark.parametrize("mapping", [
    {"column": "kwh", "metric": "energy", "per_inference": True},
    {"column": "gpu", "info_field": "inference.hardware_used", "per_inference": True},
])
def test_tool_per_inference_only_for_inference_metrics(client, manager, mapping):
    response = client.post("/api/v1/tools", json={"name": "Broken tool", "file_format": "tabular",
                                                  "mappings": [mapping]}, headers=manager)

    assert response.status_code == 422
    assert "mappings.0.per_inference" in response.get_json()["errors"], response.get_json()
