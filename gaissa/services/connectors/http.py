"""Outbound HTTP that only reaches public hosts: the client that guards against server-side request forgery.

A client resolves each host once, checks every address it resolves to, and connects to a checked
address. The address is pinned: the host name is only used for the Host header, TLS SNI and the
certificate check, so a DNS answer that changes after the check cannot move the connection.
Redirects are followed one hop at a time, and each hop is checked the same way. Only http and https
URLs are accepted. Private, loopback, link-local, multicast, reserved, unspecified and cloud metadata
addresses (IPv4 and IPv6) are refused unless the allow-list permits them.

The special-purpose blocks below follow the IANA IPv4 and IPv6 Special-Purpose Address Registries
(RFC 6890 and its updates). They are listed here rather than read from `ipaddress.is_global`,
whose results differ between Python versions.
"""

import ipaddress
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import certifi
import urllib3
from requests.utils import requote_uri
from urllib3 import exceptions as urllib3_errors

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Iterable[str]]

DEFAULT_PURPOSE = "requests from this site"
MAX_URL_LENGTH = 2048
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "GAISSA-Tools (endpoint measurement; +https://github.com/GAISSA-UPC)"

# Headers that frame the message or the connection; the client sets them itself.
FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
    "proxy-authorization", "proxy-connection",
})
# Request headers kept when a redirect leaves the origin; every other header (credentials included) is dropped.
HEADERS_KEPT_ACROSS_ORIGINS = frozenset({"accept", "content-type", "user-agent", "accept-encoding"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
# Query parameter names whose values are redacted before a URL is stored or logged.
_SECRET_PARAMETER = re.compile(r"key|token|secret|pass|pwd|auth|sig|credential|session|code|jwt|bearer|cookie",
                               re.IGNORECASE)


class _RedactQueryFilter(logging.Filter):
    """Redact secret-looking query values in urllib3's request log lines (DEBUG), which name the full path."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = record.args
        if isinstance(arguments, tuple) and len(arguments) == 8 and isinstance(arguments[4], str) and "?" in arguments[4]:
            path, _, query = arguments[4].partition("?")
            record.args = (*arguments[:4], redact_url(f"http://host{path}?{query}")[len("http://host"):], *arguments[5:])
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryFilter())


# --- Errors -------------------------------------------------------------------------------------

class OutboundError(Exception):
    """A request that could not be made or completed; str(error) is a message for users."""


class InvalidURL(OutboundError):
    """A URL, host name or header that the client does not send."""


class AddressRefused(OutboundError):
    """An address outside the public internet that the allow-list does not permit."""

    def __init__(self, message: str, address: str, category: str, host: str | None = None):
        super().__init__(message)
        self.address = address
        self.category = category
        self.host = host


class ResolutionFailed(OutboundError):
    """A host name that did not resolve to any address."""


class ConnectionFailed(OutboundError):
    """A connection that was refused, reset, or failed its TLS handshake."""


class RequestTimedOut(OutboundError):
    """A connection or response slower than the timeout."""


class ResponseTooLarge(OutboundError):
    """A response body larger than the client's size cap."""


class TooManyRedirects(OutboundError):
    """A chain of redirects longer than the client follows."""


class RateLimited(OutboundError):
    """Too many requests to one address: the wait for the next slot exceeds the limit."""


# --- Address checks ----------------------------------------------------------------------------

_IPV4_BLOCKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), category) for network, category in (
        ("0.0.0.0/8", "unspecified"),  # "this network"
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "special-purpose"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "special-purpose"),  # deprecated 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_IPV6_BLOCKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), category) for network, category in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "special-purpose"),  # IETF protocol assignments, Teredo included
        ("3fff::/20", "documentation"),
        ("fc00::/7", "private"),  # unique local addresses
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local addresses
        ("ff00::/8", "multicast"),
    )
)
# IPv6 addresses outside global unicast space are unassigned or reserved.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

CLOUD_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(address) for address in (
    "169.254.169.254",  # instance metadata of AWS, Azure, Google Cloud, Oracle Cloud and OpenStack
    "169.254.170.2",  # AWS ECS task metadata and credentials
    "fd00:ec2::254",  # AWS instance metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud instance metadata
    "168.63.129.16",  # Azure WireServer: a public address reachable only from inside Azure
))


@dataclass(frozen=True)
class Allowlist:
    """Hosts and networks that may be reached although their addresses are not public.

    A cloud metadata address is only permitted when listed as a single address (a /32 or /128),
    never through a wider network or a host name.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: "Iterable[str] | Allowlist | None") -> "Allowlist":
        """Read host names, IP addresses and CIDR networks; raise ValueError naming an invalid entry."""
        if isinstance(entries, Allowlist):
            return entries
        if isinstance(entries, str):
            entries = entries.split(",")
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries or ():
            text = entry.strip().lower()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            host = text.rstrip(".")
            if not _HOST_NAME.match(host):
                raise ValueError(f"Allow-list entry {entry!r} is neither a host name nor an IP address or network (CIDR).")
            hosts.add(host)
        return cls(tuple(networks), frozenset(hosts))

    def permits_address(self, address: IPAddress) -> bool:
        if address in CLOUD_METADATA_ADDRESSES:
            return any(network.num_addresses == 1 and address in network for network in self.networks)
        return any(address.version == network.version and address in network for network in self.networks)

    def permits_host(self, host: str) -> bool:
        return host in self.hosts


def parse_ip_literal(text: str) -> IPAddress | None:
    """Read an IP address in any spelling that resolvers accept; return None for a host name.

    IPv4 may be written as the C library's inet_aton reads it: one to four parts in decimal,
    octal (leading 0) or hexadecimal (0x), the last part filling the remaining bytes, so
    "2130706433", "0177.0.0.1", "0x7f.1" and "127.1" all mean 127.0.0.1. A name whose labels are all
    numbers but do not form a valid address raises InvalidURL, as does a name ending in a number.
    """
    candidate = text.strip().lower()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    if ":" in candidate:
        try:
            return _without_scope(ipaddress.IPv6Address(candidate))
        except ValueError:
            raise InvalidURL(f"{text!r} is not a valid IPv6 address.") from None
    if candidate.endswith("."):
        candidate = candidate[:-1]
    labels = candidate.split(".")
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if not all(_NUMERIC_LABEL.match(label) for label in labels):
        raise InvalidURL(f"The host {text!r} ends in a number, so it is neither a host name nor an IP address.")
    address = _inet_aton(labels)
    if address is None:
        raise InvalidURL(f"The host {text!r} looks like an IPv4 address but is not a valid one.")
    return address


def _inet_aton(labels: list[str]) -> ipaddress.IPv4Address | None:
    if len(labels) > 4:
        return None
    numbers = []
    for label in labels:
        if label.startswith("0x"):
            digits, base = label[2:] or "0", 16
        elif len(label) > 1 and label.startswith("0"):
            digits, base = label[1:], 8
        else:
            digits, base = label, 10
        try:
            numbers.append(int(digits, base))
        except ValueError:  # "08": not an octal number
            return None
    *head, last = numbers
    if any(number > 255 for number in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for position, number in enumerate(head):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _without_scope(address: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(str(address).split("%", 1)[0]) if address.scope_id else address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address carried by an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def classify_address(address: IPAddress) -> tuple[str | None, ipaddress.IPv4Address | None]:
    """Return (category, embedded IPv4) of a non-public address, or (None, None) for a public one."""
    if address in CLOUD_METADATA_ADDRESSES:
        return "cloud metadata", None
    if isinstance(address, ipaddress.IPv4Address):
        for network, category in _IPV4_BLOCKS:
            if address in network:
                return category, None
        return None, None

    address = _without_scope(address)
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        category, _ = classify_address(embedded)
        return category, (embedded if category else None)
    for network, category in _IPV6_BLOCKS:
        if address in network:
            return category, None
    if address not in _IPV6_GLOBAL_UNICAST:
        return "reserved", None
    return None, None


def check_address(ip: "IPAddress | str", allowlist: "Iterable[str] | Allowlist" = (), *,
                  purpose: str = DEFAULT_PURPOSE, host: str | None = None) -> None:
    """Raise AddressRefused unless `ip` is a public address or the allow-list permits it.

    Pure: no resolution and no connection. `ip` may be an address object or any spelling that
    parse_ip_literal reads; `host` names the host it was resolved from, for the message.
    """
    address = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else parse_ip_literal(str(ip))
    if address is None:
        raise InvalidURL(f"{ip!r} is not an IP address.")
    category, embedded = classify_address(address)
    if category is None:
        return
    allowed = Allowlist.parse(allowlist)
    if allowed.permits_address(address) or (embedded is not None and allowed.permits_address(embedded)):
        return

    described = f"{_article(category)} {category} address"
    if embedded is not None and isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = f"::ffff:{embedded}"  # the usual spelling, not Python's ::ffff:7f00:1
    if embedded is not None:
        described = f"{embedded}, {described}"
        subject = f"{host} resolves to {address}, which maps to" if host else f"{address} maps to"
    else:
        subject = f"{host} resolves to {address}," if host else f"{address} is"
    message = f"{subject} {described}; {purpose} may only reach public hosts."
    raise AddressRefused(message, str(address), category, host)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host name with the operating system's resolver, returning both IPv4 and IPv6 addresses."""
    # NOTE: getaddrinfo has no timeout of its own; a slow DNS server delays the request by the resolver's timeout.
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def resolve_and_check(host: str, port: int, resolver: Resolver = system_resolver,
                      allowlist: "Iterable[str] | Allowlist" = (), *, purpose: str = DEFAULT_PURPOSE) -> list[IPAddress]:
    """Resolve `host` and check every address; return them, or raise when any one is refused.

    IP literals in any spelling are checked without calling the resolver. A host that resolves to
    both public and non-public addresses is refused, so that the address used to connect cannot
    differ from the one checked. A host on the allow-list may resolve to non-public addresses,
    except cloud metadata addresses.
    """
    allowed = Allowlist.parse(allowlist)
    name = host.strip().lower().rstrip(".")
    literal = parse_ip_literal(name)
    if literal is not None:
        check_address(literal, allowed, purpose=purpose)
        return [literal]

    try:
        answers = list(resolver(name, port))
    except OSError as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        raise ResolutionFailed(f"The host name {name} could not be resolved ({detail}). Check the URL.") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        address = _without_scope(ipaddress.ip_address(answer)) if ":" in str(answer) else ipaddress.ip_address(answer)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionFailed(f"The host name {name} has no IPv4 or IPv6 address. Check the URL.")

    host_permitted = allowed.permits_host(name)
    for address in addresses:
        if host_permitted and address not in CLOUD_METADATA_ADDRESSES:
            continue
        check_address(address, allowed, purpose=purpose, host=name)
    return addresses


# --- URLs and headers --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Parts of a checked http(s) URL that the client needs to send a request."""

    url: str
    scheme: str
    host: str  # lower-case host name or IP literal, without brackets
    port: int
    request_target: str  # path and query, percent-encoded
    host_header: str
    is_ip_literal: bool

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Target:
    """Check that `url` is an absolute http(s) URL without credentials and split it; raise InvalidURL."""
    text = (url or "").strip()
    if not text:
        raise InvalidURL("Enter the endpoint URL, e.g. https://models.example.org/predict.")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(f"The URL is {len(text)} characters long; the maximum is {MAX_URL_LENGTH}.")
    if any(ord(character) < 32 or character == " " for character in text):
        raise InvalidURL("The URL contains spaces or control characters; percent-encode them (a space is %20).")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidURL(f"The URL {text[:80]!r} cannot be read: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme or "no scheme"
        raise InvalidURL(f"Only http and https URLs can be requested; got {shown}. Start the URL with https://.")
    if parts.username is not None or parts.password is not None:
        raise InvalidURL("The URL contains a user name or password. Remove it from the URL and send the "
                         "credentials in a request header instead (for example Authorization).")
    raw_host = parts.hostname
    if not raw_host:
        raise InvalidURL(f"The URL {redact_url(text)} has no host name.")
    try:
        port = parts.port
    except ValueError:
        raise InvalidURL(f"The port in {parts.netloc!r} is not a number from 1 to 65535.") from None
    default_port = 443 if scheme == "https" else 80
    if port == 0:
        raise InvalidURL("Port 0 cannot be connected to; use a port from 1 to 65535.")

    host = _ascii_host(raw_host.rstrip("."))
    literal = parse_ip_literal(host)
    if literal is None and not _HOST_NAME.match(host):
        raise InvalidURL(f"{raw_host!r} is not a valid host name.")
    host = str(literal) if literal is not None else host
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    request_target = requote_uri(parts.path or "/") + (f"?{requote_uri(parts.query)}" if parts.query else "")
    return Target(url=text, scheme=scheme, host=host, port=port or default_port, request_target=request_target,
                  host_header=host_header, is_ip_literal=literal is not None)


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidURL(f"{host!r} is not a valid internationalised host name.") from None


def redact_url(url: str) -> str:
    """Return `url` without user name, password and fragment, and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(name, "REDACTED" if _SECRET_PARAMETER.search(name) else value) for name, value in pairs],
                      safe="{}", quote_via=quote)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def query_has_secrets(url: str) -> bool:
    """Return True when a query parameter's name looks like it carries a secret (key, token, signature…)."""
    return any(_SECRET_PARAMETER.search(name) for name, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True))


def validate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers as a dict, or raise InvalidURL naming a header the client does not send."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not _HEADER_NAME.match(name or ""):
            raise InvalidURL(f"{name!r} is not a valid header name (letters, digits and - only).")
        if name.lower() in FORBIDDEN_HEADERS:
            raise InvalidURL(f"The {name} header is set by the client and cannot be given.")
        if any(character in value for character in "\r\n\0"):
            raise InvalidURL(f"The value of the {name} header contains a line break.")
        checked[name] = value
    return checked


# --- Rate limit per destination address --------------------------------------------------------

class AddressRateLimiter:
    """Token buckets per destination address, so no address gets more than `rate` requests per second.

    The buckets live in this process: every web process and job worker has its own, so the rate an
    address receives is at most `rate` × the number of processes.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, updated at)

    def acquire(self, address: str, rate: float, max_wait_s: float) -> float:
        """Take one request slot for `address`, sleeping until it is free; return the seconds waited."""
        if rate <= 0:
            return 0.0
        capacity = max(1.0, rate)
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(address, (capacity, now))
            tokens = min(capacity, tokens + (now - updated) * rate) - 1.0
            wait = 0.0 if tokens >= 0 else -tokens / rate
            if wait > max_wait_s:
                raise RateLimited(f"Too many requests to {address}: the next one could only be sent in {wait:.0f} s "
                                  f"(the limit is {rate:g} requests per second per address).")
            self._buckets[address] = (tokens, now)
            self._forget_idle(now)
        if wait:
            self._sleep(wait)
        return wait

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) > 1000:
            for address, (_tokens, updated) in list(self._buckets.items()):
                if now - updated > 600:
                    del self._buckets[address]


# Shared by every client of this process, so that concurrent measurements of one address add up.
shared_rate_limiter = AddressRateLimiter()


# --- Client ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboundPolicy:
    """Limits of a client: what it may reach, how long it waits, how much it reads."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 3
    # Requests per second to one destination address, across all clients of the process.
    rate_per_address: float = 50.0
    max_rate_wait_s: float = 30.0
    purpose: str = DEFAULT_PURPOSE
    # PEM file of trusted certificate authorities; None uses certifi's bundle.
    ca_bundle: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> "OutboundPolicy":
        """Build the policy from app settings (OUTBOUND_*), with keyword overrides."""
        settings: dict[str, Any] = {"allowlist": Allowlist.parse(config.get("OUTBOUND_ALLOWLIST") or ())}
        for key, name in (("connect_timeout_s", "OUTBOUND_CONNECT_TIMEOUT_S"),
                          ("max_response_bytes", "OUTBOUND_MAX_RESPONSE_BYTES"),
                          ("max_redirects", "OUTBOUND_MAX_REDIRECTS"),
                          ("rate_per_address", "OUTBOUND_RATE_PER_SECOND"),
                          ("ca_bundle", "OUTBOUND_CA_BUNDLE")):
            if config.get(name) not in (None, ""):
                settings[key] = config[name]
        settings.update(overrides)
        return cls(**settings)


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    url: str  # the final URL, after redirects, redacted
    address: str  # the IP address connected to
    redirects: list[str] = field(default_factory=list)
    rate_wait_s: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class SafeHttpClient:
    """An HTTP client that only connects to checked, pinned addresses (see the module docstring).

    One client resolves each host once and keeps one connection pool per pinned address, so all
    requests of a measurement go to the same checked address. Thread-safe; close it when done.
    """

    def __init__(self, policy: OutboundPolicy | None = None, *, resolver: Resolver = system_resolver,
                 rate_limiter: AddressRateLimiter | None = None, max_connections: int = 1,
                 clock: Callable[[], float] = time.perf_counter):
        self.policy = policy or OutboundPolicy()
        self._resolver = resolver
        self._rate_limiter = rate_limiter or shared_rate_limiter
        self._max_connections = max(1, max_connections)
        self._clock = clock
        self._lock = threading.Lock()
        self._addresses: dict[tuple[str, int], list[IPAddress]] = {}
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}

    def __enter__(self) -> "SafeHttpClient":
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def check_target(self, url: str) -> list[IPAddress]:
        """Parse `url`, resolve its host and check its addresses, without sending anything."""
        return self._addresses_of(parse_url(url))

    def request(self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                timeout_s: float | None = None) -> HttpResponse:
        """Send one request, following redirects through checked addresses; raise an OutboundError on failure.

        `timeout_s` bounds the connection, each read, and the whole exchange including redirects. Time
        spent waiting for the per-address rate limit does not count against it.
        """
        timeout = timeout_s or self.policy.read_timeout_s
        started = self._clock()
        target = parse_url(url)
        method = method.upper()
        request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        request_headers.update(validate_headers(headers or {}))
        redirects: list[str] = []
        waited = 0.0

        for hop in range(self.policy.max_redirects + 1):
            try:
                status, reason, response_headers, data, address, hop_wait = self._send(
                    target, method, body, request_headers, timeout, started + timeout + waited)
            except AddressRefused as exc:
                if not redirects:
                    raise
                raise AddressRefused(f"The endpoint redirected to {redirects[-1]}: {exc}", exc.address, exc.category,
                                     exc.host) from None
            except ResolutionFailed as exc:
                if not redirects:
                    raise
                raise ResolutionFailed(f"The endpoint redirected to {redirects[-1]}: {exc}") from None
            waited += hop_wait
            location = response_headers.get("location")
            if status not in REDIRECT_STATUSES or not location:
                return HttpResponse(status, reason, response_headers, data, redact_url(target.url), str(address),
                                    redirects, waited)

            try:
                next_url = urljoin(target.url, location)
            except ValueError:
                raise InvalidURL(f"The endpoint redirected to an invalid URL ({location[:80]!r}).") from None
            redirects.append(redact_url(next_url))
            if hop == self.policy.max_redirects:
                break
            try:
                next_target = parse_url(next_url)
            except InvalidURL as exc:
                raise InvalidURL(f"The endpoint redirected to {redact_url(next_url)}, which cannot be requested: {exc}") from None
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                request_headers = {name: value for name, value in request_headers.items() if name.lower() != "content-type"}
            if next_target.origin != target.origin:
                request_headers = {name: value for name, value in request_headers.items()
                                   if name.lower() in HEADERS_KEPT_ACROSS_ORIGINS}
            target = next_target

        raise TooManyRedirects(f"The endpoint redirected more than {self.policy.max_redirects} times "
                               f"(last to {redirects[-1]}). Use the final URL instead.")

    def _addresses_of(self, target: Target) -> list[IPAddress]:
        key = (target.host, target.port)
        with self._lock:
            cached = self._addresses.get(key)
        if cached is not None:
            return cached
        addresses = resolve_and_check(target.host, target.port, self._resolver, self.policy.allowlist,
                                      purpose=self.policy.purpose)
        with self._lock:
            return self._addresses.setdefault(key, addresses)

    def _pool(self, target: Target, address: IPAddress) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, str(address), target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._new_pool(target, address)
                self._pools[key] = pool
            return pool

    def _new_pool(self, target: Target, address: IPAddress) -> urllib3.HTTPConnectionPool:
        options: dict[str, Any] = {"maxsize": self._max_connections, "block": True, "retries": False}
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(str(address), target.port, **options)
        # The connection goes to the pinned address; SNI and the certificate check use the host name.
        return urllib3.HTTPSConnectionPool(
            str(address), target.port, cert_reqs="CERT_REQUIRED", ca_certs=self.policy.ca_bundle or certifi.where(),
            server_hostname=None if target.is_ip_literal else target.host,
            assert_hostname=target.host if target.is_ip_literal else None, **options,
        )

    def _send(self, target: Target, method: str, body: bytes | None, headers: dict[str, str], timeout: float,
              deadline: float) -> tuple[int, str, dict[str, str], bytes, IPAddress, float]:
        addresses = self._addresses_of(target)
        waited = 0.0
        last_error: Exception | None = None
        for address in addresses:
            waited += self._rate_limiter.acquire(str(address), self.policy.rate_per_address, self.policy.max_rate_wait_s)
            deadline_after_wait = deadline + waited
            remaining = deadline_after_wait - self._clock()
            if remaining <= 0:
                raise RequestTimedOut(f"{target.host_header} did not respond within {timeout:g} s.")
            pool = self._pool(target, address)
            urllib3_timeout = urllib3.Timeout(connect=min(self.policy.connect_timeout_s, remaining), read=remaining)
            try:
                response = pool.urlopen(
                    method, target.request_target, body=body, headers={**headers, "Host": target.host_header},
                    redirect=False, retries=False, assert_same_host=False, timeout=urllib3_timeout,
                    preload_content=False, decode_content=True,
                )
            except urllib3_errors.NewConnectionError as exc:
                last_error = exc  # try the host's next address
                continue
            except urllib3_errors.HTTPError as exc:
                raise self._translate(exc, target, timeout) from None
            data = self._read_body(response, target, timeout, deadline_after_wait)
            response_headers = {name.lower(): value for name, value in response.headers.items()}
            return response.status, response.reason or "", response_headers, data, address, waited
        raise self._translate(last_error, target, timeout) from None

    def _read_body(self, response: urllib3.BaseHTTPResponse, target: Target, timeout: float, deadline: float) -> bytes:
        cap = self.policy.max_response_bytes
        complete = False
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise ResponseTooLarge(f"The response of {target.host_header} is {int(declared):,} bytes; "
                                       f"the limit is {cap:,} bytes.")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.stream(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(f"The response of {target.host_header} exceeded the limit of {cap:,} bytes.")
                if self._clock() > deadline:
                    raise RequestTimedOut(f"{target.host_header} did not send its whole response within {timeout:g} s.")
                chunks.append(chunk)
            complete = True
            return b"".join(chunks)
        except urllib3_errors.HTTPError as exc:
            raise self._translate(exc, target, timeout) from None
        finally:
            if not complete:
                response.close()  # the rest of the body is not read; the pool opens a new connection
            response.release_conn()

    @staticmethod
    def _translate(error: Exception | None, target: Target, timeout: float) -> OutboundError:
        where = target.host_header
        detail = _root_cause(error)
        if isinstance(error, urllib3_errors.NewConnectionError):
            return ConnectionFailed(f"Could not connect to {where} ({detail}). Check the URL and that the endpoint is running.")
        if isinstance(error, urllib3_errors.ConnectTimeoutError):
            return RequestTimedOut(f"Connecting to {where} timed out.")
        if isinstance(error, (urllib3_errors.ReadTimeoutError, TimeoutError)):
            return RequestTimedOut(f"{where} did not respond within {timeout:g} s.")
        if isinstance(error, urllib3_errors.SSLError):
            return ConnectionFailed(f"The TLS connection to {where} failed ({detail}). "
                                    f"The server needs a valid certificate for {target.host}.")
        if isinstance(error, urllib3_errors.ProtocolError):
            return ConnectionFailed(f"{where} closed the connection or sent an invalid response ({detail}).")
        if isinstance(error, urllib3_errors.DecodeError):
            return ConnectionFailed(f"The response of {where} could not be decompressed ({detail}).")
        return ConnectionFailed(f"The request to {where} failed ({detail}).")


def _root_cause(error: BaseException | None) -> str:
    """Return the innermost operating-system or TLS message of an error chain."""
    seen = error
    message = str(error) if error else "no address could be reached"
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            message = seen.strerror
        elif isinstance(seen, OSError) and seen.args and isinstance(seen.args[-1], str) and seen is not error:
            message = seen.args[-1]
        seen = seen.__cause__ or seen.__context__
    return message
