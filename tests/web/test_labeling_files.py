"""The file flow end to end: upload real CodeCarbon files, choose runs, review, save; bad files save nothing."""

import csv
import io
import re
from pathlib import Path

import pytest

from gaissa.extensions import db
from gaissa.models import CalculationTool, Evaluation, EvaluationDraft, Metric, ToolMapping
from gaissa.services import evaluations
from tests.conftest import csrf_token
from tests.unit.importers_support import ECO2AI_EPOCHS

DATA = Path(__file__).resolve().parent.parent / "data"
TRAINING_FILE = DATA / "codecarbon" / "training-emissions.csv"
INFERENCE_FILE = DATA / "codecarbon" / "inference-emissions.csv"
INFERENCES = 90_000


def tool_id(name="CodeCarbon") -> int:
    return db.session.scalars(db.select(CalculationTool.id).where(CalculationTool.name == name)).one()


def upload(client, phase, path, extra=None):
    data = {"csrf_token": csrf_token(client), "files": (io.BytesIO(path.read_bytes()), path.name), "tool-0": str(tool_id())}
    data.update(extra or {})
    return client.post(f"/gaissalabel/{phase}/upload", data=data, content_type="multipart/form-data")


def upload_bytes(client, phase, content: bytes, file_name: str, tool: int, extra=None):
    data = {"csrf_token": csrf_token(client), "files": (io.BytesIO(content), file_name), "tool-0": str(tool)}
    data.update(extra or {})
    return client.post(f"/gaissalabel/{phase}/upload", data=data, content_type="multipart/form-data")


def checked_values(page: str, name: str) -> list[str]:
    """Return the values of the checked inputs named `name` in a rendered page."""
    values = []
    for tag in re.findall(r"<input\b[^>]*>", page):
        if f'name="{name}"' in tag and re.search(r"\schecked\b", tag):
            values.append(re.search(r'value="([^"]*)"', tag).group(1))
    return values


def add_request_meter() -> int:
    """Add a tabular tool whose inference columns are all per inference; return its id."""
    metrics = {metric.key: metric for metric in db.session.scalars(db.select(Metric))}
    tool = CalculationTool(name="Request meter", file_format="tabular", description="Per-request figures.")
    tool.mappings.append(ToolMapping(phase="inference", column="energy_per_request_j", column_unit="J",
                                     per_inference=True, metric=metrics["energy_per_inference"]))
    tool.mappings.append(ToolMapping(phase="inference", column="latency_ms", column_unit="ms",
                                     per_inference=True, metric=metrics["latency"]))
    db.session.add(tool)
    db.session.commit()
    return tool.id


def save_run(client, phase, path, run_index, extra=None):
    """Upload, choose one run, save with a new model; return the stored evaluation."""
    response = upload(client, phase, path, extra)
    assert response.status_code == 303, response.get_data(as_text=True)
    choose_url = response.headers["Location"]
    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": str(run_index)})
    assert response.status_code == 303
    form_url = response.headers["Location"]
    draft_id = form_url.split("draft=")[1]
    page = client.get(form_url).get_data(as_text=True)
    assert "Review the values read from your files" in page
    assert "Read from the files: " in page  # each pre-filled value also in a readable unit
    assert "The file names the model" in page

    model = evaluations.create_model(f"model-of-run-{phase}-{run_index}")
    db.session.commit()
    draft = db.session.get(EvaluationDraft, draft_id)
    form = {"csrf_token": csrf_token(client), "draft_id": draft_id, "model_id": model.id}
    form.update({f"value-{key}": evaluations.format_for_input(number) for key, number in draft.values.items()})
    form.update({f"info-{key}": text for key, text in draft.info.items()})
    response = client.post(f"/gaissalabel/{phase}/new", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(db.select(Evaluation).where(Evaluation.model_id == model.id)).one()


def file_rows(path):
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("run_index", [0, 1, 2])
def test_real_training_file_values_equal_file_numbers(client, run_index):
    row = file_rows(TRAINING_FILE)[run_index]
    evaluation = save_run(client, "training", TRAINING_FILE, run_index)
    values = {value.metric_key: value for value in evaluation.values}

    assert values["energy"].value == pytest.approx(float(row["energy_consumed"]), rel=1e-12)
    assert values["co2_eq_emissions"].value == pytest.approx(float(row["emissions"]) * 1000, rel=1e-12)
    assert values["duration"].value == pytest.approx(float(row["duration"]) / 3600, rel=1e-12)
    assert values["energy"].provenance["kind"] == "file"
    assert values["energy"].provenance["sha256"]
    assert evaluation.source == "file"
    assert evaluation.overall_grade is not None


@pytest.mark.parametrize("run_index", [0, 1, 2])
def test_real_inference_file_values_per_inference(client, run_index):
    row = file_rows(INFERENCE_FILE)[run_index]
    evaluation = save_run(client, "inference", INFERENCE_FILE, run_index, {"inference_count": str(INFERENCES)})
    values = {value.metric_key: value.value for value in evaluation.values}

    assert values["energy_per_inference"] == pytest.approx(float(row["energy_consumed"]) * 3.6e6 / INFERENCES, rel=1e-12)
    assert values["latency"] == pytest.approx(float(row["duration"]) * 1000 / INFERENCES, rel=1e-12)
    assert evaluation.inference_count == INFERENCES


def test_choosing_several_runs_labels_their_mean(client):
    rows = file_rows(TRAINING_FILE)
    response = upload(client, "training", TRAINING_FILE)
    choose_url = response.headers["Location"]
    page = client.get(choose_url).get_data(as_text=True)
    assert "3 runs" in page
    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["0", "1", "2"]})
    assert response.status_code == 303
    draft = db.session.get(EvaluationDraft, response.headers["Location"].split("draft=")[1])
    mean_energy = sum(float(row["energy_consumed"]) for row in rows) / 3
    assert draft.values["energy"] == pytest.approx(mean_energy, rel=1e-12)
    assert draft.value_provenance["energy"]["row"].startswith("mean of 3 runs")


def test_inference_upload_requires_inference_count(client):
    response = upload(client, "inference", INFERENCE_FILE)
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationDraft)) == 0


def test_bad_file_lists_each_line_and_saves_nothing(client):
    case = DATA / "cases" / "C07-codecarbon-concatenated-rows.csv"
    if not case.exists():
        pytest.skip("case file not copied")
    response = upload(client, "training", case)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in body
    assert "line 3" in body
    assert "line 4" in body
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationDraft)) == 0


def test_empty_file_error(client):
    data = {"csrf_token": csrf_token(client), "files": (io.BytesIO(b""), "emissions.csv"), "tool-0": str(tool_id())}
    response = client.post("/gaissalabel/training/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "empty" in response.get_data(as_text=True)


def test_file_without_tool_choice_rejected(client):
    data = {"csrf_token": csrf_token(client), "files": (io.BytesIO(TRAINING_FILE.read_bytes()), "e.csv"), "tool-0": ""}
    response = client.post("/gaissalabel/training/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "choose the tool that produced this file" in response.get_data(as_text=True)


def test_edited_value_records_form_provenance(client):
    response = upload(client, "training", TRAINING_FILE)
    response = client.post(response.headers["Location"], data={"csrf_token": csrf_token(client), "runs-0": "0"})
    draft_id = response.headers["Location"].split("draft=")[1]
    draft = db.session.get(EvaluationDraft, draft_id)
    model = evaluations.create_model("edited")
    db.session.commit()
    form = {"csrf_token": csrf_token(client), "draft_id": draft_id, "model_id": model.id}
    form.update({f"value-{key}": evaluations.format_for_input(number) for key, number in draft.values.items()})
    form["value-duration"] = "2 h"
    client.post("/gaissalabel/training/new", data=form)
    evaluation = db.session.scalars(db.select(Evaluation).where(Evaluation.model_id == model.id)).one()
    provenance = {value.metric_key: value.provenance for value in evaluation.values}
    assert provenance["duration"]["kind"] == "form"
    assert provenance["energy"]["kind"] == "file"
    assert db.session.get(EvaluationDraft, draft_id) is None


def test_upload_page_lists_tools_for_phase(client):
    page = client.get("/gaissalabel/inference/upload").get_data(as_text=True)
    assert "CodeCarbon" in page
    assert "GAISSALabel model probe" in page
    assert "Number of inferences in the measured run" in page


def test_eco2ai_epochs_summed_through_form(client):
    response = upload_bytes(client, "training", ECO2AI_EPOCHS, "emission.csv", tool_id("eco2ai"))
    assert response.status_code == 303, response.get_data(as_text=True)
    choose_url = response.headers["Location"]

    page = client.get(choose_url).get_data(as_text=True)
    assert checked_values(page, "runs-0") == ["1", "2", "3"]
    assert checked_values(page, "combine-0") == ["sum"]

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["1", "2", "3"],
                                             "combine-0": "sum"})
    assert response.status_code == 303, response.get_data(as_text=True)
    draft = db.session.get(EvaluationDraft, response.headers["Location"].split("draft=")[1])
    assert draft.values["energy"] == pytest.approx(0.006, rel=1e-12)
    assert draft.values["co2_eq_emissions"] == pytest.approx(2.4, rel=1e-12)
    assert draft.values["duration"] == pytest.approx(181.0 / 3600, rel=1e-12)
    assert draft.value_provenance["energy"]["row"].startswith("sum of 3 rows (mnist, cnn, run 6f1c2a9e (line 3)")
    assert draft.value_provenance["energy"]["lines"] == [3, 4, 5]
    assert draft.provenance["combined"] == {"0": "sum"}


def test_per_inference_tool_needs_no_count(client):
    meter = add_request_meter()
    page = client.get("/gaissalabel/inference/upload").get_data(as_text=True)
    options = dict(re.findall(r'<option value="(\d+)"([^>]*)>', page))
    assert "data-needs-count" not in options[str(meter)]
    assert "data-needs-count" in options[str(tool_id())]
    count_input = re.search(r'<input[^>]*name="inference_count"[^>]*>', page).group(0)
    assert "required" not in count_input
    assert "Files written by CodeCarbon need it." in page

    content = b"energy_per_request_j,latency_ms\n3.2,40\n2.8,44\n"
    response = upload_bytes(client, "inference", content, "requests.csv", meter)
    assert response.status_code == 303, response.get_data(as_text=True)
    choose_url = response.headers["Location"]
    page = client.get(choose_url).get_data(as_text=True)
    assert 'value="sum"' not in page

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": "1"})
    assert response.status_code == 303
    draft = db.session.get(EvaluationDraft, response.headers["Location"].split("draft=")[1])
    assert draft.values == {"energy_per_inference": 2.8, "latency": 44.0}
    assert draft.inference_count is None
    assert ("requests.csv: energy_per_request_j and latency_ms are already per inference, so they are not divided."
            in draft.notes)
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "energy_per_request_j and latency_ms are already per inference" in review


def test_sum_of_per_inference_rows_rejected(client):
    meter = add_request_meter()
    content = b"energy_per_request_j,latency_ms\n3.2,40\n2.8,44\n"
    response = upload_bytes(client, "inference", content, "requests.csv", meter)
    choose_url = response.headers["Location"]

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["0", "1"],
                                             "combine-0": "sum"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "requests.csv: the chosen rows cannot be summed" in body
    assert "energy_per_inference and latency are not one of them" in body
    assert checked_values(body, "runs-0") == ["0", "1"]
    assert db.session.get(EvaluationDraft, choose_url.rsplit("/", 1)[1]).values == {}

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["0", "1"],
                                             "combine-0": "mean"})
    assert response.status_code == 303
    draft = db.session.get(EvaluationDraft, response.headers["Location"].split("draft=")[1])
    assert draft.values == {"energy_per_inference": pytest.approx(3.0), "latency": pytest.approx(42.0)}
    assert ("requests.csv: energy_per_request_j and latency_ms are already per inference, so they are not divided."
            in draft.notes)


def test_inference_sum_notes_the_inference_count(client):
    response = upload(client, "inference", INFERENCE_FILE, {"inference_count": str(INFERENCES)})
    choose_url = response.headers["Location"]

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["0", "1"],
                                             "combine-0": "sum"})
    assert response.status_code == 303
    draft = db.session.get(EvaluationDraft, response.headers["Location"].split("draft=")[1])
    rows = file_rows(INFERENCE_FILE)[:2]
    energy = sum(float(row["energy_consumed"]) for row in rows) * 3.6e6 / INFERENCES
    assert draft.values["energy_per_inference"] == pytest.approx(energy, rel=1e-12)
    assert any("must count the inferences of all 2 rows" in note for note in draft.notes)


def test_unknown_combination_rejected(client):
    response = upload(client, "training", TRAINING_FILE)
    choose_url = response.headers["Location"]

    response = client.post(choose_url, data={"csrf_token": csrf_token(client), "runs-0": ["0", "1"],
                                             "combine-0": "median"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "training-emissions.csv: invalid combination &#39;median&#39;. Choose mean or sum." in body
