"""GAISSA Tools: GAISSALabel energy labels and the GAISSA ROI Analyzer."""

import logging
import os
from pathlib import Path

from flask import Flask

PROJECT_DIR = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the Flask application for the named configuration (development by default).

    `overrides` replaces settings before the extensions start, e.g. another database URL for a test server.
    """
    app = Flask(
        __name__,
        template_folder=str(PROJECT_DIR / "templates"),
        static_folder=str(PROJECT_DIR / "static"),
        instance_path=str(PROJECT_DIR / "instance"),
    )
    load_config(app, config_name)
    app.config.update(overrides or {})
    trust_proxy_headers(app)
    configure_logging(app)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_cli(app)
    return app


def load_config(app: Flask, config_name: str | None) -> None:
    CONFIGS = _config_module().CONFIGS
    name = config_name or os.environ.get("GAISSA_CONFIG", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown GAISSA_CONFIG {name!r}; use one of {', '.join(CONFIGS)}.")
    app.config.from_object(CONFIGS[name])
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set. Set it in the environment before starting the production server.")
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)


def _config_module():
    """Load the top-level config.py by path, so that the app starts from any working directory."""
    import importlib.util
    import sys

    if "config" in sys.modules and getattr(sys.modules["config"], "__file__", None) == str(PROJECT_DIR / "config.py"):
        return sys.modules["config"]
    spec = importlib.util.spec_from_file_location("config", PROJECT_DIR / "config.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["config"] = module
    spec.loader.exec_module(module)
    return module


def trust_proxy_headers(app: Flask) -> None:
    """Take the client address and scheme from PROXY_FIX_HOPS trusted reverse proxies (rate limits use the address)."""
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def configure_logging(app: Flask) -> None:
    level = app.config.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("gaissa").setLevel(level)
    # WeasyPrint and fontTools report every rendering step at INFO.
    for noisy in ("weasyprint", "fontTools", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from gaissa.extensions import csrf, db, htmx, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    from gaissa import models  # noqa: F401  (registers every table on the metadata)
    from gaissa.auth import login as auth_login

    auth_login.configure(login_manager)

    from gaissa.services import content_version

    content_version.install()

    from gaissa.services import text_search

    with app.app_context():  # the model searches call a casefold SQL function that SQLite lacks
        for engine in db.engines.values():
            text_search.install(engine)


def register_url_converters(app: Flask) -> None:
    from gaissa.web.converters import DatabaseInteger

    app.url_map.converters["int"] = DatabaseInteger


def register_blueprints(app: Flask) -> None:
    from gaissa.admin.routes import bp as admin_bp
    from gaissa.api.account import bp as account_bp
    from gaissa.api.badges import bp as badges_bp
    from gaissa.api.routes import bp as api_bp
    from gaissa.auth.routes import bp as auth_bp
    from gaissa.labeling.routes import bp as labeling_bp
    from gaissa.measure.routes import bp as measure_bp
    from gaissa.roi.admin_routes import bp as roi_admin_bp
    from gaissa.roi.routes import bp as roi_bp
    from gaissa.sync.routes import bp as sync_bp
    from gaissa.web.routes import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(labeling_bp, url_prefix="/gaissalabel")
    app.register_blueprint(measure_bp, url_prefix="/gaissalabel/measure")
    app.register_blueprint(roi_bp, url_prefix="/roi")
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(sync_bp, url_prefix="/admin/sync")
    app.register_blueprint(roi_admin_bp, url_prefix="/admin/roi")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(badges_bp, url_prefix="/gaissalabel")


def register_request_hooks(app: Flask) -> None:
    from gaissa.web import hooks

    hooks.register(app)


def register_template_helpers(app: Flask) -> None:
    from gaissa.web import template_helpers

    template_helpers.register(app)


def register_error_handlers(app: Flask) -> None:
    from gaissa.web import errors

    errors.register(app)


def register_cli(app: Flask) -> None:
    from gaissa.cli import gaissa_group

    app.cli.add_command(gaissa_group)
