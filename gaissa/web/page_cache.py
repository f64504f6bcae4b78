"""Whole-page cache of the public pages for anonymous visitors.

A page is rendered once per content token (services/content_version.py) and address, with a placeholder where
the CSRF token goes. Each visitor then gets the stored page with their own token put in. Managers, logged-in
users, htmx fragments, addresses with a query string and pages with a flash message always render afresh.
The X-Page-Cache response header is "hit" or "miss" on the pages that can be cached.

PAGE_CACHE_MAX_BYTES bounds each process's copy, and 0 switches the cache off. The least recently used pages go
first, and all of them go when the token changes.
"""

import secrets
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import wraps

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from gaissa.services import content_version

# Unguessable, so that no model name or description can contain it.
_CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"
_RECORDING = "page_cache_recording"
# Bytes counted per stored page besides its body: the address (host names are at most 255 bytes) and the dict.
_ENTRY_OVERHEAD = 1024


class _Store:
    """Pages of one content token, least recently used first, within a byte budget."""

    def __init__(self) -> None:
        self.token: int | None = None
        self.pages: OrderedDict[tuple, bytes] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, token: int, address: tuple) -> bytes | None:
        with self.lock:
            if token != self.token:
                return None
            body = self.pages.get(address)
            if body is not None:
                self.pages.move_to_end(address)
            return body

    def put(self, token: int, address: tuple, body: bytes, budget: int) -> None:
        size = len(body) + _ENTRY_OVERHEAD
        if size > budget:
            return
        with self.lock:
            if token != self.token:
                self.token, self.pages, self.size = token, OrderedDict(), 0
            old = self.pages.pop(address, None)
            self.size -= len(old) + _ENTRY_OVERHEAD if old is not None else 0
            self.pages[address] = body
            self.size += size
            while self.size > budget:
                _, dropped = self.pages.popitem(last=False)
                self.size -= len(dropped) + _ENTRY_OVERHEAD

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
    # Kept fragments (see placeholder_tokens) reach other pages too: every HTML response gets the real token.
    app.after_request(_with_real_token)


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
        address = _address()
        body = _store.get(token, address)
        if body is not None:
            return _page(body, "hit")
        setattr(g, _RECORDING, True)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        finally:
            g.pop(_RECORDING, None)
        # A real CSRF token in g means the page contains this visitor's token somewhere, so it is not shared.
        if response.status_code != 200 or response.mimetype != "text/html" or response.direct_passthrough \
                or session.get("_flashes") or _real_token_issued():
            return response
        _store.put(token, address, response.get_data(), current_app.config["PAGE_CACHE_MAX_BYTES"])
        return _page(response.get_data(), "miss")

    return wrapper


def _address() -> tuple:
    """Return what a shared page depends on: scheme and host (links, QR codes), script root and view arguments.

    The endpoint and its converted arguments replace the path, so /models/0001 and /models/1 share one entry,
    and a forged SCRIPT_NAME cannot file one page under another page's address.
    """
    arguments = tuple(sorted((request.view_args or {}).items()))
    return (request.scheme, request.host, request.script_root, request.endpoint, arguments)


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


def _real_token_issued() -> bool:
    """True when generate_csrf() ran in this request (Flask-WTF keeps the token in g under the field name)."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g


@contextmanager
def placeholder_tokens():
    """Render with the placeholder instead of the visitor's CSRF token, for fragments kept across requests."""
    previous = g.get(_RECORDING, False)
    setattr(g, _RECORDING, True)
    try:
        yield
    finally:
        setattr(g, _RECORDING, previous)


def _with_real_token(response):
    """Put the visitor's own CSRF token where a page or a kept fragment contains the placeholder."""
    if not response.direct_passthrough and response.mimetype == "text/html":
        data = response.get_data()
        if _CSRF_PLACEHOLDER.encode() in data:
            response.set_data(data.replace(_CSRF_PLACEHOLDER.encode(), generate_csrf().encode()))
    return response


def _page(body: bytes, outcome: str):
    # The after-request hook puts the visitor's CSRF token in.
    response = current_app.response_class(body, mimetype="text/html")
    response.vary.add("HX-Request")
    response.headers["X-Page-Cache"] = outcome
    return response
