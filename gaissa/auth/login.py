"""Flask-Login wiring: loading users from the session, and what an anonymous request gets."""

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, request, url_for
from flask_login import LoginManager, current_user

from gaissa.extensions import db
from gaissa.services.login_throttle import LoginThrottle, ThrottleLimits, make_store
from gaissa.web.htmx import redirect_htmx_aware


def configure(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from gaissa.models import User

        # The session stores "<id>:<session_token>"; a changed token (logout, password reset) ends old sessions.
        raw_id, _, token = user_id.partition(":")
        if not raw_id.isdigit():
            return None
        user = db.session.get(User, int(raw_id))
        if user is None or not user.active or user.session_token != token:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            abort(401)
        return redirect_htmx_aware(url_for("auth.login", next=safe_next_url(_current_relative_url())))


def _current_relative_url() -> str:
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url:
        parts = urlsplit(htmx.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?")


def safe_next_url(target: str | None) -> str | None:
    """Return `target` when it is a relative URL on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def manager_required(view):
    """Allow only signed-in, active QA managers; others are sent to the login page or get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        from gaissa.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_manager:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def login_throttle() -> LoginThrottle:
    """Return the login rate limiter configured by LOGIN_MAX_FAILURES_PER_ACCOUNT, …_PER_ADDRESS,
    LOGIN_FAILURE_WINDOW_MINUTES and REDIS_URL."""
    config = current_app.config
    limits = ThrottleLimits(
        per_account=int(config.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
        per_address=int(config.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
        window=timedelta(minutes=float(config.get("LOGIN_FAILURE_WINDOW_MINUTES", 15))),
    )
    return LoginThrottle(make_store(config.get("REDIS_URL", "")), limits)


def client_address() -> str:
    """Return the client's IP address as the WSGI server (or ProxyFix behind a proxy) reports it."""
    return (request.remote_addr or "unknown")[:64]
