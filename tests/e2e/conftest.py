"""A live server for browser tests: the app on a file-based SQLite database, served on loopback.

`live_server` starts one server per test session with the default catalogue and the demo ROI
catalogue seeded. Tests that use it are not rolled back (tests/conftest.py skips its per-test
rollback for them), so each test creates the rows it needs and must not rely on counts.
"""

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from config import TestConfig
from gaissa import create_app
from gaissa.extensions import db

CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def _live_app(tmp_path_factory) -> Flask:
    database = tmp_path_factory.mktemp("live") / "gaissa.sqlite"
    # Flask-SQLAlchemy creates the engine in init_app, so the URI must be set before create_app reads it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TestConfig, "SQLALCHEMY_DATABASE_URI", f"sqlite:///{database}")
        app = create_app("test")
    with app.app_context():
        from gaissa.services import seed

        db.create_all()
        seed.seed_catalogue()
        try:
            from gaissa.services import roi_seed
        except ImportError:
            roi_seed = None
        if roi_seed is not None:
            roi_seed.seed_roi_catalogue()
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def live_server(_live_app) -> LiveServer:
    """Serve the app on 127.0.0.1 with an ephemeral port for the whole test session."""
    server = make_server("127.0.0.1", 0, _live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", _live_app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with _live_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Playwright; the tests are skipped when either is missing.

    Module scope: Playwright's sync API runs one instance per thread, so it ends before another module starts its own.
    """
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()
