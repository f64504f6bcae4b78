"""The outbound client against real servers on 127.0.0.1: pinning, redirects, caps, timeouts and TLS."""

import socket
import ssl
import time

import pytest
import trustme
from urllib3.util import connection as urllib3_connection

from gaissa.services.connectors.http import (
    AddressRateLimiter,
    AddressRefused,
    Allowlist,
    ConnectionFailed,
    InvalidURL,
    OutboundPolicy,
    RateLimited,
    RequestTimedOut,
    ResponseTooLarge,
    SafeHttpClient,
    TooManyRedirects,
)
from tests.measure_servers import EchoHandler, HugeHandler, RedirectHandler, SlowHandler, serving

LOOPBACK_ONLY = Allowlist.parse(["127.0.0.1"])


class StubResolver:
    """Resolve host names from a table; a callable entry gets the call number and returns that call's addresses."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, host, port):
        self.calls.append(host)
        answer = self.answers.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if callable(answer):
            return answer(len(self.calls))
        return answer


@pytest.fixture
def connections(monkeypatch):
    """Record every address urllib3 connects to."""
    seen = []
    original = urllib3_connection.create_connection

    def recording(address, *args, **kwargs):
        seen.append(address[0])
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3_connection, "create_connection", recording)
    return seen


def make_client(resolver=None, **policy):
    settings = {"allowlist": LOOPBACK_ONLY, "purpose": "measurements", **policy}
    options = {"resolver": resolver} if resolver else {}
    return SafeHttpClient(OutboundPolicy(**settings), rate_limiter=AddressRateLimiter(), **options)


def test_client_connects_to_pinned_address():
    resolver = StubResolver({"digits.test": ["127.0.0.1"]})
    with serving(EchoHandler) as server, make_client(resolver) as client:
        for _ in range(3):
            response = client.request("POST", f"http://digits.test:{server.port}/predict", body=b"{}")
            assert response.status == 200

    assert resolver.calls == ["digits.test"]
    assert server.received[0]["headers"]["Host"] == f"digits.test:{server.port}"
    assert response.address == "127.0.0.1"


def test_client_ignores_dns_change_after_check():
    # The first answer is checked and pinned; a later answer pointing elsewhere is never asked for.
    resolver = StubResolver({"rebind.test": lambda call: ["127.0.0.1"] if call == 1 else ["10.0.0.1"]})
    with serving(EchoHandler) as server, make_client(resolver) as client:
        statuses = [client.request("GET", f"http://rebind.test:{server.port}/").status for _ in range(4)]

    assert statuses == [200, 200, 200, 200]
    assert resolver.calls == ["rebind.test"]


def test_new_client_checks_new_answer(connections):
    resolver = StubResolver({"rebind.test": ["10.0.0.1"]})

    with make_client(resolver) as client, pytest.raises(AddressRefused) as raised:
        client.request("GET", "http://rebind.test:8080/")

    assert str(raised.value) == ("rebind.test resolves to 10.0.0.1, a private address; "
                                 "measurements may only reach public hosts.")
    assert connections == []


@pytest.mark.parametrize(("url", "message"), [
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://[::1]:8080/", "::1 is a loopback address"),
    ("http://0177.0.0.2/", "127.0.0.2 is a loopback address"),
])
def test_client_refuses_before_connecting(url, message, connections):
    with make_client() as client, pytest.raises(AddressRefused, match=message):
        client.request("GET", url)

    assert connections == []


@pytest.mark.parametrize(("location", "message"), [
    ("http://10.0.0.1/secret", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254 is a cloud metadata address"),
    ("http://2852039166/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud metadata address"),
    ("http://metadata.test/computeMetadata/v1/", "metadata.test resolves to 169.254.169.254"),
])
def test_client_refuses_redirect_to_private(location, message, connections):
    resolver = StubResolver({"metadata.test": ["169.254.169.254"]})
    with serving(RedirectHandler, location=location) as server, make_client(resolver) as client:
        with pytest.raises(AddressRefused) as raised:
            client.request("POST", server.url("/predict"), body=b"{}")

    assert str(raised.value).startswith("The endpoint redirected to ")
    assert message in str(raised.value)
    assert connections == ["127.0.0.1"]  # only the redirecting server was contacted


def test_client_refuses_redirect_to_other_scheme():
    with serving(RedirectHandler, location="file:///etc/passwd") as server, make_client() as client:
        with pytest.raises(InvalidURL, match="Only http and https"):
            client.request("GET", server.url())


def test_client_follows_redirect_without_credentials():
    with serving(EchoHandler) as target, serving(RedirectHandler, status=307, location=target.url("/v2/infer")) as server:
        with make_client() as client:
            response = client.request("POST", server.url("/predict"), body=b'{"x": 1}',
                                      headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"})

    assert response.status == 200
    assert response.redirects == [target.url("/v2/infer")]
    received = target.received[0]
    assert received["method"] == "POST"
    assert received["body"] == b'{"x": 1}'
    assert received["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in received["headers"]


def test_client_redirect_303_switches_to_get():
    with serving(EchoHandler) as target, serving(RedirectHandler, status=303, location=target.url("/done")) as server:
        with make_client() as client:
            client.request("POST", server.url(), body=b"{}")

    assert target.received[0]["method"] == "GET"
    assert target.received[0]["body"] == b""


def test_client_stops_redirect_loop():
    with serving(RedirectHandler, location="/again") as server, make_client(max_redirects=3) as client:
        with pytest.raises(TooManyRedirects, match="more than 3 times"):
            client.request("GET", server.url())

    assert len(server.received) == 4


def test_client_caps_declared_response_size():
    with serving(HugeHandler, size=50 * 1024 * 1024) as server, make_client(max_response_bytes=1024 * 1024) as client:
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge, match="52,428,800 bytes; the limit is 1,048,576 bytes"):
            client.request("GET", server.url())

    assert time.monotonic() - started < 5


def test_client_caps_streamed_response_size():
    with serving(HugeHandler, size=50 * 1024 * 1024, chunked=True) as server, \
            make_client(max_response_bytes=2 * 1024 * 1024) as client:
        with pytest.raises(ResponseTooLarge, match="exceeded the limit of 2,097,152 bytes"):
            client.request("GET", server.url())


def test_client_times_out():
    with serving(SlowHandler, delay_s=2.0) as server, make_client() as client:
        started = time.monotonic()
        with pytest.raises(RequestTimedOut, match="did not respond within 0.3 s"):
            client.request("GET", server.url(), timeout_s=0.3)

    assert time.monotonic() - started < 1.5


def test_client_reports_refused_connection():
    with serving(EchoHandler) as server:
        port = server.port
    with make_client() as client, pytest.raises(ConnectionFailed, match="Could not connect to 127.0.0.1:.*refused"):
        client.request("GET", f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize(("headers", "message"), [
    ({"Host": "evil.example"}, "Host header is set by the client"),
    ({"Content-Length": "5"}, "Content-Length header is set by the client"),
    ({"X-Test": "a\r\nInjected: 1"}, "line break"),
    ({"Bad Name": "x"}, "not a valid header name"),
])
def test_client_rejects_headers(headers, message):
    with make_client() as client, pytest.raises(InvalidURL, match=message):
        client.request("GET", "http://127.0.0.1:9/", headers=headers)


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


def test_client_https_verifies_host_name_on_pinned_address(certificate_authority, tmp_path):
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    resolver = StubResolver({"digits.test": ["127.0.0.1"]})
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("digits.test").configure_cert(context)

    with serving(EchoHandler, tls=context) as server, make_client(resolver, ca_bundle=str(bundle)) as client:
        response = client.request("GET", f"https://digits.test:{server.port}/")

    assert response.status == 200
    assert server.received[0]["headers"]["Host"] == f"digits.test:{server.port}"


def test_client_https_rejects_wrong_certificate(certificate_authority, tmp_path):
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    resolver = StubResolver({"digits.test": ["127.0.0.1"]})
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("other.test").configure_cert(context)

    with serving(EchoHandler, tls=context) as server, make_client(resolver, ca_bundle=str(bundle)) as client:
        with pytest.raises(ConnectionFailed, match="valid certificate for digits.test"):
            client.request("GET", f"https://digits.test:{server.port}/")


def test_rate_limiter_spaces_requests():
    now = [0.0]
    slept = []
    limiter = AddressRateLimiter(clock=lambda: now[0], sleep=slept.append)

    waits = [limiter.acquire("203.0.113.5", rate=2.0, max_wait_s=10) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.5, 1.0]
    assert slept == [0.5, 1.0]
    assert limiter.acquire("198.51.100.7", rate=2.0, max_wait_s=10) == 0.0  # other addresses are not slowed


def test_rate_limiter_refuses_long_wait():
    limiter = AddressRateLimiter(clock=lambda: 0.0, sleep=lambda _seconds: None)
    for _ in range(3):
        limiter.acquire("203.0.113.5", rate=1.0, max_wait_s=5)

    with pytest.raises(RateLimited, match="Too many requests to 203.0.113.5"):
        limiter.acquire("203.0.113.5", rate=1.0, max_wait_s=1.5)
