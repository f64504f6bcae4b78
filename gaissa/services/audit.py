"""The audit log of administrative changes: who changed what, when, and the state before and after."""

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, User
from gaissa.services.text_search import contains_text

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


def record(action: str, entity: str, entity_id, before: dict | None, after: dict | None, summary: str = "",
           *, user: User | None = None) -> AuditEntry:
    """Add an audit entry for the signed-in user (or `user`) to the current transaction.

    `before` and `after` are snapshots of the changed object; dates, enums and non-finite floats
    are turned into JSON-safe values. The entry is committed or rolled back with the change itself.
    """
    actor = user if user is not None else _signed_in_user()
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        action=action[:40],
        entity=entity[:60],
        entity_id=None if entity_id is None else str(entity_id)[:100],
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        summary=summary,
    )
    db.session.add(entry)
    db.session.flush()
    logger.info("Audit: %s %s %s %s by %s", action, entity, entity_id, summary,
                actor.email if actor is not None else "the command line")
    return entry


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Return the named attributes of an object as a JSON-safe dict, for `record`."""
    return _json_safe({name: getattr(obj, name) for name in fields})


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """Return the keys whose values differ between two snapshots, in a stable order."""
    before = before or {}
    after = after or {}
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [key for key in keys if before.get(key) != after.get(key)]


@dataclass(frozen=True)
class AuditFilter:
    entity: str = ""
    action: str = ""
    user_email: str = ""
    text: str = ""
    since: date | None = None
    until: date | None = None


DATE_LABELS = {"since": "From", "until": "To"}


def read_filter(args: Mapping[str, str]) -> tuple[AuditFilter, dict[str, str]]:
    """Read the filter from query arguments; return it with a message per invalid date field ("since", "until").

    An invalid date is left out of the filter, and a From date after the To date is reported at the To field.
    """
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name, label in DATE_LABELS.items():
        text = (args.get(name) or "").strip()
        dates[name] = None
        if not text:
            continue
        try:
            dates[name] = date.fromisoformat(text)
        except ValueError:
            errors[name] = (f"The {label} date {text[:40]!r} is not a valid date; pick one in the calendar or write "
                            "it as YYYY-MM-DD, e.g. 2025-03-31.")
    since, until = dates["since"], dates["until"]
    if since is not None and until is not None and since > until:
        errors["until"] = (f"The To date ({until.isoformat()}) is before the From date ({since.isoformat()}), so no "
                           "entry can match; swap the two dates.")
    criteria = AuditFilter(
        entity=args.get("entity", ""), action=args.get("action", ""), user_email=args.get("user", ""),
        text=args.get("q", ""), since=since, until=until,
    )
    return criteria, errors


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def search(criteria: AuditFilter, page: int = 1, page_size: int = PAGE_SIZE) -> AuditPage:
    """Return one page of audit entries matching the filter, newest first."""
    query = _filtered(select(AuditEntry), criteria)
    total = db.session.scalar(_filtered(select(func.count(AuditEntry.id)), criteria)) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    entries = db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return AuditPage(list(entries), page, pages, total)


def entities() -> list[str]:
    """Return the entity names present in the log, for the filter's choices."""
    return list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def get_entry(entry_id: int) -> AuditEntry | None:
    return db.session.get(AuditEntry, entry_id)


def _filtered(query: Select, criteria: AuditFilter) -> Select:
    if criteria.entity:
        query = query.where(AuditEntry.entity == criteria.entity)
    if criteria.action:
        query = query.where(AuditEntry.action == criteria.action)
    if criteria.user_email:
        query = query.join(User, User.id == AuditEntry.user_id).where(
            contains_text(User.email, criteria.user_email.strip()))
    if criteria.text:
        needle = criteria.text.strip()
        query = query.where(or_(contains_text(AuditEntry.summary, needle), contains_text(AuditEntry.entity_id, needle)))
    if criteria.since:
        query = query.where(AuditEntry.at >= datetime.combine(criteria.since, time.min, tzinfo=timezone.utc))
    if criteria.until:
        end = datetime.combine(criteria.until, time.min, tzinfo=timezone.utc) + timedelta(days=1)
        query = query.where(AuditEntry.at < end)
    return query


def _signed_in_user() -> User | None:
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    return current_user._get_current_object()


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(item) for item in value]
    if isinstance(value, Enum):
        return _json_safe(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
