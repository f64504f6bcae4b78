"""The Alembic migrations build the same schema as the models, and upgrade → downgrade → upgrade works
on SQLite and, when TEST_DATABASE_URL points at PostgreSQL, on a separate PostgreSQL database."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from gaissa import create_app
from gaissa.extensions import db

MIGRATION_DATABASE = "gaissa_migration_test"


def database_urls(tmp_path):
    urls = [f"sqlite:///{tmp_path / 'migrations.sqlite'}"]
    server = os.environ.get("TEST_DATABASE_URL", "")
    if server.startswith("postgresql"):
        url = make_url(server)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {MIGRATION_DATABASE}"))
            connection.execute(text(f"CREATE DATABASE {MIGRATION_DATABASE}"))
        admin.dispose()
        urls.append(url.set(database=MIGRATION_DATABASE).render_as_string(hide_password=False))
    return urls


@pytest.mark.no_rollback
def test_upgrade_downgrade_upgrade_matches_models(tmp_path):
    for url in database_urls(tmp_path):
        app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert differences == [], f"{url}: the migrations differ from the models: {differences}"

            downgrade(revision="base")
            remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set(), f"{url}: tables left after downgrade: {remaining}"

            upgrade()
            assert "evaluations" in inspect(db.engine).get_table_names()
            with db.engine.connect() as connection:
                tokens = connection.execute(text("SELECT token FROM content_state")).scalars().all()
            assert len(tokens) == 1, f"{url}: the page caches need exactly one content_state row, found {tokens}"
            db.session.remove()
            db.engine.dispose()
