"""Fixed-window counters of writes per client address (anonymous API writes, measurement starts), in the database.

The counters live in the database so that every gunicorn worker (and every web host behind
the same database) reads the same counts. Each counted request commits its increment at once,
so a request that fails later still counts.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from gaissa.extensions import db
from gaissa.models.base import utcnow
from gaissa.models.tokens import ApiRateCounter

logger = logging.getLogger(__name__)
WINDOW = timedelta(hours=1)
# Saves by visitors who are not signed in, through the API and the site's forms together, per address and hour.
DEFAULT_ANONYMOUS_WRITES_PER_HOUR = 60
# Counters of windows older than this are deleted when a new window starts.
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    # Seconds until the current window ends and the count starts again from zero.
    retry_after: int


def window_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def count_write(address: str, limit: int, now: datetime | None = None,
                subject: str = "Anonymous API writes") -> RateDecision:
    """Count one write from `address` in the current window, commit it, and return whether it is allowed.

    `address` may carry a prefix ("measure:203.0.113.7"), so that other limits count apart. `subject`
    names what is counted in the log line written when the limit is reached.
    """
    now = now or utcnow()
    start = window_start(now)
    address = _stored_address(address)
    matches = (ApiRateCounter.address == address, ApiRateCounter.window_start == start)

    increment = update(ApiRateCounter).where(*matches).values(count=ApiRateCounter.count + 1)
    if db.session.execute(increment).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(ApiRateCounter(address=address, window_start=start, count=1))
        except IntegrityError:
            # Another worker created this window's row first; count on it.
            db.session.execute(increment)
        else:
            db.session.execute(delete(ApiRateCounter).where(ApiRateCounter.window_start < start - KEEP))
    count = db.session.scalar(select(ApiRateCounter.count).where(*matches)) or 1
    db.session.commit()

    allowed = count <= limit
    if count == limit + 1:
        logger.warning("%s from %s reached the limit of %d per hour", subject, address, limit)
    return RateDecision(allowed, count, limit, _seconds_left(start, now))


def count_anonymous_write(address: str) -> RateDecision:
    """Count one write by a visitor who is not signed in, against API_ANONYMOUS_WRITES_PER_HOUR (API and forms)."""
    return count_write(address, _anonymous_limit(), subject="Anonymous writes")


def anonymous_writes_left(address: str, now: datetime | None = None) -> RateDecision:
    """Tell whether a visitor who is not signed in may still save, without counting anything.

    The site's forms check this first and count the save with count_anonymous_write() once it succeeded, so that
    a form sent back with validation errors costs nothing.
    """
    now = now or utcnow()
    start = window_start(now)
    limit = _anonymous_limit()
    count = db.session.scalar(select(ApiRateCounter.count).where(
        ApiRateCounter.address == _stored_address(address), ApiRateCounter.window_start == start)) or 0
    return RateDecision(count < limit, count, limit, _seconds_left(start, now))


def _anonymous_limit() -> int:
    return int(current_app.config.get("API_ANONYMOUS_WRITES_PER_HOUR", DEFAULT_ANONYMOUS_WRITES_PER_HOUR))


def _stored_address(address: str) -> str:
    return (address or "unknown")[:64]


def _seconds_left(start: datetime, now: datetime) -> int:
    """Return the seconds until the window that began at `start` ends (at least 1)."""
    return max(1, int((start + WINDOW - now).total_seconds()))
