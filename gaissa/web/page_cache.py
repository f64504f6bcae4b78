"""Whole-page cache of the public pages for anonymous visitors.

A page is rendered once per content token (services/content_version.py) and address, with a placeholder where
the CSRF token goes; each visitor then gets the stored page with their own token put in. Managers, logged-in
users, htmx fragments, addresses with a query string and pages with a flash message always render afresh.
The X-Page-Cache response header says "hit" or "miss" on the pages that can be cached.

PAGE_CACHE_MAX_BYTES bounds each process's copy (0 switches the cache off); the least recently used pages go
first, and all of them go when the token changes.
"""

import secrets
import threading
from collections import OrderedDict
from functools import wraps

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from gaissa.services import content_version

# Unguessable, so that no model name or description can contain it.
_CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"
_RECORDING = "page_cache_recording"
_REAL_TOKEN = "csrf_token"  # where Flask-WTF's generate_csrf() keeps the request's token


class _Store:
    """Pages of one content token, least recently used first, within a byte budget."""

    def __init__(self) -> None:
        self.token: int | None = None
        self.pages: OrderedDict[str, bytes] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, token: int, address: str) -> bytes | None:
        with self.lock:
            if token != self.token:
                return None
            body = self.pages.get(address)
            if body is not None:
                self.pages.move_to_end(address)
            return body

    def put(self, token: int, address: str, body: bytes, budget: int) -> None:
        if len(body) > budget:
            return
        with self.lock:
            if token != self.token:
                self.token, self.pages, self.size = token, OrderedDict(), 0
            old = self.pages.pop(address, None)
            self.size -= len(old) if old is not None else 0
            self.pages[address] = body
            self.size += len(body)
            while self.size > budget:
                _, dropped = self.pages.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.token, self.pages, self.size = None, OrderedDict(), 0


_store = _Store()


def register(app: Flask) -> None:
    """Let templates' csrf_token() write the placeholder while a page is being recorded.

    Must run after CSRFProtect.init_app, whose context processor this one overrides.
    """
    app.jinja_env.globals["csrf_token"] = _csrf_token_for_templates
    app.context_processor(lambda: {"csrf_token": _csrf_token_for_templates})


def clear() -> None:
    """Forget every stored page of this process (tests use it; the content token makes it unnecessary otherwise)."""
    _store.clear()


def cached_for_visitors(view):
    """Serve the view's page from the cache when the request can share it with other anonymous visitors."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _shareable_token()
        if token is None:
            return view(*args, **kwargs)
        address = request.base_url
        body = _store.get(token, address)
        if body is not None:
            return _page(body, "hit")
        setattr(g, _RECORDING, True)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        finally:
            g.pop(_RECORDING, None)
        # A real CSRF token in g means the page holds this visitor's token somewhere: never share it.
        if response.status_code != 200 or response.mimetype != "text/html" or response.direct_passthrough \
                or session.get("_flashes") or _REAL_TOKEN in g:
            return _with_real_token(response)
        _store.put(token, address, response.get_data(), current_app.config["PAGE_CACHE_MAX_BYTES"])
        return _page(response.get_data(), "miss")

    return wrapper


def _shareable_token() -> int | None:
    if not current_app.config.get("PAGE_CACHE_MAX_BYTES"):
        return None
    if request.method != "GET" or request.query_string or "HX-Request" in request.headers:
        return None
    if session.get("_flashes") or g.get("switched_off_notice") or current_user.is_authenticated:
        return None
    return content_version.current_token()


def _csrf_token_for_templates() -> str:
    return _CSRF_PLACEHOLDER if g.get(_RECORDING) else generate_csrf()


def _with_real_token(response):
    """A recorded page that is not stored still needs the visitor's own token."""
    if not response.direct_passthrough and response.mimetype == "text/html":
        data = response.get_data()
        if _CSRF_PLACEHOLDER.encode() in data:
            response.set_data(data.replace(_CSRF_PLACEHOLDER.encode(), generate_csrf().encode()))
    return response


def _page(body: bytes, outcome: str):
    response = current_app.response_class(body.replace(_CSRF_PLACEHOLDER.encode(), generate_csrf().encode()),
                                          mimetype="text/html")
    response.vary.add("HX-Request")
    response.headers["X-Page-Cache"] = outcome
    return response
