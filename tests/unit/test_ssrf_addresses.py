"""The address check and resolution of the outbound client, with the allow-list off.

These tests call check_address and resolve_and_check with stub resolvers only. A fixture makes
any attempt to resolve a name or open a socket fail the test.
"""

import ipaddress
import socket

import pytest

from gaissa.services.connectors.http import (
    AddressRefused,
    Allowlist,
    InvalidURL,
    ResolutionFailed,
    check_address,
    parse_ip_literal,
    parse_url,
    redact_url,
    resolve_and_check,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("an address-check test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


REFUSED = [
    # (spelling, category)
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.255", "private"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.0.1", "link-local"),
    ("169.254.255.254", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.170.2", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("168.63.129.16", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("192.0.2.10", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::1", "loopback"),
    ("[::1]", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "private"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
    # IPv4 addresses inside IPv6 ones: checked as the IPv4 address they carry.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("64:ff9b::10.0.0.1", "private"),  # NAT64
    ("2002:c0a8:0101::1", "private"),  # 6to4 of 192.168.1.1
    # Other spellings of 127.0.0.1 that resolvers and browsers accept.
    ("2130706433", "loopback"),
    ("017700000001", "loopback"),
    ("0x7f000001", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("0177.0000.0000.0001", "loopback"),
    ("0x7f.0x0.0x0.0x1", "loopback"),
    ("0x7f.1", "loopback"),
    ("127.1", "loopback"),
    ("127.0.1", "loopback"),
    ("127.0.0.1.", "loopback"),
    # Other spellings of private and metadata addresses.
    ("012.0.0.1", "private"),  # octal 012 = 10
    ("167772161", "private"),  # 10.0.0.1
    ("0xa9.0xfe.0xa9.0xfe", "cloud metadata"),
    ("2852039166", "cloud metadata"),  # 169.254.169.254
    ("0300.0250.0.1", "private"),  # 192.168.0.1
]


@pytest.mark.parametrize(("spelling", "category"), REFUSED)
def test_check_address_refuses(spelling, category):
    with pytest.raises(AddressRefused) as raised:
        check_address(spelling, [])

    assert raised.value.category == category
    message = str(raised.value)
    assert f"a {category} address" in message or f"an {category} address" in message
    assert message.endswith("may only reach public hosts.")


@pytest.mark.parametrize("spelling", [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1",
    "2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "134744072",
])
def test_check_address_accepts_public(spelling):
    assert check_address(spelling, []) is None


def test_check_address_message_names_address():
    with pytest.raises(AddressRefused) as raised:
        check_address("127.0.0.1", [], purpose="measurements")

    assert str(raised.value) == "127.0.0.1 is a loopback address; measurements may only reach public hosts."


def test_check_address_mapped_message_names_ipv4():
    with pytest.raises(AddressRefused) as raised:
        check_address("::ffff:127.0.0.1", [])

    assert str(raised.value).startswith("::ffff:127.0.0.1 maps to 127.0.0.1, a loopback address;")


def test_check_address_is_pure():
    address = ipaddress.ip_address("10.1.2.3")

    with pytest.raises(AddressRefused):
        check_address(address, Allowlist())
    assert check_address(address, ["10.0.0.0/8"]) is None


@pytest.mark.parametrize(("spelling", "allowlist"), [
    ("127.0.0.1", ["127.0.0.1"]),
    ("127.0.0.1", ["127.0.0.0/8"]),
    ("10.20.30.40", ["10.20.0.0/16"]),
    ("::1", ["::1"]),
    ("fd00::5", ["fd00::/8"]),
    ("::ffff:127.0.0.1", ["127.0.0.1"]),
    ("169.254.169.254", ["169.254.169.254/32"]),
])
def test_allowlist_permits(spelling, allowlist):
    assert check_address(spelling, allowlist) is None


@pytest.mark.parametrize(("spelling", "allowlist"), [
    ("127.0.0.2", ["127.0.0.1"]),
    ("10.0.0.1", ["192.168.0.0/16"]),
    ("169.254.169.254", ["169.254.0.0/16"]),  # metadata only when listed as a single address
    ("::1", ["127.0.0.1"]),
    ("127.0.0.1", ["localhost"]),  # a host name permits only that name's answers
])
def test_allowlist_does_not_permit(spelling, allowlist):
    with pytest.raises(AddressRefused):
        check_address(spelling, allowlist)


def test_allowlist_rejects_invalid_entry():
    with pytest.raises(ValueError, match="10.0.0.0/40"):
        Allowlist.parse(["10.0.0.0/40"])


@pytest.mark.parametrize("spelling", ["08.0.0.1", "0x7g.0.0.1", "1.2.3.4.5", "256.1.1.1", "1.2.3.16777216"])
def test_invalid_numeric_host(spelling):
    with pytest.raises(InvalidURL):
        parse_ip_literal(spelling)


def test_host_name_is_not_literal():
    assert parse_ip_literal("models.example.org") is None
    assert parse_ip_literal("1e100.net") is None


class StubResolver:
    """Resolve from a table and count the calls, without touching the network."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, host, port):
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


def test_resolve_and_check_returns_public_addresses():
    resolver = StubResolver({"models.example.org": ["93.184.216.34", "2606:2800:220:1::248"]})

    addresses = resolve_and_check("Models.Example.org.", 443, resolver=resolver)

    assert [str(address) for address in addresses] == ["93.184.216.34", "2606:2800:220:1::248"]
    assert resolver.calls == [("models.example.org", 443)]


@pytest.mark.parametrize(("answers", "refused"), [
    (["127.0.0.1"], "127.0.0.1"),
    (["10.1.1.1"], "10.1.1.1"),
    (["169.254.169.254"], "169.254.169.254"),
    (["::1"], "::1"),
    (["fe80::1%eth0"], "fe80::1"),
    (["::ffff:192.168.1.1"], "::ffff:192.168.1.1"),
    (["93.184.216.34", "10.0.0.7"], "10.0.0.7"),  # one private answer refuses the host
])
def test_resolve_and_check_refuses_private_answers(answers, refused):
    resolver = StubResolver({"rebind.example": answers})

    with pytest.raises(AddressRefused) as raised:
        resolve_and_check("rebind.example", 80, resolver=resolver, purpose="measurements")

    assert str(raised.value).startswith(f"rebind.example resolves to {refused}")
    assert raised.value.host == "rebind.example"


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "[::1]", "169.254.169.254", "0"])
def test_resolve_and_check_literals_skip_resolver(host):
    resolver = StubResolver({})

    with pytest.raises(AddressRefused):
        resolve_and_check(host, 80, resolver=resolver)

    assert resolver.calls == []


def test_resolve_and_check_allowlisted_host():
    resolver = StubResolver({"model.internal": ["10.0.0.9"]})

    addresses = resolve_and_check("model.internal", 8080, resolver=resolver, allowlist=["model.internal"])

    assert [str(address) for address in addresses] == ["10.0.0.9"]


def test_resolve_and_check_allowlisted_host_not_metadata():
    resolver = StubResolver({"metadata.internal": ["169.254.169.254"]})

    with pytest.raises(AddressRefused, match="cloud metadata"):
        resolve_and_check("metadata.internal", 80, resolver=resolver, allowlist=["metadata.internal"])


def test_resolve_and_check_unknown_host():
    with pytest.raises(ResolutionFailed, match="nowhere.example could not be resolved"):
        resolve_and_check("nowhere.example", 80, resolver=StubResolver({}))


def test_resolve_and_check_empty_answer():
    with pytest.raises(ResolutionFailed, match="has no IPv4 or IPv6 address"):
        resolve_and_check("empty.example", 80, resolver=StubResolver({"empty.example": []}))


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.org/model", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("gopher://example.org/", "Only http and https"),
    ("example.org/predict", "Only http and https"),
    ("https://user:secret@example.org/", "user name or password"),
    ("https://token@example.org/", "user name or password"),
    ("http://example.org:99999/", "port"),
    ("http://example.org:0/", "Port 0"),
    ("http://exa mple.org/", "spaces"),
    ("http:///path", "no host"),
    ("http://www.123/", "ends in a number"),
    ("http://08.1.2.3/", "not a valid one"),
    ("http://[::1/", "Invalid IPv6 URL"),
])
def test_parse_url_rejects(url, message):
    with pytest.raises(InvalidURL, match=message):
        parse_url(url)


def test_parse_url_splits_target():
    target = parse_url("https://Models.Example.org:8443/v1/predict?model=a&x=1#top")

    assert target.host == "models.example.org"
    assert target.port == 8443
    assert target.request_target == "/v1/predict?model=a&x=1"
    assert target.host_header == "models.example.org:8443"


def test_parse_url_normalises_numeric_host():
    target = parse_url("http://2130706433:8000/")

    assert target.host == "127.0.0.1"
    assert target.is_ip_literal


def test_redact_url_hides_secrets():
    redacted = redact_url("https://api.example.org/v1/infer?api_key=abc123&code=xyz&api-version=2024-02-01#frag")

    assert "abc123" not in redacted
    assert "xyz" not in redacted
    assert "api-version=2024-02-01" in redacted
    assert "frag" not in redacted
