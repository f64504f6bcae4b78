"""PROXY_FIX_HOPS: the client address comes from X-Forwarded-For only when proxies are trusted."""

import pytest
from flask import request

from gaissa import create_app


@pytest.mark.parametrize(("hops", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_client_address_behind_proxy(hops, expected):
    app = create_app("test", overrides={"PROXY_FIX_HOPS": hops})
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == expected
