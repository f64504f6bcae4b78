"""Identification of API callers, and the access rules of the operations.

- `Authorization: Bearer <token>`: the token's user; no CSRF check, because browsers never attach
  that header on their own.
- The site's session cookie: the signed-in user, but writes must carry the CSRF token
  (X-CSRFToken header), exactly like the web forms.
- Neither: anonymous. Anonymous writes are allowed where the web forms allow them (models and
  evaluations), must be JSON, and are rate-limited per client address.

A tool switched off by the managers hides its operations from everyone but QA managers.
"""

from dataclasses import dataclass

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from gaissa.api.errors import ApiProblem
from gaissa.api.registry import SAFE_METHODS, ApiRegistry, Operation
from gaissa.extensions import csrf, db
from gaissa.models import User
from gaissa.models.tokens import ApiToken
from gaissa.services import site, tokens, write_limits

TOOL_NAMES = {"label": "GAISSALabel", "roi": "The GAISSA ROI Analyzer"}
_CHALLENGE = 'Bearer realm="GAISSA Tools"'


@dataclass(frozen=True)
class Caller:
    user: User | None
    # "token", "session" or "anonymous".
    via: str
    token: ApiToken | None = None

    @property
    def is_manager(self) -> bool:
        return self.user is not None and self.user.is_manager

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


def caller() -> Caller:
    """Return the caller of the current API request (set before every API view runs)."""
    return g.api_caller


def install(blueprint: Blueprint, registry: ApiRegistry) -> None:
    """Identify callers before every API request and check each operation's access rule."""
    # The blueprint does its own CSRF check: only session-cookie writes need the token.
    csrf.exempt(blueprint)
    registry.authorise = authorise

    @blueprint.before_request
    def identify_caller():
        # Each API request identifies its caller from its own headers and cookie. The user Flask-Login
        # cached in `g` is dropped first: `g` outlives a request when the app context was pushed around
        # it (as in tests), and a token user must never carry over to the next request.
        g.pop("_login_user", None)
        try:
            g.api_caller = _identify()
            if request.method not in SAFE_METHODS:
                _check_csrf(g.api_caller)
                if g.api_caller.via == "anonymous":
                    _count_anonymous_write()
        except ApiProblem as problem:
            return problem.response()
        return None

    @blueprint.teardown_request
    def forget_caller(_error):
        g.pop("_login_user", None)
        g.pop("api_caller", None)


def authorise(operation: Operation) -> None:
    """Raise ApiProblem when the caller may not use the operation (tool switched off, not a manager)."""
    who = caller()
    if operation.tool and not who.is_manager and not site.is_enabled(operation.tool):
        raise ApiProblem(404, "Not Found", f"{TOOL_NAMES[operation.tool]} is switched off on this site.")
    if operation.access == "manager":
        if who.user is None:
            raise ApiProblem(401, "Unauthorized", "This operation needs a QA manager's API token: "
                             "send 'Authorization: Bearer <token>'.", headers={"WWW-Authenticate": _CHALLENGE})
        if not who.is_manager:
            raise ApiProblem(403, "Forbidden", "Only QA managers may do this; your account is not a QA manager.")


def _identify() -> Caller:
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiProblem(401, "Unauthorized", "Send the API token as 'Authorization: Bearer <token>'.",
                             headers={"WWW-Authenticate": _CHALLENGE})
        token = tokens.authenticate(secret.strip())
        if token is None:
            raise ApiProblem(401, "Unauthorized", "The API token is unknown or revoked; create a new one on the "
                             "API tokens page of your account.",
                             headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
        if tokens.mark_used(token):
            db.session.commit()
        # NOTE: Flask-Login 0.6 has no public call that sets the user of one request without touching the
        # session, so this uses the method that its own login_user() calls.
        current_app.login_manager._update_request_context_with_user(token.user)
        return Caller(token.user, "token", token)
    if current_user.is_authenticated:
        return Caller(current_user._get_current_object(), "session")
    return Caller(None, "anonymous")


def _check_csrf(who: Caller) -> None:
    if who.via != "session":
        return
    try:
        csrf.protect()
    except CSRFError:
        raise ApiProblem(
            403, "Forbidden", "Requests signed in with the site's session cookie must send the page's CSRF token "
            "in the X-CSRFToken header; scripts should use an API token (Authorization: Bearer …) instead.",
        ) from None


def _count_anonymous_write() -> None:
    decision = write_limits.count_anonymous_write(request.remote_addr or "unknown")
    if not decision.allowed:
        raise ApiProblem(
            429, "Too Many Requests",
            f"Anonymous clients may make {decision.limit} writes per hour from one address (API and site forms "
            f"together); try again in "
            f"{decision.retry_after} s, or sign in and use an API token, which has no such limit.",
            headers={"Retry-After": str(decision.retry_after)},
        )
