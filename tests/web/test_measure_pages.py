"""Endpoint measurement pages: form, job status (page and htmx fragment), cancel, results and raw samples.

The job runner is inline in tests, so a submitted measurement has finished when the POST returns.
"""

import json
import logging
import re

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import EvaluationDraft, Job, JobState
from gaissa.services import carbon, evaluations, measurement
from gaissa.services.measurement import JOB_KIND
from tests.conftest import csrf_token
from tests.measure_servers import DigitsHandler, EchoHandler, EnergyReportingHandler, ErrorHandler, digits_model, serving

HTMX = {"HX-Request": "true"}
FORM_URL = "/gaissalabel/measure/"
SECRET = "Bearer secret-token-8f2c91"


@pytest.fixture(autouse=True)
def no_rate_wait(app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_RATE_PER_SECOND", 100_000)


def pixels(count=3):
    _model, images, _labels = digits_model()
    return "\n".join(",".join(f"{value:g}" for value in image) for image in images[:count])


def form_data(client, url, **changes):
    data = {
        "csrf_token": csrf_token(client), "url": url, "method": "POST", "preset": "json_text",
        "body_template": '{"input_text": "{{input}}"}', "headers": "", "inputs": pixels(), "warmup": "2",
        "requests": "20", "concurrency": "2", "timeout": "10", "energy_method": "estimated", "hardware": "nvidia-t4",
        "devices": "1", "country": "",
    }
    data.update(changes)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def job_id_of(response) -> str:
    match = re.search(r"/gaissalabel/measure/jobs/([0-9a-f-]{36})$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


def test_form_page(client):
    response = client.get(FORM_URL)
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" in page
    assert "HX-Request" in response.headers["Vary"]
    assert "Start the measurement" in page
    assert "NVIDIA T4 (70 W max power)" in page
    assert "OpenAI-compatible chat completion" in page
    assert "never stored or logged" in page


def test_preset_fragment(client):
    response = client.get(f"{FORM_URL}preset?preset=openai_chat", headers=HTMX)
    page = response.get_data(as_text=True)

    assert "<html" not in page
    assert "&#34;messages&#34;" in page
    assert 'id="body-template-field"' in page


def test_apply_preset_without_javascript(client):
    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/", preset="hf_inference",
                                                     apply_preset="1"))
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "{&#34;inputs&#34;: &#34;{{input}}&#34;}" in page
    assert 'value="http://127.0.0.1:9/"' in page
    assert count(Job) == 0


def test_invalid_form_keeps_input(client):
    response = client.post(FORM_URL, data=form_data(client, "", inputs="", requests="many", headers="Authorization"))
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "Enter the endpoint URL" in page
    assert "The number of requests must be a whole number; got &#39;many&#39;." in page
    assert "Line 1 is not a header" in page
    assert "nvidia-t4\" selected" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert count(Job) == 0


def test_invalid_form_htmx_fragment(client):
    data = form_data(client, "ftp://example.org/")
    response = client.post(FORM_URL, data=data, headers={**HTMX, "X-CSRFToken": data["csrf_token"]})
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" not in page
    assert "Only http and https URLs can be requested" in page


def test_measurement_end_to_end(client, caplog):
    caplog.set_level(logging.DEBUG)
    with serving(DigitsHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict"), headers=f"Authorization: {SECRET}"))
    assert response.status_code == 303
    job = db.session.get(Job, job_id_of(response))

    assert job.state == JobState.SUCCEEDED
    assert job.result["succeeded"] == 20
    assert server.received[0]["headers"]["Authorization"] == SECRET
    draft = db.session.get(EvaluationDraft, job.result["draft_id"])
    assert draft.phase == "inference"
    assert draft.source == "endpoint"
    assert draft.inference_count == 20
    assert draft.values["energy_per_inference"] > 0
    assert draft.values["latency"] == pytest.approx(job.result["latency_ms"]["mean"], rel=1e-5)
    assert job.message == "Finished: 20 of 20 measured requests succeeded."
    assert draft.value_provenance["energy_per_inference"]["method"] == "estimated"
    assert draft.value_provenance["energy_per_inference"]["power_w"] == 70
    assert draft.value_provenance["latency"] == {**draft.value_provenance["latency"], "kind": "endpoint",
                                                 "method": "measured", "statistic": "mean"}
    assert draft.info == {"hardware_used": "NVIDIA T4 (70 W max power)",
                          "source": "GAISSA Tools endpoint measurement (energy estimated from rated power)"}
    assert draft.provenance["url"] == server.url("/predict")
    assert len(draft.measurement["samples"]) == 20
    assert len(draft.measurement["warmup_samples"]) == 2
    # The request headers were used but never stored or logged.
    stored = json.dumps([job.params, job.result, job.log, draft.provenance, draft.measurement, draft.notes])
    assert "secret-token" not in stored
    assert "secret-token" not in caplog.text


def test_results_page(client):
    with serving(DigitsHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict")))
    job_id = job_id_of(response)
    page = client.get(f"/gaissalabel/measure/jobs/{job_id}").get_data(as_text=True)
    draft_id = db.session.get(Job, job_id).result["draft_id"]

    assert "<html" in page
    assert "Energy per inference" in page
    assert "estimated" in page
    assert "p99" in page
    assert "requests per second" in page
    assert "NVIDIA T4 product brief: 70 W maximum power limit" in page
    assert f'href="/gaissalabel/inference/new?draft={draft_id}"' in page
    assert "Use these results" in page
    assert 'hx-trigger="every 1s"' not in page


def test_use_results_opens_prefilled_form(client):
    with serving(DigitsHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict")))
    draft = db.session.get(EvaluationDraft, db.session.get(Job, job_id_of(response)).result["draft_id"])

    page = client.get(f"/gaissalabel/inference/new?draft={draft.id}").get_data(as_text=True)

    assert evaluations.format_for_input(draft.values["energy_per_inference"]) in page
    assert evaluations.format_for_input(draft.values["latency"]) in page


def test_draft_values_are_rounded_and_samples_kept(client):
    with serving(DigitsHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict")))
    job = db.session.get(Job, job_id_of(response))
    draft = db.session.get(EvaluationDraft, job.result["draft_id"])
    energy = job.result["energy"]["joules_per_inference"]
    latency = job.result["latency_ms"]["mean"]

    assert draft.values["energy_per_inference"] == float(f"{energy:.6g}")
    assert draft.values["latency"] == float(f"{latency:.6g}")
    assert draft.measurement["summary"]["energy"]["joules_per_inference"] == energy
    assert draft.measurement["summary"]["latency_ms"]["mean"] == latency
    assert len(draft.measurement["samples"]) == 20
    form = client.get(f"/gaissalabel/inference/new?draft={draft.id}").get_data(as_text=True)
    assert f'value="{float(f"{energy:.6g}"):.12g}"' in form


def test_kserve_preset_with_text_points_at_the_inputs(client):
    kserve = measurement.PRESETS["kserve_v2"].template
    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/v2/models/m/infer", preset="kserve_v2",
                                                     body_template=kserve, inputs="hello world"))
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert '<p class="field-error" id="inputs-error">Input 1 (&#39;hello world&#39;) is not a JSON value' in page
    assert 'id="body_template-error"' not in page
    assert 'aria-invalid="true" aria-describedby="inputs-error"' in page
    assert count(Job) == 0


def test_get_ignores_the_prefilled_body(client):
    with serving(EchoHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict?text={{input}}"), method="GET",
                                                        inputs="hello world", warmup="0", requests="3"))
    job = db.session.get(Job, job_id_of(response))
    page = client.get(f"/gaissalabel/measure/jobs/{job.id}").get_data(as_text=True)
    form = client.get(FORM_URL).get_data(as_text=True)

    assert job.state == JobState.SUCCEEDED
    assert [request["method"] for request in server.received] == ["GET"] * 3
    assert server.received[0]["body"] == b""
    assert server.received[0]["path"] == "/predict?text=hello%20world"
    assert job.params["body_template"] == ""
    assert "GET requests carry no body, so each input was sent in the URL and the body template was not used." in page
    assert "a GET request has no body, so the body template is then ignored" in form


def test_starts_are_rate_limited_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MEASURE_STARTS_PER_HOUR", 2)
    with serving(EchoHandler) as server:
        settings = {"inputs": "a", "warmup": "0", "requests": "2"}
        started = [client.post(FORM_URL, data=form_data(client, server.url(), **settings)) for _ in range(2)]
        refused = client.post(FORM_URL, data=form_data(client, server.url(), **settings))
        elsewhere = client.post(FORM_URL, data=form_data(client, server.url(), **settings),
                                environ_overrides={"REMOTE_ADDR": "198.51.100.7"})
    page = refused.get_data(as_text=True)

    assert [response.status_code for response in started] == [303, 303]
    assert refused.status_code == 429
    assert "Your network address has started 2 measurements this hour, the most this site allows." in page
    assert "Try again in about" in page
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert elsewhere.status_code == 303
    assert count(Job) == 3
    assert len(server.received) == 6


def test_invalid_form_does_not_count_against_the_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MEASURE_STARTS_PER_HOUR", 1)
    client.post(FORM_URL, data=form_data(client, ""))
    with serving(EchoHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url(), inputs="a", warmup="0", requests="1"))

    assert response.status_code == 303


def test_reported_energy_marks_provenance(client):
    with serving(EnergyReportingHandler, joules=0.5) as server:
        response = client.post(FORM_URL, data=form_data(
            client, server.url(), inputs="hello", energy_method="reported", energy_location="json",
            energy_path="usage.energy.joules", energy_unit="J", hardware=""))
    job = db.session.get(Job, job_id_of(response))
    draft = db.session.get(EvaluationDraft, job.result["draft_id"])
    page = client.get(f"/gaissalabel/measure/jobs/{job.id}").get_data(as_text=True)

    assert draft.values["energy_per_inference"] == pytest.approx(0.5)
    assert draft.value_provenance["energy_per_inference"]["method"] == "reported"
    assert "hardware_used" not in draft.info
    assert "reported by the endpoint" in page


def test_failed_measurement_saves_nothing(client):
    drafts_before = count(EvaluationDraft)
    with serving(ErrorHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url()))
    job = db.session.get(Job, job_id_of(response))
    page = client.get(response.headers["Location"]).get_data(as_text=True)

    assert job.state == JobState.FAILED
    assert count(EvaluationDraft) == drafts_before
    assert "The measurement failed" in page
    assert "The first request failed: HTTP 500 Internal Server Error." in page
    assert "Nothing was saved." in page
    assert "MeasurementFailed" not in page
    assert f"/gaissalabel/measure/?from={job.id}" in page


def test_refused_address_named_on_form(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOWLIST", [])
    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/predict"))
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "127.0.0.1 is a loopback address; measurements may only reach public hosts." in page
    assert count(Job) == 0


def test_headers_refused_with_rq_runner(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_RUNNER", "rq")
    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/", headers=f"Authorization: {SECRET}"))
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "secrets would pass through Redis" in page
    assert count(Job) == 0


def test_secret_query_value_not_stored(client, caplog):
    caplog.set_level(logging.DEBUG)
    with serving(EchoHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict?api_key=k-9931&model=digits"),
                                                        inputs="a", warmup="0", requests="3"))
    job = db.session.get(Job, job_id_of(response))

    assert job.state == JobState.SUCCEEDED
    assert server.received[0]["path"] == "/predict?api_key=k-9931&model=digits"
    assert "k-9931" not in json.dumps([job.params, job.result])
    assert job.params["url"].endswith("/predict?api_key=REDACTED&model=digits")
    assert "k-9931" not in caplog.text
    assert "api_key=REDACTED" in caplog.text  # urllib3's request log line, redacted


def test_too_many_measurements_running(client):
    for _ in range(4):
        db.session.add(Job(kind=JOB_KIND, state=JobState.RUNNING, params={}))
    db.session.commit()

    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/"))

    assert response.status_code == 422
    assert "4 measurements are running, the most this site allows at once." in response.get_data(as_text=True)


def running_job(**changes) -> Job:
    settings = {"state": JobState.RUNNING, "params": {}, "total": 22, "done": 5, "message": "Measuring…", **changes}
    job = Job(kind=JOB_KIND, **settings)
    db.session.add(job)
    db.session.commit()
    return job


def test_status_fragment_polls_while_running(client):
    job = running_job()
    response = client.get(f"/gaissalabel/measure/jobs/{job.id}", headers=HTMX)
    fragment = response.get_data(as_text=True)

    assert "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert '<progress value="5" max="22"' in fragment
    assert "hx-confirm=" in fragment
    assert "5 of 22 requests" in fragment


def test_status_page_refreshes_without_javascript(client):
    job = running_job()
    page = client.get(f"/gaissalabel/measure/jobs/{job.id}").get_data(as_text=True)

    assert "<html" in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert f'action="/gaissalabel/measure/jobs/{job.id}/cancel"' in page


def test_cancel_running_job_with_htmx(client):
    job = running_job()
    token = csrf_token(client)
    response = client.post(f"/gaissalabel/measure/jobs/{job.id}/cancel", headers={**HTMX, "X-CSRFToken": token})
    fragment = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" not in fragment
    assert "Stopping" in fragment
    assert db.session.get(Job, job.id).cancel_requested is True


def test_cancel_queued_job_with_plain_form(client):
    job = running_job(state=JobState.QUEUED)
    response = client.post(f"/gaissalabel/measure/jobs/{job.id}/cancel", data={"csrf_token": csrf_token(client)})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/gaissalabel/measure/jobs/{job.id}"
    assert db.session.get(Job, job.id).state == JobState.CANCELLED
    assert "Measurement cancelled" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_cancel_needs_csrf_token(client):
    job = running_job()

    response = client.post(f"/gaissalabel/measure/jobs/{job.id}/cancel")

    assert response.status_code == 400
    assert db.session.get(Job, job.id).cancel_requested is False


def test_cancelled_job_saves_nothing(app):
    from gaissa.services import jobs

    with serving(EchoHandler) as server:
        params = {"url": server.url(), "inputs": ["a"], "method": "POST", "body_template": '{"x": "{{input}}"}',
                  "warmup": 2, "requests": 50, "concurrency": 1, "timeout_s": 5.0,
                  "energy": {"method": "estimated", "hardware_key": "nvidia-t4"}}
        job = Job(kind=JOB_KIND, state=JobState.QUEUED, params=params, cancel_requested=True)
        db.session.add(job)
        db.session.commit()
        drafts_before = count(EvaluationDraft)
        jobs.execute(job.id)

    assert db.session.get(Job, job.id).state == JobState.CANCELLED
    assert count(EvaluationDraft) == drafts_before
    assert len(server.received) == 1


def test_other_job_kinds_are_not_found(client):
    job = Job(kind="hf_sync", state=JobState.RUNNING, params={})
    db.session.add(job)
    db.session.commit()

    assert client.get(f"/gaissalabel/measure/jobs/{job.id}").status_code == 404
    assert client.get("/gaissalabel/measure/jobs/no-such-job").status_code == 404


def test_samples_csv(client):
    with serving(DigitsHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/predict")))
    job_id = job_id_of(response)

    download = client.get(f"/gaissalabel/measure/jobs/{job_id}/samples.csv")
    lines = download.get_data(as_text=True).splitlines()

    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0] == "index,input_index,warmup,started_s,ended_s,latency_ms,status,bytes,energy_j,error"
    assert len(lines) == 1 + 22
    assert sum(line.split(",")[2] == "True" for line in lines[1:]) == 2


def test_measure_again_prefills_form(client):
    with serving(ErrorHandler) as server:
        response = client.post(FORM_URL, data=form_data(client, server.url("/x"), headers=f"Authorization: {SECRET}"))
    job_id = job_id_of(response)

    page = client.get(f"{FORM_URL}?from={job_id}").get_data(as_text=True)

    assert f'value="{server.url("/x")}"' in page
    assert "Enter the request headers again" in page
    assert "secret-token" not in page


def test_htmx_submit_redirects_to_job(client):
    data = form_data(client, "http://127.0.0.1:9/")
    with serving(EchoHandler) as server:
        data.update(url=server.url(), inputs="a", warmup="0", requests="2")
        response = client.post(FORM_URL, data=data, headers={**HTMX, "X-CSRFToken": data["csrf_token"]})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/gaissalabel/measure/jobs/")


OWID_SAMPLE = """Entity,Code,Year,Carbon intensity of electricity - gCO2/kWh
Spain,ESP,2022,165.13
Spain,ESP,2023,121.2
World,OWID_WRL,2023,480.0
"""


def test_co2_per_inference_from_country(client):
    carbon.import_owid(OWID_SAMPLE)
    db.session.commit()
    with serving(EnergyReportingHandler, joules=36.0) as server:
        response = client.post(FORM_URL, data=form_data(
            client, server.url(), inputs="hello", country="ESP", energy_method="reported", energy_location="json",
            energy_path="usage.energy.joules"))
    job = db.session.get(Job, job_id_of(response))
    page = client.get(f"/gaissalabel/measure/jobs/{job.id}").get_data(as_text=True)
    draft = db.session.get(EvaluationDraft, job.result["draft_id"])

    # 36 J = 1e-5 kWh; × 121.2 g/kWh = 1.212e-3 g.
    assert job.result["co2"]["g_per_inference"] == pytest.approx(1.212e-3)
    assert job.result["co2"]["year"] == 2023
    assert "Spain, 121 g/kWh (2023)" in page
    assert draft.info["country"] == "ESP"
    assert '<option value="ESP"' in client.get(FORM_URL).get_data(as_text=True)


def test_country_without_data_rejected(client):
    carbon.import_owid(OWID_SAMPLE)
    db.session.commit()

    response = client.post(FORM_URL, data=form_data(client, "http://127.0.0.1:9/", country="ATA"))

    assert response.status_code == 422
    assert "No carbon-intensity data for country &#39;ATA&#39;" in response.get_data(as_text=True)


def test_form_names_refused_address_with_other_errors(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOWLIST", [])
    response = client.post(FORM_URL, data=form_data(client, "http://10.0.0.1/predict", energy_method="reported",
                                                    energy_path=""))
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "10.0.0.1 is a private address; measurements may only reach public hosts." in page
    assert "Enter the JSON path" in page


def test_job_without_its_headers_fails_clearly(app):
    from gaissa.services import jobs

    params = {"url": "http://127.0.0.1:9/", "inputs": ["a"], "energy": {"method": "estimated", "watts": 100.0},
              "secrets_ref": "not-in-this-process"}
    job = Job(kind=JOB_KIND, state=JobState.QUEUED, params=params)
    db.session.add(job)
    db.session.commit()

    jobs.execute(job.id)
    job = db.session.get(Job, job.id)

    assert job.state == JobState.FAILED
    assert measurement.describe_failure(job).startswith("The request headers of this measurement are no longer available")
