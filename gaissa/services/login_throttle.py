"""Rate limiting of failed logins per account and per client address.

Failures are counted in the database (table login_attempts), or in Redis when a Redis URL is
given. Every gunicorn worker and every web host therefore counts the same failures, and nothing
is kept in process memory. The database store counts failures in a sliding window, and a successful
login forgives the account's earlier failures (not the address's). The Redis store counts in a
fixed window that starts at the first failure.
"""

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Protocol

from sqlalchemy import delete, func, select

from gaissa.extensions import db
from gaissa.models.accounts import LoginAttempt
from gaissa.models.base import utcnow

logger = logging.getLogger(__name__)
# Attempts older than this are deleted; it must be longer than any window in use.
RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failed logins are allowed within `window` before further attempts are rejected."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class ThrottleDecision:
    allowed: bool
    # Seconds until an attempt is allowed again; 0 when allowed.
    retry_after: int = 0

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


@dataclass(frozen=True)
class FailureCount:
    """Failed logins of one account or one address within the window, and when the oldest one expires."""

    count: int
    # Seconds until the oldest counted failure leaves the window; 0 when there is none.
    expires_in: float


class AttemptStore(Protocol):
    def failures(self, email: str, address: str, window: timedelta) -> tuple[FailureCount, FailureCount]:
        """Return the failure counts of the account and of the address."""

    def add(self, email: str, address: str, succeeded: bool, window: timedelta) -> None: ...


class DatabaseAttemptStore:
    """Attempts as rows of login_attempts, written in the request's transaction."""

    def failures(self, email: str, address: str, window: timedelta) -> tuple[FailureCount, FailureCount]:
        now = utcnow()
        since = now - window
        last_success = db.session.scalar(
            select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(True))
        )
        account_since = max(since, last_success) if last_success is not None else since
        account = self._count(LoginAttempt.email == email, account_since, now, window)
        by_address = self._count(LoginAttempt.address == address, since, now, window)
        return account, by_address

    @staticmethod
    def _count(condition, since: datetime, now: datetime, window: timedelta) -> FailureCount:
        count, oldest = db.session.execute(
            select(func.count(LoginAttempt.id), func.min(LoginAttempt.at))
            .where(condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
        ).one()
        if not count or oldest is None:
            return FailureCount(0, 0.0)
        if oldest.tzinfo is None:  # func.min() bypasses the column type on some drivers
            oldest = oldest.replace(tzinfo=timezone.utc)
        return FailureCount(count, max(0.0, (oldest + window - now).total_seconds()))

    def add(self, email: str, address: str, succeeded: bool, window: timedelta) -> None:
        now = utcnow()
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - RETENTION))
        db.session.add(LoginAttempt(at=now, email=email, address=address, succeeded=succeeded))
        db.session.flush()


class RedisAttemptStore:
    """Failure counters in Redis that expire one window after the first failure.

    Emails are stored as SHA-256 digests.
    """

    def __init__(self, client, prefix: str = "gaissa:login-failures"):
        self.client = client
        self.prefix = prefix

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.encode()).hexdigest()
        return f"{self.prefix}:account:{digest}", f"{self.prefix}:address:{address}"

    def failures(self, email: str, address: str, window: timedelta) -> tuple[FailureCount, FailureCount]:
        account_key, address_key = self._keys(email, address)
        pipe = self.client.pipeline()
        pipe.get(account_key)
        pipe.pttl(account_key)
        pipe.get(address_key)
        pipe.pttl(address_key)
        account, account_ttl, by_address, address_ttl = pipe.execute()
        return (
            FailureCount(int(account or 0), max(0, account_ttl or 0) / 1000),
            FailureCount(int(by_address or 0), max(0, address_ttl or 0) / 1000),
        )

    def add(self, email: str, address: str, succeeded: bool, window: timedelta) -> None:
        account_key, address_key = self._keys(email, address)
        if succeeded:
            self.client.delete(account_key)
            return
        seconds = max(1, int(window.total_seconds()))
        pipe = self.client.pipeline()
        for key in (account_key, address_key):
            # SET NX starts the window at the first failure; INCR keeps the expiry.
            pipe.set(key, 0, ex=seconds, nx=True)
            pipe.incr(key)
        pipe.execute()


class LoginThrottle:
    """Decide whether a login attempt may be checked at all, and count its outcome.

    Attempts rejected by the throttle are not counted, so a locked account opens again one
    window after its oldest counted failure, however often someone keeps trying.
    """

    def __init__(self, store: AttemptStore, limits: ThrottleLimits | None = None):
        self.store = store
        self.limits = limits or ThrottleLimits()

    def check(self, email: str, address: str) -> ThrottleDecision:
        account, by_address = self.store.failures(email, address, self.limits.window)
        waits = []
        if account.count >= self.limits.per_account:
            waits.append(account.expires_in)
        if by_address.count >= self.limits.per_address:
            waits.append(by_address.expires_in)
        if not waits:
            return ThrottleDecision(True)
        logger.warning("Login throttled for %s from %s: %d account and %d address failures within %s",
                       email, address, account.count, by_address.count, self.limits.window)
        return ThrottleDecision(False, max(1, math.ceil(max(waits))))

    def record(self, email: str, address: str, succeeded: bool) -> None:
        self.store.add(email, address, succeeded, self.limits.window)


class FallbackAttemptStore:
    """Use the Redis store, and the database store while Redis cannot be reached, so limits stay on."""

    def __init__(self, primary: RedisAttemptStore, fallback: DatabaseAttemptStore):
        self.primary = primary
        self.fallback = fallback

    def failures(self, email: str, address: str, window: timedelta) -> tuple[FailureCount, FailureCount]:
        import redis

        try:
            return self.primary.failures(email, address, window)
        except redis.RedisError:
            logger.error("Redis failed while counting login failures; counting in the database", exc_info=True)
            return self.fallback.failures(email, address, window)

    def add(self, email: str, address: str, succeeded: bool, window: timedelta) -> None:
        import redis

        try:
            self.primary.add(email, address, succeeded, window)
        except redis.RedisError:
            logger.error("Redis failed while storing a login attempt; storing it in the database", exc_info=True)
            self.fallback.add(email, address, succeeded, window)


def make_store(redis_url: str = "") -> AttemptStore:
    """Return the Redis store (falling back to the database) when a Redis URL is given, else the database store."""
    if not redis_url:
        return DatabaseAttemptStore()
    return FallbackAttemptStore(RedisAttemptStore(_redis_client(redis_url)), DatabaseAttemptStore())


@lru_cache(maxsize=4)
def _redis_client(redis_url: str):
    """Return one client (and so one connection pool) per URL and process; it stores no counts."""
    import redis

    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
