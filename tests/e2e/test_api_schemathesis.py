"""Schemathesis against /api/v1/openapi.json on a live server on loopback.

Checks that no generated request causes a server error and that every response conforms to the
OpenAPI document (status codes, content types, headers, bodies). The run is bounded by
--max-examples per operation so that it takes a minute or two on 2 cores.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import config
from gaissa import create_app
from gaissa.extensions import db
from gaissa.services import accounts, evaluations, roi_seed, seed, tokens

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = int(os.environ.get("GAISSA_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = ",".join((
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
))


@pytest.fixture
def live_server(tmp_path, monkeypatch):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the live server runs on its own SQLite file, so the suite's SQLite pass already covers it")
    """The app on a file database, served by a real HTTP server on 127.0.0.1 with an ephemeral port."""

    class LiveConfig(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'live.sqlite'}"
        # Nothing may leave the machine: a sync, if one ran, would only reach this closed local port.
        HF_ENDPOINT = "http://127.0.0.1:9"
        API_ANONYMOUS_WRITES_PER_HOUR = 100_000

    monkeypatch.setitem(config.CONFIGS, "api-live", LiveConfig)
    app = create_app("api-live")
    with app.app_context():
        db.create_all()
        seed.seed_catalogue()
        roi_seed.seed_roi_catalogue()
        manager = accounts.create_user("manager@example.org", "correct horse battery", role="qa_manager")
        secret = tokens.create_token(manager, "schemathesis").secret
        _add_evaluations()
        db.session.commit()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", secret
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def _add_evaluations() -> None:
    """Give the generated requests something to find: model 1 with a training and an inference."""
    model = evaluations.create_model("Schemathesis model", "GAISSA tests")
    for phase, values in (("training", {"energy": 12.4, "co2_eq_emissions": "5.9 kg"}),
                          ("inference", {"energy_per_inference": 3.2, "latency": "40 ms"})):
        evaluations.create_evaluation(evaluations.EvaluationInput(phase=phase, model_id=model.id, values=values))


def _run_schemathesis(base_url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS), "run", f"{base_url}/api/v1/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--seed", "20240601",
        "--phases", "examples,coverage,fuzzing",
        "--generation-database", "none",
        "--request-timeout", "30",
        # Starting a Hugging Face sync would start a real background job; its access rules are tested elsewhere.
        "--exclude-path", "/sync",
        "--no-color",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "NO_COLOR": "1"})


def test_api_conforms_to_schema_as_manager(live_server, tmp_path):
    base_url, secret = live_server
    result = _run_schemathesis(base_url, tmp_path, "--header", f"Authorization: Bearer {secret}")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def test_api_conforms_to_schema_anonymously(live_server, tmp_path):
    base_url, _ = live_server
    result = _run_schemathesis(base_url, tmp_path)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
