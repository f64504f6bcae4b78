"""A sync killed or cancelled half-way and started again ends with the same database as an uninterrupted sync.

Each sync runs as `flask --app wsgi gaissa sync-hf --full` in its own process, on its own SQLite file, against
a fake Hub on loopback serving 300 of the real models of hf-co2-models.csv.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hub_server import SHARED_DATA, FakeHub, csv_catalogue

ROOT = Path(__file__).resolve().parents[2]
MODELS = 300
DETAILS = r"^/api/models/csv-"

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_file(), reason=f"{SHARED_DATA} is not present")


@pytest.fixture(scope="module")
def hub():
    catalogue = csv_catalogue(limit=MODELS)
    fake = FakeHub(page_size=100, record_requests=False)
    fake.add(catalogue.repos, catalogue.datasets)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def reference(hub, tmp_path_factory):
    """The database after one uninterrupted full sync."""
    database = tmp_path_factory.mktemp("reference") / "gaissa.sqlite"
    create_database(database)
    result = subprocess.run(sync_command(), env=environment(database, hub), cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"created   {MODELS}" in result.stdout
    return dump(database)


def environment(database: Path, hub: FakeHub | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("HF_TOKEN", "TEST_DATABASE_URL", "REDIS_URL", "GAISSA_CONFIG")}
    env.update({
        "GAISSA_CONFIG": "production", "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "restart-test",
        "GAISSA_INSTANCE_DIR": str(database.parent), "LOG_LEVEL": "WARNING",
        "JOB_RUNNER": "inline",
    })
    if hub is not None:
        env["HF_ENDPOINT"] = hub.url
    return env


def sync_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", "gaissa", "sync-hf", "--full"]


def create_database(database: Path) -> None:
    script = ("from gaissa import create_app\nfrom gaissa.extensions import db\nfrom gaissa.services import seed\n"
              "app = create_app()\nwith app.app_context():\n    db.create_all()\n    seed.seed_catalogue()\n"
              "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", script], env=environment(database, None), cwd=ROOT, check=True, timeout=60)


def dump(database: Path) -> set[tuple]:
    """Every synced model, training, value and information value, without ids and sync bookkeeping."""
    connection = sqlite3.connect(database)
    rows: set[tuple] = set()
    for external_id, name, author, url, created, metadata in connection.execute(
            "SELECT external_id, name, author, external_url, created_at, hub_metadata FROM ml_models "
            "WHERE provider = 'huggingface'"):
        metadata = {key: value for key, value in json.loads(metadata).items() if key not in ("sync_run_id", "synced_at")}
        rows.add(("model", external_id, name, author, url, created, json.dumps(metadata, sort_keys=True)))
    rows |= {("training", *row) for row in connection.execute(
        "SELECT m.external_id, e.phase, e.source, e.registered_at, e.overall_grade, e.graded_count, "
        "e.scheme_metric_count, e.provenance FROM evaluations e JOIN ml_models m ON m.id = e.model_id")}
    rows |= {("value", *row) for row in connection.execute(
        "SELECT m.external_id, v.metric_key, v.value, v.unit, v.grade, v.provenance FROM metric_values v "
        "JOIN evaluations e ON e.id = v.evaluation_id JOIN ml_models m ON m.id = e.model_id")}
    rows |= {("info", *row) for row in connection.execute(
        "SELECT m.external_id, f.key, i.value FROM info_values i JOIN info_fields f ON f.id = i.field_id "
        "JOIN evaluations e ON e.id = i.evaluation_id JOIN ml_models m ON m.id = e.model_id")}
    connection.close()
    return rows


def query(database: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(database, timeout=30)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def start_interrupted_sync(database: Path, hub: FakeHub):
    """Start a sync and return it once its first batch is written and its second waits at the gate."""
    gate = hub.gate(DETAILS, after=150)
    process = subprocess.Popen(sync_command(), env=environment(database, hub), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert gate.reached.wait(timeout=60), "the sync never reached the gate"
    # The first batch of 100 models is written while the second one waits at the gate.
    deadline = time.monotonic() + 60
    while not query(database, "SELECT 1 FROM sync_runs WHERE listed >= 100"):
        assert time.monotonic() < deadline, "the first batch was never written"
        time.sleep(0.05)
    return process, gate


def test_sync_killed_half_way_resumes(hub, reference, tmp_path):
    database = tmp_path / "gaissa.sqlite"
    create_database(database)

    process, gate = start_interrupted_sync(database, hub)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    gate.release.set()

    assert query(database, "SELECT state, listed FROM sync_runs") == [("running", 100)]
    assert query(database, "SELECT count(*) FROM ml_models WHERE provider = 'huggingface'") == [(100,)]

    result = subprocess.run(sync_command(), env=environment(database, hub), cwd=ROOT, capture_output=True,
                            text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert query(database, "SELECT state, resume_count, listed, created FROM sync_runs") == \
        [("succeeded", 1, MODELS, MODELS)]
    assert query(database, "SELECT count(*), count(DISTINCT external_id) FROM sync_items") == [(MODELS, MODELS)]
    assert dump(database) == reference


def test_sync_cancelled_half_way_resumes(hub, reference, tmp_path):
    database = tmp_path / "gaissa.sqlite"
    create_database(database)

    process, gate = start_interrupted_sync(database, hub)
    connection = sqlite3.connect(database, timeout=30)
    connection.execute("UPDATE jobs SET cancel_requested = 1")
    connection.commit()
    connection.close()
    gate.release.set()
    _, errors = process.communicate(timeout=60)

    assert process.returncode != 0
    assert "Cancelled" in errors
    assert query(database, "SELECT state FROM sync_runs") == [("cancelled",)]

    result = subprocess.run(sync_command(), env=environment(database, hub), cwd=ROOT, capture_output=True,
                            text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert query(database, "SELECT state, resume_count, listed FROM sync_runs") == [("succeeded", 1, MODELS)]
    assert query(database, "SELECT count(*), count(DISTINCT external_id) FROM sync_items") == [(MODELS, MODELS)]
    assert dump(database) == reference
