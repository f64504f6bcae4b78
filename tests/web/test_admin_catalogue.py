"""Information fields and calculation tools: list, search, create, edit, delete, and the column mappings."""

import re

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, CalculationTool, InfoField, InfoValue, Metric, ToolMapping
from gaissa.services import evaluations
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
    post,
)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def info_field(phase: str, key: str) -> InfoField:
    return db.session.scalar(select(InfoField).where(InfoField.phase == phase, InfoField.key == key))


def tool(name: str) -> CalculationTool:
    return db.session.scalar(select(CalculationTool).where(CalculationTool.name == name))


def metric_id(key: str) -> int:
    return db.session.scalar(select(Metric.id).where(Metric.key == key))


# --- Information fields ---------------------------------------------------------------------------


def test_info_list_and_search(manager):
    page = manager.get("/admin/info-fields?phase=training").get_data(as_text=True)
    assert "Training type" in page
    assert "2 options: pretraining, fine-tuning" in page
    assert "Serving runtime" not in page
    fragment = manager.get("/admin/info-fields?phase=training&q=hard", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "Hardware used" in fragment
    assert "Training type" not in fragment


def test_info_create_with_options(manager):
    response = post(manager, "/admin/info-fields/new?phase=inference",
                    {"name": "Précision numérique", "description": "Number format of the weights.",
                     "options": "fp32\nfp16\n\nint8\nfp16\n"})
    assert response.status_code == 303
    created = info_field("inference", "precision_numerique")
    assert created.options == ["fp32", "fp16", "int8"]
    assert created.position > info_field("inference", "serving_runtime").position
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "info_field"))
    assert audit.after["options"] == ["fp32", "fp16", "int8"]


def test_info_create_free_text(manager):
    post(manager, "/admin/info-fields/new?phase=inference", {"name": "Batch size", "options": "  \n "})
    assert info_field("inference", "batch_size").options is None


def test_info_key_unique_per_phase(manager):
    assert post(manager, "/admin/info-fields/new?phase=inference", {"name": "Library"}).status_code == 303
    response = post(manager, "/admin/info-fields/new?phase=training", {"name": "library"})
    assert response.status_code == 400
    assert "The key &#39;library&#39; is already used by another training field" in response.get_data(as_text=True)


def test_info_name_is_required(manager):
    response = post(manager, "/admin/info-fields/new?phase=training", {"name": ""})
    assert response.status_code == 400
    assert "Enter the field&#39;s name, e.g." in response.get_data(as_text=True)


def test_info_edit_keeps_the_key(manager):
    field = info_field("training", "hardware_used")
    page = manager.get(f"/admin/info-fields/{field.id}").get_data(as_text=True)
    assert 'value="Hardware used"' in page
    fragment = manager.get(f"/admin/info-fields/{field.id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    response = post(manager, f"/admin/info-fields/{field.id}",
                    {"name": "Accelerators", "description": "GPUs and TPUs.", "options": "GPU\nTPU"})
    assert response.status_code == 303
    db.session.refresh(field)
    assert (field.key, field.name, field.options) == ("hardware_used", "Accelerators", ["GPU", "TPU"])


def test_info_delete_warns_and_deletes_values_and_mappings(manager):
    model = evaluations.create_model("Model with info")
    evaluations.create_evaluation(evaluations.EvaluationInput(
        phase="training", model_id=model.id, values={"energy": "1 kWh"}, info={"hardware_used": "A100"}))
    db.session.commit()
    field = info_field("training", "hardware_used")
    warning = manager.get(f"/admin/info-fields/{field.id}/delete").get_data(as_text=True)
    assert "1 stored answer</strong>" in warning
    assert "1 calculation-tool mapping will be removed" in warning
    assert "<html" not in manager.get(f"/admin/info-fields/{field.id}/delete", headers=HTMX).get_data(as_text=True)
    field_id = field.id
    assert post(manager, f"/admin/info-fields/{field_id}/delete").status_code == 303
    assert info_field("training", "hardware_used") is None
    assert db.session.scalar(select(func.count(InfoValue.id)).where(InfoValue.field_id == field_id)) == 0
    assert db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.field_id == field_id)) == 0


# --- Calculation tools ----------------------------------------------------------------------------


def test_tool_list_and_search(manager):
    page = manager.get("/admin/calculation-tools").get_data(as_text=True)
    assert "CodeCarbon" in page
    assert "eco2ai" in page
    assert "CodeCarbon emissions.csv" in page
    fragment = manager.get("/admin/calculation-tools?q=carbon", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "CodeCarbon" in fragment
    assert "carbontracker" in fragment
    assert "eco2ai" not in fragment


def test_tool_editor_lists_all_targets(manager):
    codecarbon = tool("CodeCarbon")
    page = manager.get(f"/admin/calculation-tools/{codecarbon.id}").get_data(as_text=True)
    energy = metric_id("energy")
    assert f'name="m-{energy}-column" value="energy_consumed"' in page
    assert f'name="m-{energy}-unit" value="kWh"' in page
    assert "Energy per inference" in page
    assert "Serving runtime" in page
    fragment = manager.get(f"/admin/calculation-tools/{codecarbon.id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment


def test_tool_create_with_mappings_and_units(manager):
    energy, flops = metric_id("energy"), metric_id("flops")
    hardware = info_field("training", "hardware_used").id
    response = post(manager, "/admin/calculation-tools/new", {
        "name": "Zeus", "description": "GPU energy meter.", "file_format": "tabular",
        f"m-{energy}-column": "total_energy", f"m-{energy}-unit": "J",
        f"m-{flops}-column": "flops", f"m-{flops}-unit": "",
        f"f-{hardware}-column": "gpu_model",
        f"m-{metric_id('latency')}-column": "", f"m-{metric_id('latency')}-unit": "",
    }, follow_redirects=True)
    assert response.status_code == 200
    assert "Mappings: 3 added" in response.get_data(as_text=True)
    zeus = tool("Zeus")
    mappings = {(m.column, m.column_unit, m.phase) for m in zeus.mappings}
    assert mappings == {("total_energy", "J", "training"), ("flops", None, "inference"), ("gpu_model", None, "training")}


def test_tool_unit_must_convert_to_the_metric_unit(manager):
    energy = metric_id("energy")
    response = post(manager, "/admin/calculation-tools/new", {
        "name": "Zeus", "file_format": "tabular", f"m-{energy}-column": "total_energy", f"m-{energy}-unit": "kg"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "kg cannot be converted to kWh, the unit of Training energy" in text
    assert f'id="m-{energy}-unit-error"' in text
    assert 'value="total_energy"' in text
    assert tool("Zeus") is None


def test_tool_name_must_be_unique_and_format_known(manager):
    response = post(manager, "/admin/calculation-tools/new", {"name": "codecarbon", "file_format": "xml"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "A tool named &#39;CodeCarbon&#39; already exists" in text
    assert "Choose the file format: codecarbon, tabular, carbontracker, eco2ai." in text


def test_tool_edit_without_mapping_inputs_keeps_the_mappings(manager):
    codecarbon = tool("CodeCarbon")
    before = len(codecarbon.mappings)
    response = post(manager, f"/admin/calculation-tools/{codecarbon.id}",
                    {"name": "CodeCarbon", "description": "New text", "file_format": "codecarbon"},
                    follow_redirects=True)
    assert "No mapping changed." in response.get_data(as_text=True)
    db.session.refresh(codecarbon)
    assert len(codecarbon.mappings) == before
    assert codecarbon.description == "New text"


def test_tool_edit_reports_every_change(manager):
    codecarbon = tool("CodeCarbon")
    energy, co2, duration = metric_id("energy"), metric_id("co2_eq_emissions"), metric_id("duration")
    response = post(manager, f"/admin/calculation-tools/{codecarbon.id}", {
        "name": "CodeCarbon", "file_format": "codecarbon",
        f"m-{energy}-column": "energy_consumed", f"m-{energy}-unit": "kWh",
        f"m-{co2}-column": "emissions", f"m-{co2}-unit": "t",
        f"m-{duration}-column": "", f"m-{duration}-unit": "s",
    }, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "1 changed (emissions → CO2 emissions (training))" in text
    assert "1 removed (duration → Training duration (training))" in text
    db.session.refresh(codecarbon)
    columns = {m.column: m.column_unit for m in codecarbon.mappings if m.phase == "training" and m.metric_id}
    assert columns == {"energy_consumed": "kWh", "emissions": "t"}
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "calculation_tool"))
    assert len(audit.before["mappings"]) == len(audit.after["mappings"]) + 1


def test_tool_delete_warns_and_removes_mappings(manager):
    codecarbon = tool("CodeCarbon")
    warning = manager.get(f"/admin/calculation-tools/{codecarbon.id}/delete").get_data(as_text=True)
    assert "11 column mappings</strong>" in warning
    assert "<html" not in manager.get(f"/admin/calculation-tools/{codecarbon.id}/delete", headers=HTMX).get_data(as_text=True)
    tool_id = codecarbon.id
    assert post(manager, f"/admin/calculation-tools/{tool_id}/delete").status_code == 303
    assert tool("CodeCarbon") is None
    assert db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.tool_id == tool_id)) == 0


def test_tool_editor_per_inference_boxes(manager):
    probe = tool("GAISSALabel model probe")
    page = manager.get(f"/admin/calculation-tools/{probe.id}").get_data(as_text=True)
    flops, latency, energy = metric_id("flops"), metric_id("latency"), metric_id("energy")

    assert re.search(rf'<input type="checkbox" name="m-{flops}-per_inference" value="1" checked', page)
    assert re.search(rf'<input type="checkbox" name="m-{latency}-per_inference" value="1" \s*aria-label', page)
    assert f'name="m-{energy}-per_inference"' not in page
    assert "Tick “Per inference” for a column that already gives one" in page


def test_tool_per_inference_saved_and_cleared(manager):
    latency, energy = metric_id("latency"), metric_id("energy_per_inference")
    form = {
        "name": "Load tester", "file_format": "tabular",
        f"m-{latency}-column": "latency_ms", f"m-{latency}-unit": "ms", f"m-{latency}-per_inference": "1",
        f"m-{energy}-column": "energy_kwh", f"m-{energy}-unit": "kWh",
    }
    response = post(manager, "/admin/calculation-tools/new", form, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "latency_ms → Latency (inference), per inference" in text
    tester = tool("Load tester")
    flags = {m.column: m.per_inference for m in tester.mappings}
    assert flags == {"latency_ms": True, "energy_kwh": False}

    del form[f"m-{latency}-per_inference"]
    response = post(manager, f"/admin/calculation-tools/{tester.id}", form, follow_redirects=True)
    assert "1 changed (latency_ms → Latency (inference))" in response.get_data(as_text=True)
    db.session.refresh(tester)
    assert {m.column: m.per_inference for m in tester.mappings} == {"latency_ms": False, "energy_kwh": False}
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "calculation_tool")
                               .order_by(AuditEntry.id.desc())).first()
    assert [m["per_inference"] for m in audit.before["mappings"] if m["column"] == "latency_ms"] == [True]


def test_tool_per_inference_rejected_for_training(manager):
    energy = metric_id("energy")
    response = post(manager, "/admin/calculation-tools/new", {
        "name": "Zeus", "file_format": "tabular", f"m-{energy}-column": "total_energy", f"m-{energy}-unit": "J",
        f"m-{energy}-per_inference": "1"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Per inference applies to inference metrics only" in text
    assert tool("Zeus") is None
