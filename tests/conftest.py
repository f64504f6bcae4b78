"""Shared fixtures: the app on SQLite (or PostgreSQL with TEST_DATABASE_URL), a rollback per test, clients."""

import os
import re
from pathlib import Path

import pytest
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from gaissa import create_app
from gaissa.extensions import db
from gaissa.services import seed
from gaissa.web import page_cache

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEST_DATA = Path(__file__).resolve().parent / "data"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _make_sqlite_savepoints_work(engine) -> None:
    """pysqlite starts transactions lazily, which breaks SAVEPOINT; take over BEGIN (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def app():
    """The application with a fresh schema and the default catalogue, shared by the whole run."""
    application = create_app("test")
    with application.app_context():
        if db.engine.dialect.name == "sqlite":
            _make_sqlite_savepoints_work(db.engine)
        db.drop_all()
        db.create_all()
        seed.seed_catalogue()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()


@pytest.fixture(autouse=True)
def _transaction(request):
    """Run each test inside a transaction that is rolled back, so tests never see each other's rows.

    Views may commit: the session joins the outer transaction with savepoints, so their commits
    only release a savepoint.
    """
    page_cache.clear()  # a test may change settings the cached pages were rendered with
    if "app" not in request.fixturenames or "live_server" in request.fixturenames \
            or request.node.get_closest_marker("no_rollback"):
        yield  # pure unit tests need no database; live servers commit for real
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original_session = db.session
        # A plain Session: Flask-SQLAlchemy's own get_bind() would pick the engine over this connection.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original_session
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client) -> str:
    """Return the CSRF token of the client's session, read from a page's meta tag."""
    page = client.get("/about").get_data(as_text=True)
    match = _CSRF_META.search(page)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


class AuthActions:
    """Log users in and out through the real login form (CSRF included)."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str = "manager@example.org", password: str = "correct horse battery", role: str = "qa_manager"):
        from gaissa.services import accounts

        if accounts.find_user(email) is None:
            accounts.create_user(email, password, role=role)
            db.session.commit()
        token = csrf_token(self.client)
        return self.client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(self.client)})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def shared_dir() -> Path:
    """The real data and cases shared with the project (../shared); tests needing it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present")
    return SHARED


def pytest_report_header(config):
    url = os.environ.get("TEST_DATABASE_URL") or "sqlite:// (in memory)"
    return f"database: {re.sub(r'//[^@/]*@', '//***@', url)}"
