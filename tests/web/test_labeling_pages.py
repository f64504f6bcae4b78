"""GAISSALabel pages: form, inline model creation, Consult, label page and downloads (full pages and fragments)."""

import re

import pytest

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel
from gaissa.services import evaluations
from tests.conftest import csrf_token

HTMX = {"HX-Request": "true"}


def make_evaluation(phase="training", values=None, name="resnet-test", info=None):
    model = evaluations.create_model(name, "Test author", "A model for tests")
    evaluation = evaluations.create_evaluation(evaluations.EvaluationInput(
        phase=phase, model_id=model.id,
        values=values or ({"energy": "2 kWh", "co2_eq_emissions": "0.5 kg"} if phase == "training" else {"latency": "20 ms"}),
        info=info or {},
    ))
    db.session.commit()
    return evaluation


def label_path(evaluation, suffix=""):
    return f"/gaissalabel/models/{evaluation.model_id}/{evaluation.phase}s/{evaluation.id}{suffix}"


def test_home_shows_live_counters(client):
    make_evaluation()
    page = client.get("/gaissalabel/").get_data(as_text=True)
    assert re.search(r"<strong>\d+</strong>models", page)
    assert "Rate a run" in page


@pytest.mark.parametrize("phase", ["training", "inference"])
def test_form_lists_metrics_with_units_and_help(client, phase):
    page = client.get(f"/gaissalabel/{phase}/new").get_data(as_text=True)
    key = "energy" if phase == "training" else "energy_per_inference"
    assert f'name="value-{key}"' in page
    assert ("kWh" if phase == "training" else "J") in page
    assert "Run the training under CodeCarbon" in page or "divide energy_consumed" in page
    assert 'name="info-country"' in page


def test_form_unknown_phase_is_404(client):
    assert client.get("/gaissalabel/deployment/new").status_code == 404


def test_form_save_with_units_opens_label(client):
    model = evaluations.create_model("bert-tiny")
    db.session.commit()
    response = client.post("/gaissalabel/training/new", data={
        "csrf_token": csrf_token(client), "model_id": model.id, "value-energy": "1.2 MWh",
        "value-co2_eq_emissions": "10 kg", "value-duration": "90 min", "info-training_type": "fine-tuning",
    })
    assert response.status_code == 303
    evaluation = db.session.scalars(db.select(Evaluation).where(Evaluation.model_id == model.id)).one()
    values = {value.metric_key: value.value for value in evaluation.values}
    assert values["energy"] == pytest.approx(1200.0)
    assert values["co2_eq_emissions"] == pytest.approx(10000.0)
    assert values["duration"] == pytest.approx(1.5)
    assert response.headers["Location"].endswith(label_path(evaluation))


def test_form_errors_shown_at_fields_and_nothing_saved(client):
    model = evaluations.create_model("bert-tiny")
    db.session.commit()
    before = db.session.scalar(db.select(db.func.count()).select_from(Evaluation))
    response = client.post("/gaissalabel/training/new", headers=HTMX, data={
        "csrf_token": csrf_token(client), "model_id": model.id, "value-energy": "-0.3", "value-duration": "12 parsecs",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in body
    assert "Training energy cannot be negative; got -0.3 kWh" in body
    assert "cannot be expressed in h" in body
    assert 'value="12 parsecs"' in body
    assert db.session.scalar(db.select(db.func.count()).select_from(Evaluation)) == before


def test_form_requires_model(client):
    response = client.post("/gaissalabel/training/new", data={"csrf_token": csrf_token(client), "value-energy": "1"})
    assert response.status_code == 422
    assert "Select a model or create one." in response.get_data(as_text=True)


def test_zero_energy_rejected_in_form(client):
    model = evaluations.create_model("zero")
    db.session.commit()
    response = client.post("/gaissalabel/training/new", data={
        "csrf_token": csrf_token(client), "model_id": model.id, "value-energy": "0"})
    assert response.status_code == 422
    assert "which means it was not measured" in response.get_data(as_text=True)


def test_inline_model_creation_htmx_returns_picker(client):
    response = client.post("/gaissalabel/inference/new", headers=HTMX, data={
        "csrf_token": csrf_token(client), "action": "create_model", "new_model_name": "my-new-model",
        "new_model_author": "Ada",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="model-picker"' in body
    model = db.session.scalars(db.select(MLModel).where(MLModel.name == "my-new-model")).one()
    assert f'value="{model.id}" selected' in body
    assert "Model created and selected." in body


def test_inline_model_creation_without_javascript_keeps_typed_values(client):
    response = client.post("/gaissalabel/training/new", data={
        "csrf_token": csrf_token(client), "action": "create_model", "new_model_name": "plain-model",
        "value-energy": "3.5",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in body
    assert 'value="3.5"' in body


def test_inline_model_creation_requires_name(client):
    response = client.post("/gaissalabel/training/new", headers=HTMX, data={
        "csrf_token": csrf_token(client), "action": "create_model", "new_model_name": "  "})
    assert response.status_code == 422
    assert "Enter the model&#39;s name." in response.get_data(as_text=True)


def test_model_options_search_fragment(client):
    evaluations.create_model("searchable-llama")
    evaluations.create_model("other-model")
    db.session.commit()
    response = client.get("/gaissalabel/training/models/options?q=llama", headers=HTMX)
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "searchable-llama" in body
    assert "other-model" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_request_gets_full_page(client):
    response = client.get("/gaissalabel/models", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_models_search_page_and_fragment(client):
    make_evaluation(name="alpha-model")
    make_evaluation(name="beta-model")
    page = client.get("/gaissalabel/models?q=alpha").get_data(as_text=True)
    assert "<html" in page
    assert "alpha-model" in page
    assert "beta-model" not in page
    fragment = client.get("/gaissalabel/models?q=beta", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "beta-model" in fragment


def test_models_pagination(client):
    for index in range(25):
        evaluations.create_model(f"paged-model-{index:02d}")
    db.session.commit()
    first = client.get("/gaissalabel/models?q=paged-model").get_data(as_text=True)
    second = client.get("/gaissalabel/models?q=paged-model&page=2").get_data(as_text=True)
    assert "25 models" in first
    assert "Next →" in first
    assert first.count("paged-model-") == 20
    assert second.count("paged-model-") == 5


def test_model_detail_lists_evaluations_by_phase(client):
    evaluation = make_evaluation()
    page = client.get(f"/gaissalabel/models/{evaluation.model_id}").get_data(as_text=True)
    assert "Trainings" in page
    assert "Inferences" in page
    assert label_path(evaluation) in page


def test_label_page_shows_grade_breakdown_and_downloads(client):
    evaluation = make_evaluation(info={"training_type": "pretraining"})
    response = client.get(label_path(evaluation))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"grade-{evaluation.overall_grade}" in page
    assert "2 of 7 metrics graded" in page
    assert "Why these grades" in page
    assert "Recommendations to improve this result" in page
    assert "Training type" in page
    assert "pretraining" in page
    assert label_path(evaluation, "/label.pdf") in page
    assert label_path(evaluation, "/label.svg") in page
    assert "<svg" in page
    assert "ENERGY" in page


def test_label_page_wrong_phase_or_model_is_404(client):
    evaluation = make_evaluation()
    assert client.get(f"/gaissalabel/models/{evaluation.model_id}/inferences/{evaluation.id}").status_code == 404
    assert client.get(f"/gaissalabel/models/{evaluation.model_id + 999}/trainings/{evaluation.id}").status_code == 404


def test_hidden_evaluation_is_404_for_public(client):
    evaluation = make_evaluation()
    evaluation.hidden = True
    db.session.commit()
    assert client.get(label_path(evaluation)).status_code == 404


def test_label_svg_download_is_escaped_and_attachment(client):
    evaluation = make_evaluation(name='<script>alert("x")</script> model')
    response = client.get(label_path(evaluation, "/label.svg"))
    body = response.get_data(as_text=True)
    assert response.mimetype == "image/svg+xml"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "<script>" not in body
    assert "&lt;script&gt;" in body


def test_label_pdf_download(client):
    evaluation = make_evaluation()
    response = client.get(label_path(evaluation, "/label.pdf"))
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_tiny_energy_reads_well_on_label(client):
    evaluation = make_evaluation(phase="inference", values={"energy_per_inference": "4.19e-3 J"})
    svg = client.get(label_path(evaluation, "/label.svg")).get_data(as_text=True)
    assert "4.19 mJ" in svg


def test_stored_grade_kept_and_current_scale_shown(client):
    from gaissa.models import RatingScheme, SchemeEntry, SchemeStatus
    from gaissa.services import schemes

    evaluation = make_evaluation(values={"energy": "0.0001 kWh"})
    assert evaluation.overall_grade == "A"
    old = schemes.current_scheme("training")
    new = RatingScheme(phase="training", version=old.version + 1, status=SchemeStatus.PUBLISHED, summary="stricter")
    for entry in old.entries:
        new.entries.append(SchemeEntry(metric_id=entry.metric_id, metric_key=entry.metric_key, metric_name=entry.metric_name,
                                       unit=entry.unit, direction=entry.direction, weight=entry.weight,
                                       b1=entry.b1 / 1e6 if entry.metric_key == "energy" else entry.b1,
                                       b2=entry.b2 / 1e6 if entry.metric_key == "energy" else entry.b2,
                                       b3=entry.b3 / 1e6 if entry.metric_key == "energy" else entry.b3,
                                       b4=entry.b4 / 1e6 if entry.metric_key == "energy" else entry.b4,
                                       position=entry.position))
    db.session.add(new)
    db.session.commit()
    page = client.get(label_path(evaluation)).get_data(as_text=True)
    assert "Overall grade" in page
    assert 'grade-A" style="font-size:1.6rem">A' in page
    assert f"Under the current scale v{new.version} this training would be" in page
    assert "<strong>E</strong>" in page


def test_label_page_cache_follows_catalogue_edits(client):
    from gaissa.models import Metric

    evaluation = make_evaluation()
    first = client.get(label_path(evaluation)).get_data(as_text=True)
    metric = db.session.scalars(db.select(Metric).where(Metric.key == "energy")).one()
    metric.description = "A freshly edited description of training energy."
    db.session.commit()
    second = client.get(label_path(evaluation)).get_data(as_text=True)
    assert "A freshly edited description" not in first
    assert "A freshly edited description" in second


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("value-performance_score", "93", "is a score from 0 to 1; got 93"),
        ("value-downloads", "2.5", "must be a whole number"),
        ("value-energy", "9**9**9 kWh", "is not a number"),
        ("value-duration", "0", "which means it was not measured"),
    ],
)
def test_form_rejects_out_of_range_values(client, field, text, message):
    model = evaluations.create_model("ranges")
    db.session.commit()
    response = client.post("/gaissalabel/training/new", data={"csrf_token": csrf_token(client), "model_id": model.id,
                                                              field: text})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")


def test_zero_file_size_rejected(client):
    model = evaluations.create_model("zero-size")
    db.session.commit()
    response = client.post("/gaissalabel/inference/new", data={"csrf_token": csrf_token(client), "model_id": model.id,
                                                               "value-file_size": "0"})
    assert response.status_code == 422
    assert "not measured" in response.get_data(as_text=True)


def test_downloads_with_non_latin_model_name(client):
    evaluation = make_evaluation(name="名前モデル-ü")
    for suffix in ("/label.svg", "/label.pdf"):
        response = client.get(label_path(evaluation, suffix))
        assert response.status_code == 200
        response.headers["Content-Disposition"].encode("latin-1")


def test_download_name_keeps_letters_without_accents(client):
    evaluation = make_evaluation(name="Café-ResNet50 Ünïcode")
    response = client.get(label_path(evaluation, "/label.pdf"))
    assert f'filename="energy-label-Cafe-ResNet50-Unicode-training-{evaluation.id}.pdf"' in \
        response.headers["Content-Disposition"]


def test_model_page_lists_evaluations_by_number_and_source(client):
    evaluation = make_evaluation()
    page = client.get(f"/gaissalabel/models/{evaluation.model_id}").get_data(as_text=True)
    assert f"#{evaluation.id} · " in page
    assert "Typed in a form" in page


def test_search_box_belongs_to_separate_get_form(client):
    page = client.get("/gaissalabel/training/new").get_data(as_text=True)
    assert 'form="model-search-form"' in page
    assert '<form id="model-search-form" method="get"' in page


def test_unknown_country_rejected(client):
    from gaissa.services import carbon

    if not carbon.countries_with_data():
        carbon.import_owid(carbon.DEFAULT_FILE.read_bytes())
    model = evaluations.create_model("country-check")
    db.session.commit()
    response = client.post("/gaissalabel/training/new", data={"csrf_token": csrf_token(client), "model_id": model.id,
                                                              "value-energy": "2", "info-country": "Narnia"})
    assert response.status_code == 422
    assert "Unknown country" in response.get_data(as_text=True)


def test_derived_emissions_use_country_intensity(client):
    from gaissa.services import carbon

    if not carbon.countries_with_data():
        carbon.import_owid(carbon.DEFAULT_FILE.read_bytes())
    spain = carbon.intensity_for("ESP")
    evaluation = make_evaluation(values={"energy": "2 kWh"}, info={"country": "ESP"})
    values = {value.metric_key: value for value in evaluation.values}
    assert values["co2_eq_emissions"].value == pytest.approx(2 * spain.g_per_kwh)
    assert values["co2_eq_emissions"].provenance["carbon_intensity_year"] == spain.year
    page = client.get(label_path(evaluation)).get_data(as_text=True)
    assert f"Spain, {spain.year}" in page


def test_upload_over_limit_names_the_limit(app, client):
    import io

    limit = app.config["MAX_CONTENT_LENGTH"]
    data = {"csrf_token": csrf_token(client), "files": (io.BytesIO(b"x" * (limit + 1)), "big.csv")}
    response = client.post("/gaissalabel/training/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert f"limit of {limit // 1048576} MB" in response.get_data(as_text=True)


def test_anonymous_saves_share_api_limit(client, app, auth, monkeypatch):
    monkeypatch.setitem(app.config, "API_ANONYMOUS_WRITES_PER_HOUR", 2)
    address = {"REMOTE_ADDR": "192.0.2.40"}
    model = evaluations.create_model("limited-model")
    db.session.commit()
    form = {"csrf_token": csrf_token(client), "model_id": model.id, "value-energy": "3 kWh"}

    assert client.post("/api/v1/models", json={"name": "Counted by the API"}, environ_base=address).status_code == 201
    for _ in range(3):  # a form sent back with errors costs nothing
        invalid = {**form, "value-energy": "-3 kWh"}
        assert client.post("/gaissalabel/training/new", data=invalid, environ_base=address).status_code == 422
    assert client.post("/gaissalabel/training/new", data=form, environ_base=address).status_code == 303
    rejected = client.post("/gaissalabel/training/new", data=form, environ_base=address, headers=HTMX)

    assert rejected.status_code == 429
    assert 1 <= int(rejected.headers["Retry-After"]) <= 3600
    page = rejected.get_data(as_text=True)
    assert "Nothing was saved: visitors who are not signed in may save 2 evaluations or models per hour" in page
    assert 'value="3 kWh"' in page  # the visitor's input is kept
    assert len(db.session.scalars(db.select(Evaluation).where(Evaluation.model_id == model.id)).all()) == 1

    model_form = {"csrf_token": csrf_token(client), "action": "create_model", "new_model_name": "spam-model"}
    rejected_model = client.post("/gaissalabel/training/new", data=model_form, environ_base=address, headers=HTMX)
    assert rejected_model.status_code == 429
    assert 'value="spam-model"' in rejected_model.get_data(as_text=True)
    assert db.session.scalar(db.select(MLModel).where(MLModel.name == "spam-model")) is None

    auth.login()
    assert client.post("/gaissalabel/training/new", data={**form, "csrf_token": csrf_token(client)},
                       environ_base=address).status_code == 303


def test_models_list_shows_latest_grade_per_phase(client):
    training = make_evaluation(name="two-phase-model")
    evaluations.create_evaluation(evaluations.EvaluationInput(
        phase="inference", model_id=training.model_id, values={"latency": "5 ms"}))
    db.session.commit()
    body = client.get("/gaissalabel/models", query_string={"q": "two-phase-model"}, headers=HTMX).get_data(as_text=True)
    row = body[body.index(">two-phase-model</a>"):]
    row = row[:row.index("</tr>")]
    grades = re.findall(r'class="grade-letter grade-([A-E])"', row)
    assert grades == [training.overall_grade, "A"]


def test_inline_model_with_an_existing_name_asks_first(client):
    existing = evaluations.create_model("Éclair-BERT", "Lab A")
    db.session.commit()
    count = db.session.scalar(db.select(db.func.count()).select_from(MLModel))
    form = {"csrf_token": csrf_token(client), "action": "create_model", "new_model_name": "eclair-bert"}

    first = client.post("/gaissalabel/training/new", data=form, headers=HTMX)
    body = first.get_data(as_text=True)
    assert first.status_code == 422
    assert "A model named “Éclair-BERT” by Lab A already exists, and it is now selected above." in body
    assert f'value="{existing.id}" selected' in body
    assert db.session.scalar(db.select(db.func.count()).select_from(MLModel)) == count

    again = client.post("/gaissalabel/training/new", headers=HTMX,
                        data={**form, "new_model_confirm_duplicate": "eclair-bert"})
    assert again.status_code == 200
    assert "Model created and selected." in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(MLModel)) == count + 1
