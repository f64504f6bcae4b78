"""A token that changes with every commit that changes what the public pages show.

Each commit that inserts, updates or deletes rows outside IGNORED_TABLES writes a new random token into the
content_state row, in the same transaction as the change. Caches keyed by the token (rendered pages, the tool
switches) therefore never serve a copy older than the last committed change, in any process or on any host that
shares the database. The token is random rather than a counter: a rolled-back change can then never make a later
token repeat one that a cache has already seen.

Read the token before the data it guards. A page rendered from newer data than its token is merely replaced
sooner. A page older than its token cannot happen, because the token and the change commit together.
"""

import secrets

from flask import g, has_app_context
from sqlalchemy import event, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gaissa.extensions import db
from gaissa.models import ContentState

# Tables that no cached page shows and that change often (job progress, throttling, drafts, logs, and the
# accounts, which only logged-in pages show and every login updates).
IGNORED_TABLES = frozenset({
    "content_state", "jobs", "sync_runs", "sync_items", "login_attempts", "audit_log", "evaluation_drafts",
    "api_tokens", "api_rate_counters", "users",
})
_CHANGED = "gaissa.content_changed"
_TOKEN = "content_token"
_READ_TOKEN = "SELECT token FROM content_state WHERE id = 1"


def install() -> None:
    """Listen to every ORM session (idempotent): tests swap db.session for a plain session on one connection."""
    if event.contains(Session, "after_flush", _note_flush):
        return
    event.listen(Session, "after_flush", _note_flush)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "before_commit", _write_token)
    event.listen(Session, "after_transaction_end", _forget_at_end)


def current_token() -> int | None:
    """Return the committed token, read once per request, or None when no cache may be used now.

    None when the row does not exist yet (before `gaissa seed`), when the table is missing, and while this
    session has changes it has not committed, because its own reads would then return rows other requests cannot.
    """
    session = db.session()
    if session.info.get(_CHANGED) or session.new or session.dirty or session.deleted:
        return None
    if has_app_context() and _TOKEN in g:
        return g.get(_TOKEN)
    try:
        # Plain SQL: this read runs on every cacheable request, and the ORM path costs three times as much.
        token = session.connection().exec_driver_sql(_READ_TOKEN).scalar()
    except SQLAlchemyError:
        session.rollback()
        return None
    if has_app_context():
        setattr(g, _TOKEN, token)
    return token


def forget_request_token() -> None:
    """Drop the token read earlier in this request (called at the start of each request and after a commit)."""
    if has_app_context():
        g.pop(_TOKEN, None)


def renew() -> int:
    """Write a new token, so that every process drops its cached pages (after changing rows outside the app)."""
    ensure_row()
    token = secrets.randbits(62)
    db.session.execute(update(ContentState).where(ContentState.id == 1).values(token=token))
    forget_request_token()
    return token


def ensure_row() -> None:
    """Create the content_state row when it is missing (the migration creates it; `db.create_all()` does not)."""
    if db.session.get(ContentState, 1) is None:
        db.session.add(ContentState(id=1, token=secrets.randbits(62)))
        db.session.flush()


def _table_names_of(objects) -> set[str]:
    return {getattr(getattr(item, "__table__", None), "name", "") for item in objects}


def _note_flush(session: Session, _flush_context) -> None:
    # In after_flush, new/dirty/deleted still list what this flush wrote.
    touched = _table_names_of(session.new) | _table_names_of(session.dirty) | _table_names_of(session.deleted)
    if touched - IGNORED_TABLES:
        session.info[_CHANGED] = True


def _note_statement(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in IGNORED_TABLES:
        state.session.info[_CHANGED] = True


def _write_token(session: Session) -> None:
    # Commit flushes only after this hook, so flush first to learn what the commit will write.
    session.flush()
    if not session.info.pop(_CHANGED, False):
        return
    session.execute(update(ContentState).where(ContentState.id == 1).values(token=secrets.randbits(62)))
    forget_request_token()


def _forget_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
