"""The one place that decides between a full page and an htmx fragment."""

from typing import Any

from flask import Response, make_response, render_template, request


def wants_fragment() -> bool:
    """Return True for a real htmx request: not boosted navigation, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def htmx_target() -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx else None


def render(page_template: str, fragment_template: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the full page, or only the fragment when htmx asked for one; responses always vary on HX-Request."""
    template = fragment_template if fragment_template and wants_fragment() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_htmx_aware(location: str) -> Response:
    """Redirect a plain request with 303, and an htmx request with HX-Redirect (htmx does not follow 3xx into a new page)."""
    if wants_fragment():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response
