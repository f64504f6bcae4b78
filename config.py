"""Settings per environment, read from environment variables (and `.env` in development)."""

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _csv(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Limits whose defaults live next to the code that applies them; set the variable to override one.
_OPTIONAL_INTEGERS = (
    "OUTBOUND_MAX_RESPONSE_BYTES", "OUTBOUND_MAX_REDIRECTS", "MEASURE_MAX_REQUESTS", "MEASURE_MAX_CONCURRENCY",
    "MEASURE_MAX_ACTIVE", "MEASURE_STARTS_PER_HOUR", "HF_MAX_RETRIES", "HF_SYNC_WORKERS",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT", "LOGIN_MAX_FAILURES_PER_ADDRESS", "LOGIN_FAILURE_WINDOW_MINUTES", "API_ANONYMOUS_WRITES_PER_HOUR",
)
_OPTIONAL_FLOATS = (
    "OUTBOUND_CONNECT_TIMEOUT_S", "OUTBOUND_RATE_PER_SECOND", "MEASURE_MAX_TIMEOUT_S", "MEASURE_MAX_DURATION_S",
    "HF_TIMEOUT", "HF_RETRY_BASE_WAIT", "HF_RETRY_MAX_WAIT",
)


def _megabytes(name: str, default: str) -> int:
    """Read a size in whole megabytes (0 or more) and return it in bytes."""
    raw = os.environ.get(name, "").strip() or default
    if not raw.isdigit():
        raise RuntimeError(f"{name}={raw!r} is not a whole number of megabytes (0 or more); fix or unset it.")
    return int(raw) * 1024 * 1024


def _optional_settings() -> dict:
    """Read the optional limits that are set in the environment, converted to numbers."""
    settings: dict = {}
    for name, convert in [*((n, int) for n in _OPTIONAL_INTEGERS), *((n, float) for n in _OPTIONAL_FLOATS)]:
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        try:
            settings[name] = convert(raw)
        except ValueError:
            raise RuntimeError(f"{name}={raw!r} is not a valid {convert.__name__}; fix or unset it.") from None
    if os.environ.get("OUTBOUND_CA_BUNDLE"):
        settings["OUTBOUND_CA_BUNDLE"] = os.environ["OUTBOUND_CA_BUNDLE"]
    return settings


class Config:
    """Settings shared by every environment."""

    INSTANCE_DIR = Path(os.environ.get("GAISSA_INSTANCE_DIR", BASE_DIR / "instance"))
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(INSTANCE_DIR / "gaissa.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SECRET_KEY = os.environ.get("SECRET_KEY")

    # Absolute base URL written into label QR codes, e.g. https://label.example.org.
    # Empty means "the URL of the current request".
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")

    MAX_CONTENT_LENGTH = _megabytes("MAX_UPLOAD_MB", "20")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "true").lower() == "true"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    REDIS_URL = os.environ.get("REDIS_URL", "")
    # "rq" (needs REDIS_URL), "thread" or "inline"; empty picks rq when REDIS_URL is set, else thread.
    JOB_RUNNER = os.environ.get("JOB_RUNNER", "")
    HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    # Hosts or networks (CIDR) that the outbound client may reach although they are private.
    OUTBOUND_ALLOWLIST = _csv("OUTBOUND_ALLOWLIST")
    ITEMS_PER_PAGE = 20
    # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host headers are trusted.
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Each process's whole-page cache of public pages for anonymous visitors (gaissa/web/page_cache.py); 0 = off.
    PAGE_CACHE_MAX_BYTES = _megabytes("PAGE_CACHE_MB", "32")


for _name, _value in _optional_settings().items():
    setattr(Config, _name, _value)


class DevelopmentConfig(Config):
    """Local development: a generated secret is acceptable and cookies work over plain HTTP."""

    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "development-only-secret-key"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # Template edits show at once in development; set PAGE_CACHE_MB to try the cache.
    PAGE_CACHE_MAX_BYTES = _megabytes("PAGE_CACHE_MB", "0")


class ProductionConfig(Config):
    """Deployment behind a reverse proxy; SECRET_KEY must come from the environment."""


class TestConfig(Config):
    """pytest: a throw-away database, CSRF on, loopback allowed for the tests' own servers."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    OUTBOUND_ALLOWLIST = ["127.0.0.1"]
    PUBLIC_BASE_URL = "http://localhost"
    REDIS_URL = ""
    JOB_RUNNER = "inline"
    LOG_LEVEL = "WARNING"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}
