"""The sync screen of QA managers and the sync-hf command, with a fake Hub on loopback."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Job, JobState, MLModel
from gaissa.models.base import utcnow
from gaissa.models.sync import SyncRun, SyncState
from tests.conftest import csrf_token
from tests.hub_server import LISTING_START, FakeHub, case_repos

HTMX = {"HX-Request": "true"}


@pytest.fixture
def hub(app, monkeypatch):
    fake = FakeHub(page_size=100)
    fake.add(case_repos())
    fake.start()
    monkeypatch.setitem(app.config, "HF_ENDPOINT", fake.url)
    monkeypatch.setitem(app.config, "HF_RETRY_BASE_WAIT", 0.0)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield fake
    fake.stop()


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def start(client, **form):
    return client.post("/admin/sync/start", data={"csrf_token": csrf_token(client), **form})


def running_job() -> Job:
    job = Job(kind="hf_sync", state=JobState.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), done=120, total=400,
              progress=0.3, message="120 models read: 120 created, 0 updated, 0 unchanged, 0 skipped, 0 failed.")
    db.session.add(job)
    db.session.flush()
    db.session.add(SyncRun(provider="huggingface", state=SyncState.RUNNING, job_id=job.id, listed=120, created=120,
                           owner="another-host:1", heartbeat_at=utcnow()))
    db.session.commit()
    return job


# --- Access ----------------------------------------------------------------------------------------

def test_anonymous_redirected_to_login(client):
    response = client.get("/admin/sync/")

    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_non_managers_get_403(client, auth):
    auth.login(email="user@example.org", role="user")

    assert client.get("/admin/sync/").status_code == 403
    assert start(client).status_code == 403


def test_start_needs_csrf(manager, hub):
    assert manager.post("/admin/sync/start", data={}).status_code == 400


# --- The screen ------------------------------------------------------------------------------------

def test_screen_before_any_sync(manager, hub):
    response = manager.get("/admin/sync/")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" in page
    assert "Model catalogue sync" in page
    assert f'href="{hub.url}"' in page
    assert "not set: public models only" in page
    assert "No sync has run yet" in page
    assert 'action="/admin/sync/start"' in page
    assert response.headers["Vary"] == "HX-Request" or "HX-Request" in response.headers["Vary"]


def test_form_start_runs_sync(manager, hub):
    response = start(manager, full="y")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/sync/")
    page = manager.get("/admin/sync/").get_data(as_text=True)
    assert "Sync started." in page
    assert "Last successful sync: run" in page
    run = db.session.scalar(select(SyncRun))
    assert run.state == SyncState.SUCCEEDED
    assert run.counts()["created"] == 8
    assert f'/admin/sync/runs/{run.id}"' in page
    assert db.session.scalar(select(MLModel).where(MLModel.external_id == "org-a/distilgpt2")).external_url == \
        f"{hub.url}/org-a/distilgpt2"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "sync"))
    assert audit.action == "start"
    assert audit.after == {"full": True, "limit": None}


def test_htmx_start_returns_panel(manager, hub):
    response = manager.post("/admin/sync/start", data={"limit": "3"},
                            headers={**HTMX, "X-CSRFToken": csrf_token(manager)})
    panel = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" not in panel
    assert 'id="sync-panel"' in panel
    assert "Sync succeeded." in panel
    assert "3 created" in panel
    assert response.headers["HX-Trigger"] == "sync-finished"
    assert "every 1s" not in panel


def test_invalid_limit_is_explained(manager, hub):
    response = start(manager, limit="0")

    assert response.status_code == 422
    assert "at least 1" in response.get_data(as_text=True)
    assert db.session.scalar(select(SyncRun)) is None

    fragment = manager.post("/admin/sync/start", data={"limit": "many"},
                            headers={**HTMX, "X-CSRFToken": csrf_token(manager)})
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'aria-invalid="true"' in fragment.get_data(as_text=True)


def test_start_rejected_while_running(manager, hub):
    running_job()

    response = start(manager)

    assert response.status_code == 409
    assert "already running" in response.get_data(as_text=True)


def test_running_panel_polls_and_cancels(manager, hub):
    job = running_job()

    page = manager.get("/admin/sync/").get_data(as_text=True)
    panel = manager.get(f"/admin/sync/jobs/{job.id}", headers=HTMX)
    fragment = panel.get_data(as_text=True)

    assert 'hx-trigger="every 1s"' in page
    assert "<html" not in fragment
    assert f'hx-get="/admin/sync/jobs/{job.id}"' in fragment
    assert '<progress value="120" max="400"' in fragment
    assert "120 of about 400 models" in fragment
    assert "Cancel sync" in fragment
    assert "HX-Trigger" not in panel.headers


def test_job_page_without_htmx(manager, hub):
    job = running_job()

    response = manager.get(f"/admin/sync/jobs/{job.id}")

    assert response.status_code == 200
    assert "<html" in response.get_data(as_text=True)
    assert manager.get("/admin/sync/jobs/no-such-job").status_code == 404


def test_cancel_asks_the_job_to_stop(manager, hub):
    job = running_job()

    response = manager.post(f"/admin/sync/jobs/{job.id}/cancel", headers={**HTMX, "X-CSRFToken": csrf_token(manager)})

    assert response.status_code == 200
    assert "Cancellation requested" in response.get_data(as_text=True)
    assert db.session.get(Job, job.id).cancel_requested
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cancel")).entity_id == job.id


def test_cancel_from_a_plain_form_redirects(manager, hub):
    job = running_job()

    response = manager.post(f"/admin/sync/jobs/{job.id}/cancel", data={"csrf_token": csrf_token(manager)})

    assert response.status_code == 303
    assert manager.post("/admin/sync/jobs/unknown/cancel",
                        data={"csrf_token": csrf_token(manager)}).status_code == 404


def test_history_fragment_for_its_target(manager, hub):
    start(manager, full="y")

    response = manager.get("/admin/sync/", headers={**HTMX, "HX-Target": "sync-history"})
    fragment = response.get_data(as_text=True)

    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="sync-history"')
    assert 'hx-trigger="sync-finished from:body"' in fragment
    assert "succeeded" in fragment


def test_interrupted_run_is_announced(manager, hub):
    db.session.add(SyncRun(provider="huggingface", state=SyncState.CANCELLED, listed=40,
                           started_at=utcnow() - timedelta(hours=1), finished_at=utcnow()))
    db.session.commit()

    page = manager.get("/admin/sync/").get_data(as_text=True)

    assert "stopped (cancelled) after 40 models" in page


# --- Run details -----------------------------------------------------------------------------------

def test_run_page_lists_every_model(manager, hub):
    start(manager, full="y")
    run = db.session.scalar(select(SyncRun))

    page = manager.get(f"/admin/sync/runs/{run.id}").get_data(as_text=True)

    assert f"Sync run {run.id}" in page
    assert "cases/C11-hf-card-co2-plain-number" in page
    assert "not rated" in page
    assert "co2_eq_emissions is 0 g, which means the emissions were not measured." in page
    assert "skipped (1)" in page


def test_run_page_filters_by_outcome(manager, hub):
    start(manager, full="y")
    run = db.session.scalar(select(SyncRun))

    response = manager.get(f"/admin/sync/runs/{run.id}?action=skipped", headers={**HTMX, "HX-Target": "sync-items"})
    fragment = response.get_data(as_text=True)

    assert "<html" not in fragment
    assert "cases/C16-hf-card-co2-tab-indent-template" in fragment
    assert "invalid YAML front matter" in fragment
    assert "cases/C11" not in fragment
    assert manager.get("/admin/sync/runs/999999").status_code == 404


def test_run_page_shows_changes(manager, hub):
    start(manager, full="y")
    repo = hub.repos["cases/C13-hf-card-co2-full-dict-grams"]
    repo.edit(repo.readme.replace("emissions: 1710", "emissions: 1800"), when=LISTING_START + timedelta(hours=1))
    start(manager)
    run = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()

    page = manager.get(f"/admin/sync/runs/{run.id}?action=updated").get_data(as_text=True)

    assert "value.co2_eq_emissions" in page
    assert "1710.0 → 1800.0" in page


# --- The command line ------------------------------------------------------------------------------

def test_command_prints_the_counts(runner, hub):
    result = runner.invoke(args=["gaissa", "sync-hf", "--full"])

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "created   8" in result.output
    assert "skipped   1" in result.output

    again = runner.invoke(args=["gaissa", "sync-hf"])

    assert again.exit_code == 0, again.output
    assert "listed    1" in again.output


def test_command_limit(runner, hub):
    result = runner.invoke(args=["gaissa", "sync-hf", "--limit", "2"])

    assert result.exit_code == 0, result.output
    assert "created   2" in result.output
    assert "The limit stopped it" in result.output
    assert runner.invoke(args=["gaissa", "sync-hf", "--limit", "0"]).exit_code == 2


def test_command_rejects_second_sync(runner, hub):
    running_job()

    result = runner.invoke(args=["gaissa", "sync-hf"])

    assert result.exit_code == 1
    assert "already running" in result.output


def test_command_reports_a_failing_hub(runner, hub):
    hub.fail(r"^/api/models$", status=401, retry_after=None)

    result = runner.invoke(args=["gaissa", "sync-hf"])

    assert result.exit_code == 1
    assert f"Listing models from {hub.url} failed after 0 models" in result.output
    assert db.session.scalar(select(SyncRun)).state == SyncState.FAILED
