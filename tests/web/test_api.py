"""The JSON API: OpenAPI document, docs page, models, trainings and inferences, statistics, jobs, ROI analyses."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Evaluation, Job, MetricValue, MLModel
from gaissa.services import accounts, evaluations, tokens
from gaissa.services import roi as calculator
from tests.roi_support import make_catalogue

PROBLEM = "application/problem+json"


# ---------------------------------------------------------------- helpers shared by the API tests


def make_token(email: str = "user@example.org", role: str = "user") -> str:
    """Create a user (if needed) with a fresh API token and return the token's secret."""
    user = accounts.find_user(email) or accounts.create_user(email, "correct horse battery", role=role)
    secret = tokens.create_token(user, "tests").secret
    db.session.commit()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_model(name: str = "ResNet-50", hidden: bool = False, **fields) -> MLModel:
    model = evaluations.create_model(name, fields.pop("author", None))
    model.hidden = hidden
    for key, value in fields.items():
        setattr(model, key, value)
    db.session.commit()
    return model


def add_evaluation(model: MLModel, phase: str = "training", values: dict | None = None, **fields) -> Evaluation:
    values = values or ({"energy": 12.4, "co2_eq_emissions": 5900} if phase == "training" else {"latency": 30})
    evaluation = evaluations.create_evaluation(evaluations.EvaluationInput(phase=phase, model_id=model.id, values=values))
    for key, value in fields.items():
        setattr(evaluation, key, value)
    db.session.commit()
    return evaluation


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------- document and docs page


def test_openapi_document_is_3_1_with_every_operation(client):
    response = client.get("/api/v1/openapi.json")
    document = response.get_json()

    assert response.status_code == 200
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    operations = [op for methods in document["paths"].values() for op in methods.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for expected in ("list_models", "create_model", "create_training", "get_inference", "label_pdf_training",
                     "create_metric", "publish_draft", "replace_tool", "get_job", "start_sync", "create_analysis",
                     "get_statistics"):
        assert expected in ids


def test_openapi_refs_resolve_and_errors_are_problems(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    create = document["paths"]["/models/{model_id}/trainings"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/EvaluationCreate")
    assert PROBLEM in create["responses"]["422"]["content"]
    assert "Retry-After" in create["responses"]["429"]["headers"]


def test_openapi_request_schema_is_the_validating_model(client):
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["ModelCreate"]

    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["name"]["maxLength"] == 300


def test_docs_page_lists_endpoints_and_schemas(client):
    response = client.get("/api/v1/docs")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "POST /api/v1/models/{model_id}/trainings" in page
    assert 'id="schema-EvaluationCreate"' in page
    assert "Bearer" in page
    assert "cdn" not in page.lower()
    assert '<script src="http' not in page


def test_index_links_to_document_and_docs(client):
    body = client.get("/api/v1/").get_json()

    assert body["openapi"].endswith("/api/v1/openapi.json")
    assert body["docs"].endswith("/api/v1/docs")


# ---------------------------------------------------------------- models


def test_create_model_anonymously(client):
    response = client.post("/api/v1/models", json={"name": "  BERT base  ", "author": "Google"})
    body = response.get_json()

    assert response.status_code == 201
    assert body["name"] == "BERT base"
    assert body["source"] == "user"
    assert response.headers["Location"] == body["links"]["self"]
    assert client.get(response.headers["Location"]).get_json()["id"] == body["id"]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 301}, "name"),
    ({"name": "ok", "nickname": "x"}, "nickname"),
    ({"name": "nul\x00byte"}, "name"),
    ({"name": 12}, "name"),
])
def test_create_model_rejects_bad_input(client, payload, field):
    before = count(MLModel)

    response = client.post("/api/v1/models", json=payload)

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert response.get_json()["field"] == field
    assert count(MLModel) == before


def test_list_models_pages_and_counts(client):
    models = [add_model(f"Paged model {index}") for index in range(3)]
    add_evaluation(models[0])

    first = client.get("/api/v1/models?search=paged&per_page=2").get_json()
    second = client.get("/api/v1/models?search=paged&per_page=2&page=2").get_json()

    assert first["total"] == 3
    assert first["pages"] == 2
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    counted = {item["name"]: item["training_count"] for item in first["items"] + second["items"]}
    assert counted["Paged model 0"] == 1
    assert counted["Paged model 2"] == 0


def test_list_models_filters(client):
    rated = add_model("Filter rated")
    add_evaluation(rated, "inference", {"latency": 5})
    add_model("Filter hub", provider="huggingface", external_id="org/filter-hub")
    add_model("Filter hidden", hidden=True)

    def names(query: str) -> list[str]:
        return sorted(item["name"] for item in client.get(f"/api/v1/models?search=filter&{query}").get_json()["items"])

    assert names("") == ["Filter hub", "Filter rated"]
    assert names("source=huggingface") == ["Filter hub"]
    assert names("source=user") == ["Filter rated"]
    assert names("phase=inference") == ["Filter rated"]
    assert names("phase=training") == []
    assert names("grade=A") == ["Filter rated"]
    assert names("sort=-name") == ["Filter hub", "Filter rated"]


def test_list_models_sort_by_name(client):
    for name in ("Sort b", "Sort a", "Sort c"):
        add_model(name)

    items = client.get("/api/v1/models?search=sort&sort=name").get_json()["items"]

    assert [item["name"] for item in items] == ["Sort a", "Sort b", "Sort c"]


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "sort=size", "grade=F", "phase=both"])
def test_list_models_rejects_bad_query(client, query):
    response = client.get(f"/api/v1/models?{query}")

    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["field"] == query.split("=")[0]


def test_hidden_model_is_found_only_by_managers(client):
    model = add_model("Hidden from the public", hidden=True)
    manager = make_token("boss@example.org", role="qa_manager")

    assert client.get(f"/api/v1/models/{model.id}").status_code == 404
    assert client.get(f"/api/v1/models/{model.id}", headers=bearer(manager)).status_code == 200


@pytest.mark.parametrize("model_id", ["999999", str(2**40)])
def test_unknown_model_is_404(client, model_id):
    response = client.get(f"/api/v1/models/{model_id}")

    assert response.status_code == 404
    assert response.mimetype == PROBLEM


# ---------------------------------------------------------------- trainings and inferences


def test_create_training_with_values_info_and_provenance(client):
    model = add_model("Provenance model")
    payload = {
        "values": {"energy": 12.4, "co2_eq_emissions": "5.9 kg", "duration": "3 h", "downloads": None},
        "info": {"country": "ESP", "hardware_used": "8 × A100"},
        "provenance": {"tool": "CodeCarbon", "tool_version": "2.4.1", "method": "measured"},
        "value_provenance": {"duration": {"method": "reported", "notes": "from the job scheduler"}},
    }

    response = client.post(f"/api/v1/models/{model.id}/trainings", json=payload)
    body = response.get_json()

    assert response.status_code == 201
    assert body["source"] == "api"
    values = {item["key"]: item for item in body["values"]}
    assert set(values) == {"energy", "co2_eq_emissions", "duration"}
    assert values["co2_eq_emissions"]["value"] == 5900.0
    assert values["co2_eq_emissions"]["unit"] == "g"
    assert values["duration"]["provenance"] == {"kind": "api", "tool": "CodeCarbon", "tool_version": "2.4.1",
                                                 "method": "reported", "notes": "from the job scheduler"}
    assert body["provenance"]["via"] == "anonymous"
    assert {item["key"]: item["value"] for item in body["info"]} == {"hardware_used": "8 × A100", "country": "ESP"}
    assert body["scheme_version"] == 1


def test_created_grades_are_the_rating_services(client):
    model = add_model("Grades model")
    values = {"energy": 0.0001, "co2_eq_emissions": 100.0}

    body = client.post(f"/api/v1/models/{model.id}/trainings", json={"values": values}).get_json()
    stored = db.session.get(Evaluation, body["id"])

    assert body["overall_grade"] == stored.overall_grade
    assert {item["key"]: item["grade"] for item in body["values"]} == {v.metric_key: v.grade for v in stored.values}
    assert body["graded_count"] == 2
    assert body["scheme_metric_count"] == stored.scheme_metric_count


def test_invalid_values_write_nothing(client):
    model = add_model("Invalid values model")
    before = (count(Evaluation), count(MetricValue))

    response = client.post(f"/api/v1/models/{model.id}/trainings",
                           json={"values": {"energy": -3, "duration": "ten hours", "nonsense": 1}})
    problem = response.get_json()

    assert response.status_code == 422
    assert set(problem["errors"]) == {"values.energy", "values.duration", "values.nonsense"}
    assert "cannot be negative" in problem["errors"]["values.energy"]
    assert (count(Evaluation), count(MetricValue)) == before


@pytest.mark.parametrize(("payload", "field"), [
    ({"values": {"energy": True}}, "values.energy"),
    ({"values": {"energy": 1}, "inference_count": 10}, "inference_count"),
    ({"values": {"energy": 1}, "value_provenance": {"duration": {"tool": "x"}}}, "value_provenance.duration"),
    ({"values": {"energy": 1}, "registered_at": "2999-01-01T00:00:00Z"}, "registered_at"),
    ({"values": {"energy": 1}, "registered_at": "1960-01-01T00:00:00Z"}, "registered_at"),
    ({"values": {"energy": 1}, "provenance": {"file_sha256": "xyz"}}, "provenance.file_sha256"),
    ({"values": {}}, "values"),
    ({"values": {"energy": 0}}, "values.energy"),
    ({"values": {"energy": 1}, "info": {"country": "x" * 2001}}, "info.country"),
])
def test_create_training_rejects(client, payload, field):
    model = add_model("Rejecting model")

    response = client.post(f"/api/v1/models/{model.id}/trainings", json=payload)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_registered_at_without_zone_is_utc(client):
    model = add_model("Dated model")
    moment = (datetime.now(timezone.utc) - timedelta(days=3)).replace(microsecond=0)

    body = client.post(f"/api/v1/models/{model.id}/trainings",
                       json={"values": {"energy": 2}, "registered_at": moment.replace(tzinfo=None).isoformat()}).get_json()

    assert datetime.fromisoformat(body["registered_at"].replace("Z", "+00:00")) == moment


def test_create_inference_with_inference_count(client):
    model = add_model("Inference model")

    response = client.post(f"/api/v1/models/{model.id}/inferences",
                           json={"values": {"energy_per_inference": "2 J", "latency": 40}, "inference_count": 1000})
    body = response.get_json()

    assert response.status_code == 201
    assert body["phase"] == "inference"
    assert body["inference_count"] == 1000
    assert response.headers["Location"].endswith(f"/api/v1/models/{model.id}/inferences/{body['id']}")


def test_hidden_model_rejects_evaluations(client):
    model = add_model("Hidden target", hidden=True)

    response = client.post(f"/api/v1/models/{model.id}/trainings", json={"values": {"energy": 1}})

    assert response.status_code == 404


def test_list_and_read_evaluations(client):
    model = add_model("Listed model")
    older = add_evaluation(model, registered_at=datetime.now(timezone.utc) - timedelta(days=2))
    newer = add_evaluation(model)
    add_evaluation(model, hidden=True)
    add_evaluation(model, "inference")

    listing = client.get(f"/api/v1/models/{model.id}/trainings").get_json()
    detail = client.get(f"/api/v1/models/{model.id}/trainings/{older.id}").get_json()

    assert [item["id"] for item in listing["items"]] == [newer.id, older.id]
    assert listing["total"] == 2
    assert detail["id"] == older.id
    assert detail["overall_grade"] == older.overall_grade


def test_evaluation_in_wrong_phase_or_model_is_404(client):
    model = add_model("Phase model")
    other = add_model("Other model")
    training = add_evaluation(model)

    assert client.get(f"/api/v1/models/{model.id}/inferences/{training.id}").status_code == 404
    assert client.get(f"/api/v1/models/{other.id}/trainings/{training.id}").status_code == 404
    assert client.get(f"/api/v1/models/{model.id}/trainings/{training.id}/label.svg").status_code == 200


def test_label_formats(client):
    model = add_model("Label formats")
    training = add_evaluation(model)
    base = f"/api/v1/models/{model.id}/trainings/{training.id}"

    as_json = client.get(f"{base}/label.json")
    as_svg = client.get(f"{base}/label.svg")
    as_pdf = client.get(f"{base}/label.pdf")

    assert as_json.get_json()["overall_grade"] == training.overall_grade
    assert as_svg.mimetype == "image/svg+xml"
    assert as_svg.get_data(as_text=True).lstrip().startswith("<svg")
    assert as_pdf.mimetype == "application/pdf"
    assert as_pdf.data.startswith(b"%PDF")


# ---------------------------------------------------------------- statistics and jobs


def test_statistics_count_visible_rows(client):
    before = client.get("/api/v1/statistics").get_json()["label"]
    model = add_model("Counted model")
    add_evaluation(model)
    add_evaluation(model, "inference")
    add_model("Not counted", hidden=True)

    after = client.get("/api/v1/statistics").get_json()["label"]

    assert after == {"models": before["models"] + 1, "trainings": before["trainings"] + 1,
                     "inferences": before["inferences"] + 1}


def _job(kind: str, state: str = "running", **fields) -> Job:
    job = Job(kind=kind, state=state, params={}, log=["line 1", "line 2"], **fields)
    db.session.add(job)
    db.session.commit()
    return job


def test_job_status_by_id(client):
    job = _job("endpoint_measurement", progress=0.5, done=5, total=10, message="Measuring")

    body = client.get(f"/api/v1/jobs/{job.id}").get_json()

    assert body["state"] == "running"
    assert body["progress"] == 0.5
    assert body["log"] == ["line 1", "line 2"]
    assert body["links"]["self"].endswith(f"/api/v1/jobs/{job.id}")


def test_sync_jobs_are_for_managers_only(client):
    job = _job("hf_sync")
    manager = make_token("boss@example.org", role="qa_manager")

    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}", headers=bearer(make_token())).status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}", headers=bearer(manager)).status_code == 200
    assert client.get("/api/v1/sync", headers=bearer(manager)).get_json()["id"] == job.id


def test_cancel_job_by_owner_or_manager(client):
    owner_secret = make_token("owner@example.org")
    owner = accounts.find_user("owner@example.org")
    job = _job("endpoint_measurement", state="queued", created_by_id=owner.id)

    stranger = client.delete(f"/api/v1/jobs/{job.id}", headers=bearer(make_token("stranger@example.org")))
    anonymous = client.delete(f"/api/v1/jobs/{job.id}", json={})
    mine = client.delete(f"/api/v1/jobs/{job.id}", headers=bearer(owner_secret))

    assert stranger.status_code == 403
    assert anonymous.status_code == 403
    assert mine.status_code == 200
    assert mine.get_json()["state"] == "cancelled"


def test_sync_start_needs_a_manager(client):
    assert client.post("/api/v1/sync").status_code == 401
    assert client.post("/api/v1/sync", headers=bearer(make_token())).status_code == 403


def test_sync_start_refused_while_one_runs(client):
    running = _job("hf_sync")

    response = client.post("/api/v1/sync", headers=bearer(make_token("boss@example.org", role="qa_manager")))

    assert response.status_code == 409
    assert running.id in response.get_json()["detail"]


# ---------------------------------------------------------------- ROI analyses


def test_create_and_read_roi_analysis(client):
    catalogue = make_catalogue()
    db.session.commit()
    payload = {
        "architecture_id": catalogue.architecture.id, "option_id": catalogue.option.id, "country_code": "ESP",
        "values": [
            {"metric_id": catalogue.energy.id, "baseline": 100.0, "energy_price": 0.2, "implementation_cost": 1000.0},
            {"metric_id": catalogue.time.id, "baseline": 50.0},
        ],
    }

    response = client.post("/api/v1/roi/analyses", json=payload)
    body = response.get_json()
    read = client.get(f"{response.headers['Location']}?inferences=1000").get_json()

    assert response.status_code == 201
    expected = calculator.energy_roi(100.0, 0.3, 0.2, 1000.0, calculator.DEFAULT_INFERENCES,
                                     calculator.IntensityFigure(120.0, 2023, "Spain (ESP)"))
    energy = body["energy"][0]
    assert energy["break_even_inferences"] == expected.break_even
    assert energy["roi"] == pytest.approx(expected.roi)
    assert energy["emissions_saved_g"] == pytest.approx(expected.emissions.saved_g)
    assert body["carbon_intensity"] == {"g_per_kwh": 120.0, "year": 2023, "label": "Spain (ESP)",
                                        "is_world_average": False}
    assert {row["name"]: row["new_value"] for row in body["metrics"]} == pytest.approx(
        {"Energy Consumption": 70.0, "Inference Time": 40.0})
    assert read["inferences"] == 1000
    assert read["energy"][0]["inferences"] == 1000
    assert read["energy"][0]["series"][0]["inferences"] == 1


def test_roi_analysis_rejects_unknown_option(client):
    catalogue = make_catalogue()
    db.session.commit()

    response = client.post("/api/v1/roi/analyses", json={
        "architecture_id": catalogue.architecture.id, "option_id": 999_999,
        "values": [{"metric_id": catalogue.energy.id, "baseline": 1.0}],
    })

    assert response.status_code == 422
    assert response.get_json()["field"] == "option"
