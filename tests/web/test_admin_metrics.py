"""The metrics screen: list and search, the editor and its validation, the live preview, calibration, deletion."""

import numpy as np
import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Metric, MetricValue, SchemeEntry, ToolMapping
from gaissa.services import metric_admin, scheme_admin
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


def metric(key: str) -> Metric:
    return db.session.scalar(select(Metric).where(Metric.key == key))


# --- List and search -----------------------------------------------------------------------------


def test_list_shows_weights_directions_and_boundaries(manager):
    response = manager.get("/admin/metrics?phase=inference")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<html" in text
    assert "Energy per inference" in text
    assert "Higher is better" in text  # accuracy
    assert "40 %" in text  # 0.4 of a total weight of 1.0
    assert text.index("Energy per inference") < text.index("Latency") < text.index("Parameters")
    assert "Training energy" not in text


def test_search_returns_rows_only_for_htmx(manager):
    response = manager.get("/admin/metrics?phase=training&q=CO2", headers=HTMX)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in text
    assert text.lstrip().startswith("<tr")
    assert "CO2 emissions" in text
    assert "Training energy" not in text
    assert "HX-Request" in response.headers["Vary"]


def test_search_without_match_says_so(manager):
    text = manager.get("/admin/metrics?phase=training&q=zzz", headers=HTMX).get_data(as_text=True)
    assert "No training metric matches “zzz”." in text


def test_unknown_phase_is_not_found(manager):
    assert manager.get("/admin/metrics?phase=testing").status_code == 404


# --- Creating ------------------------------------------------------------------------------------


def test_create_puts_the_metric_into_the_draft(manager):
    published_before = scheme_admin.latest_published("inference")
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form())
    assert response.status_code == 303
    created = metric("fine_tuning_energy")
    assert response.headers["Location"] == f"/admin/metrics/{created.id}"
    assert created.phase == "inference"
    assert created.recommendations == ["Use fewer epochs.", "Use a smaller model."]

    draft = scheme_admin.draft_of("inference")
    entry = next(entry for entry in draft.entries if entry.metric_key == "fine_tuning_energy")
    assert entry.weight == 0.2
    assert entry.boundaries == (1.0, 10.0, 100.0, 1000.0)
    assert entry.metric_id == created.id
    assert len(draft.entries) == len(published_before.entries) + 1
    assert scheme_admin.latest_published("inference").id == published_before.id
    assert all(entry.metric_key != "fine_tuning_energy" for entry in published_before.entries)

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "metric").order_by(AuditEntry.id.desc()))
    assert entry.action == "create"
    assert entry.after["weight"] == 0.2
    assert entry.user.email == "manager@example.org"


def test_create_flash_mentions_draft(manager):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Created Fine-tuning energy (fine_tuning_energy)" in text
    assert "draft" in text


@pytest.mark.parametrize(("name", "key"), [
    ("Énergie d'entraînement (kWh)", "energie_d_entrainement_kwh"),
    ("  GPU   hours / run ", "gpu_hours_run"),
    ("CO₂-eq per token", "co2_eq_per_token"),
])
def test_key_is_an_ascii_slug_of_the_name(manager, name, key):
    assert post(manager, "/admin/metrics/new?phase=training", metric_form(name=name)).status_code == 303
    assert metric(key) is not None
    assert metric_admin.slugify_key(name) == key


def test_key_collision_is_a_field_error(manager):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(name="Latency!"))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "The key &#39;latency&#39; is already used by the inference metric &#39;Latency&#39;" in text
    assert 'aria-invalid="true"' in text
    assert scheme_admin.draft_of("inference") is None


def test_duplicate_name_in_phase_is_a_field_error(manager):
    response = post(manager, "/admin/metrics/new?phase=training", metric_form(name="  training ENERGY "))
    text = response.get_data(as_text=True)

    assert response.status_code == 400
    assert ("The training metric &#39;Training energy&#39; (key energy) already has this name; choose another name"
            in text)
    assert 'id="name-error"' in text
    assert metric("training_energy") is None
    assert scheme_admin.draft_of("training") is None


def test_same_name_in_other_phase_is_allowed(manager):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(name="Training energy"))

    assert response.status_code == 303
    assert metric("training_energy").phase == "inference"


def test_rename_to_a_taken_name_is_refused(manager):
    latency = metric("latency")
    form = metric_form(name="Energy per inference", unit="ms", weight="0.2", b1="10", b2="50", b3="200", b4="1000")

    response = post(manager, f"/admin/metrics/{latency.id}", form)

    assert response.status_code == 400
    assert "already has this name" in response.get_data(as_text=True)
    db.session.refresh(latency)
    assert latency.name == "Latency"


def test_name_without_letters_is_rejected(manager):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(name="日本語"))
    assert response.status_code == 400
    assert "gives an empty key" in response.get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"b3": "5"}, "b3", "Boundary 3 must be strictly above boundary 2 (10 kWh)"),
    ({"b2": "1"}, "b2", "Boundary 2 must be strictly above boundary 1 (1 kWh)"),
    ({"direction": "higher_is_better"}, "b2", "Boundary 2 must be strictly below boundary 1"),
    ({"b4": ""}, "b4", "Enter boundary 4."),
    ({"b1": "many"}, "b1", "Boundary 1:"),
    ({"b1": "3 s"}, "b1", "cannot be expressed in kWh"),
    ({"weight": "-0.1"}, "weight", "The weight must be ≥ 0; got -0.1."),
    ({"weight": ""}, "weight", "Enter a weight ≥ 0"),
    ({"weight": "nan"}, "weight", "Enter a finite number"),
    ({"unit": "bananas"}, "unit", "The unit &#39;bananas&#39; is not known."),
    ({"unit": ""}, "unit", "Enter the unit of the values."),
    ({"direction": "sideways"}, "direction", "Choose whether lower or higher values are better."),
    ({"name": ""}, "name", "Enter the metric&#39;s name"),
    ({"unit": "kwh"}, "unit", "The unit &#39;kwh&#39; is not known; did you mean kWh? Units are case-sensitive"),
    ({"b1": "-1"}, "b1", "Boundary 1 must be ≥ 0, because an energy cannot be negative; got -1 kWh."),
    ({"unit": "g", "b1": "-0.5"}, "b1", "Boundary 1 must be ≥ 0, because a mass cannot be negative"),
    ({"unit": "s", "b1": "-0.5"}, "b1", "because a time cannot be negative"),
    ({"unit": "count", "b1": "-3"}, "b1", "because a count cannot be negative; got -3."),
    ({"unit": "MB", "b1": "-3"}, "b1", "because a data size cannot be negative"),
    ({"unit": "score", "b1": "0.1", "b2": "0.2", "b3": "5", "b4": "8"}, "b3",
     "Boundary 3 must be from 0 to 1, the range of a score; got 5. For percentages use the unit %."),
    ({"unit": "%", "b4": "120"}, "b4", "Boundary 4 must be from 0 to 100, the range of a percentage; got 120."),
    ({"weight": "1e308"}, "weight", "The weight must be at most 1,000; got 1e+308."),
])
def test_invalid_input_is_reported_at_the_field(manager, changes, field, message):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(**changes))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert f'id="{field}-error"' in text
    assert "Nothing was saved." in text
    assert metric("fine_tuning_energy") is None
    assert scheme_admin.draft_of("inference") is None


def test_invalid_form_keeps_what_was_typed(manager):
    response = post(manager, "/admin/metrics/new?phase=inference", metric_form(b3="5", description="Kept text"))
    text = response.get_data(as_text=True)
    assert "Kept text" in text
    assert 'value="5"' in text


def test_boundaries_with_units_are_converted(manager):
    post(manager, "/admin/metrics/new?phase=training", metric_form(b1="500 Wh", b2="1", b3="2 MWh", b4="3e6 Wh"))
    entry = scheme_admin.working_entry("training", "fine_tuning_energy")
    assert entry.boundaries == (0.5, 1.0, 2000.0, 3000.0)


def test_higher_is_better_needs_decreasing_boundaries(manager):
    form = metric_form(name="Throughput", unit="count", direction="higher_is_better", b1="1000", b2="100", b3="10", b4="1")
    assert post(manager, "/admin/metrics/new?phase=inference", form).status_code == 303
    assert scheme_admin.working_entry("inference", "throughput").boundaries == (1000.0, 100.0, 10.0, 1.0)


def test_boundary_limits_accept_the_edges(manager):
    score = metric_form(name="Accuracy score", unit="score", direction="higher_is_better", weight="1000",
                        b1="1", b2="0.9", b3="0.5", b4="0")
    energy = metric_form(b1="0")

    assert post(manager, "/admin/metrics/new?phase=inference", score).status_code == 303
    assert post(manager, "/admin/metrics/new?phase=inference", energy).status_code == 303
    assert scheme_admin.working_entry("inference", "accuracy_score").weight == 1000.0


def test_weight_help_names_the_maximum(manager):
    page = manager.get("/admin/metrics/new?phase=inference").get_data(as_text=True)

    assert "relative to the other weights, from 0 to 1,000." in page


def test_zero_weight_is_allowed_and_explained(manager):
    page = manager.get("/admin/metrics/new?phase=inference").get_data(as_text=True)
    assert "0 leaves it out of the overall grade" in page
    assert post(manager, "/admin/metrics/new?phase=inference", metric_form(weight="0")).status_code == 303


# --- Editing -------------------------------------------------------------------------------------


def test_edit_form_shows_the_working_values(manager):
    latency = metric("latency")
    text = manager.get(f"/admin/metrics/{latency.id}").get_data(as_text=True)
    assert 'value="Latency"' in text
    assert 'value="0.2"' in text
    assert 'value="1000"' in text
    assert "Key <code>latency</code>" in text


def test_edit_weight_creates_draft(manager):
    latency = metric("latency")
    published = scheme_admin.latest_published("inference")
    form = metric_form(name="Latency", unit="ms", weight="0.5", b1="10", b2="50", b3="200", b4="1000")
    response = post(manager, f"/admin/metrics/{latency.id}", form, follow_redirects=True)
    assert "in the draft scheme until you publish it" in response.get_data(as_text=True)
    assert scheme_admin.working_entry("inference", "latency").weight == 0.5
    assert scheme_admin.published_entry("inference", "latency").weight == 0.2
    assert scheme_admin.latest_published("inference").id == published.id


def test_saving_without_rating_changes_creates_no_draft(manager):
    latency = metric("latency")
    form = metric_form(name="Latency", unit="ms", weight="0.2", b1="10", b2="50", b3="200", b4="1000",
                       description="Time to answer one request.")
    assert post(manager, f"/admin/metrics/{latency.id}", form).status_code == 303
    assert scheme_admin.draft_of("inference") is None
    assert metric("latency").description == "Time to answer one request."


def test_key_never_changes(manager):
    latency = metric("latency")
    form = metric_form(name="Response time", unit="ms", weight="0.2", b1="10", b2="50", b3="200", b4="1000",
                       key="response_time")
    post(manager, f"/admin/metrics/{latency.id}", form)
    db.session.refresh(latency)
    assert latency.key == "latency"
    assert latency.name == "Response time"
    assert scheme_admin.draft_of("inference") is None


def test_rename_reaches_the_next_draft(manager):
    latency = metric("latency")
    form = metric_form(name="Response time", unit="ms", weight="0.2", b1="10", b2="50", b3="200", b4="1000")
    post(manager, f"/admin/metrics/{latency.id}", form)
    post(manager, f"/admin/metrics/{latency.id}", {**form, "weight": "0.25"})
    assert scheme_admin.working_entry("inference", "latency").metric_name == "Response time"
    assert scheme_admin.published_entry("inference", "latency").metric_name == "Latency"
    post(manager, f"/admin/metrics/{latency.id}", {**form, "name": "Time to answer", "weight": "0.25"})
    assert scheme_admin.working_entry("inference", "latency").metric_name == "Time to answer"


def test_unit_cannot_change_while_values_are_stored(manager):
    store_evaluation("inference", {"latency": "30"})
    latency = metric("latency")
    form = metric_form(name="Latency", unit="s", weight="0.2", b1="0.01", b2="0.05", b3="0.2", b4="1")
    response = post(manager, f"/admin/metrics/{latency.id}", form)
    assert response.status_code == 400
    assert "The unit cannot change from ms to s while 1 stored values are in ms" in response.get_data(as_text=True)


def test_unknown_metric_is_not_found(manager):
    assert manager.get("/admin/metrics/99999").status_code == 404


# --- Live preview --------------------------------------------------------------------------------


def test_preview_shows_five_segments(manager):
    response = manager.get("/admin/metrics/preview", headers=HTMX, query_string={
        "direction": "lower_is_better", "b1": "1", "b2": "10", "b3": "100", "b4": "1000", "unit": "J",
        "name": "Énergie par requête"})
    text = response.get_data(as_text=True)
    assert "<html" not in text
    for letter, label in zip("ABCDE", ("≤ 1 J", "≤ 10 J", "≤ 100 J", "≤ 1,000 J", "&gt; 1,000 J")):
        assert f'<div class="grade-{letter}"><strong>{letter}</strong>{label}</div>' in text
    assert "key-preview" not in text


def test_preview_of_the_key_for_its_own_target(manager):
    response = manager.get("/admin/metrics/preview", query_string={"name": "Énergie par requête"},
                           headers={**HTMX, "HX-Target": "key-preview"})
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<p class="help key-preview" id="key-preview"')
    assert "<code>energie_par_requete</code>" in text
    assert 'class="scale"' not in text


def test_new_metric_form_shows_the_key_line(manager):
    text = manager.get("/admin/metrics/new?phase=training").get_data(as_text=True)
    assert 'id="key-preview"' in text
    text = manager.get(f"/admin/metrics/{metric('latency').id}").get_data(as_text=True)
    assert 'id="key-preview"' not in text


def test_preview_mirrors_higher_is_better(manager):
    text = manager.get("/admin/metrics/preview", headers=HTMX, query_string={
        "direction": "higher_is_better", "b1": "0.9", "b2": "0.8", "b3": "0.7", "b4": "0.6", "unit": "score"}
    ).get_data(as_text=True)
    assert "<strong>A</strong>≥ 0.9</div>" in text
    assert "<strong>E</strong>&lt; 0.6</div>" in text


def test_preview_explains_bad_boundaries(manager):
    text = manager.get("/admin/metrics/preview", headers=HTMX, query_string={
        "direction": "lower_is_better", "b1": "5", "b2": "1", "b3": "7", "b4": "9"}).get_data(as_text=True)
    assert "must increase strictly" in text
    assert 'class="scale"' not in text


def test_preview_page_without_htmx(manager):
    response = manager.get("/admin/metrics/preview?direction=lower_is_better&b1=1&b2=2&b3=3&b4=4")
    assert "<html" in response.get_data(as_text=True)


def test_editor_renders_the_scale_without_javascript(manager):
    text = manager.get(f"/admin/metrics/{metric('latency').id}").get_data(as_text=True)
    assert "<strong>C</strong>≤ 200 ms</div>" in text
    assert 'hx-get="/admin/metrics/preview"' in text


def test_editor_fragment_for_htmx(manager):
    text = manager.get(f"/admin/metrics/{metric('latency').id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in text
    assert text.lstrip().startswith("<form")


# --- Deleting ------------------------------------------------------------------------------------


def test_delete_warning_names_the_values_lost(manager):
    for value in ("5", "30", "100"):
        store_evaluation("inference", {"latency": value, "energy_per_inference": "2"})
    text = manager.get(f"/admin/metrics/{metric('latency').id}/delete").get_data(as_text=True)
    assert "3 stored values" in text
    assert "in 3 evaluations" in text
    assert "1 calculation-tool mapping" in text  # CodeCarbon's duration column
    fragment = manager.get(f"/admin/metrics/{metric('latency').id}/delete", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment


def test_delete_removes_values_and_mappings(manager):
    evaluation = store_evaluation("inference", {"latency": "30", "energy_per_inference": "2"})
    grade_before = evaluation.overall_grade
    latency = metric("latency")
    latency_id = latency.id
    response = post(manager, f"/admin/metrics/{latency_id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/metrics?phase=inference"
    assert metric("latency") is None
    assert db.session.scalar(select(func.count(MetricValue.id)).where(MetricValue.metric_key == "latency")) == 0
    assert db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.metric_id == latency_id)) == 0
    assert all(entry.metric_key != "latency" for entry in scheme_admin.draft_of("inference").entries)
    published = scheme_admin.published_entry("inference", "latency")
    assert published is not None
    assert published.metric_id is None
    db.session.refresh(evaluation)
    assert evaluation.overall_grade == grade_before
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "metric", AuditEntry.action == "delete"))
    assert entry.before["key"] == "latency"
    assert "1 stored values" in entry.summary


def test_delete_draft_only_metric(manager):
    post(manager, "/admin/metrics/new?phase=inference", metric_form())
    created = metric("fine_tuning_energy")
    post(manager, f"/admin/metrics/{created.id}/delete")
    draft = scheme_admin.draft_of("inference")
    assert scheme_admin.diff(scheme_admin.latest_published("inference"), draft) == []
    assert db.session.scalar(select(func.count(SchemeEntry.id)).where(SchemeEntry.metric_key == "fine_tuning_energy")) == 0


# --- Calibration ---------------------------------------------------------------------------------


def test_calibration_refuses_below_ten_values(manager):
    for value in range(1, 10):
        store_evaluation("inference", {"latency": str(value)})
    response = manager.get(f"/admin/metrics/{metric('latency').id}/calibrate")
    text = response.get_data(as_text=True)
    assert "Latency has 9 stored values; calibration needs at least 10." in text
    assert "Put these boundaries into the draft" not in text
    refused = post(manager, f"/admin/metrics/{metric('latency').id}/calibrate",
                   {"b1": "1", "b2": "2", "b3": "3", "b4": "4"})
    assert refused.status_code == 400
    assert scheme_admin.draft_of("inference") is None


def test_calibration_proposes_quantiles_and_fills_the_draft(manager):
    values = [3, 8, 12, 20, 35, 40, 55, 80, 120, 300, 450, 900]
    for value in values:
        store_evaluation("inference", {"latency": str(value)})
    store_evaluation("inference", {"latency": "99999"}, hidden=True)
    latency = metric("latency")
    expected = np.quantile(values, [0.2, 0.4, 0.6, 0.8])
    text = manager.get(f"/admin/metrics/{latency.id}/calibrate").get_data(as_text=True)
    assert "From <strong>12 stored values</strong> in ms." in text
    calibration = scheme_admin.calibrate(latency)
    assert calibration.boundaries == pytest.approx(tuple(expected), rel=1e-6)

    form = dict(zip(("b1", "b2", "b3", "b4"), (f"{value:g}" for value in calibration.boundaries)))
    response = post(manager, f"/admin/metrics/{latency.id}/calibrate", form)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/schemes?phase=inference"
    assert scheme_admin.working_entry("inference", "latency").boundaries == pytest.approx(tuple(expected), rel=1e-5)
    assert scheme_admin.published_entry("inference", "latency").boundaries == (10.0, 50.0, 200.0, 1000.0)


def test_calibration_higher_is_better(manager):
    values = [0.5, 0.6, 0.62, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.97]
    for value in values:
        store_evaluation("inference", {"accuracy": str(value)})
    calibration = scheme_admin.calibrate(metric("accuracy"))
    assert calibration.boundaries == pytest.approx(tuple(np.quantile(values, [0.8, 0.6, 0.4, 0.2])), rel=1e-6)
    assert calibration.message == ""


def test_calibration_with_ties_asks_for_an_edit(manager):
    for _ in range(10):
        store_evaluation("inference", {"latency": "42"})
    response = manager.get(f"/admin/metrics/{metric('latency').id}/calibrate")
    text = response.get_data(as_text=True)
    assert "Some quantiles are equal" in text
    rejected = post(manager, f"/admin/metrics/{metric('latency').id}/calibrate",
                    {"b1": "42", "b2": "42", "b3": "42", "b4": "42"})
    assert rejected.status_code == 400
    assert "must be strictly above" in rejected.get_data(as_text=True)


def test_calibration_fragment(manager):
    text = manager.get(f"/admin/metrics/{metric('latency').id}/calibrate", headers=HTMX).get_data(as_text=True)
    assert "<html" not in text
    assert "0 stored values" in text
