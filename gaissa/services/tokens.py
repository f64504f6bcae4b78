"""Personal API tokens: creation (the secret is returned once), listing, revocation and lookup.

A token is "gaissa_" followed by 43 URL-safe characters from `secrets` (256 random bits). Only
its SHA-256 is stored: with that much entropy a fast hash is enough, and lookups stay one
indexed query. The caller commits.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import User
from gaissa.models.base import utcnow
from gaissa.models.tokens import ApiToken

logger = logging.getLogger(__name__)
TOKEN_PREFIX = "gaissa_"
MAX_NAME_LENGTH = 100
MAX_ACTIVE_TOKENS = 20
# last_used_at is written at most this often per token, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class TokenError(ValueError):
    """A token operation that cannot be done; `field` names the form field, the message is for users."""

    def __init__(self, message: str, field: str = "name"):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    # The whole secret; it is not stored and cannot be shown again.
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> NewToken:
    """Add a named token for the user and return it with its secret."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Enter a name for the token, e.g. the machine or script that will use it.")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"The name is {len(name)} characters long; the maximum is {MAX_NAME_LENGTH}.")
    active = db.session.scalar(
        select(func.count(ApiToken.id)).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ) or 0
    if active >= MAX_ACTIVE_TOKENS:
        raise TokenError(f"You already have {active} active tokens, the maximum; revoke one you no longer use first.")

    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_secret(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.flush()
    logger.info("User %s created API token %s (%s)", user.email, token.id, name)
    return NewToken(token, secret)


def list_tokens(user: User) -> list[ApiToken]:
    """Return the user's tokens, active ones first, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's tokens; return None when the user has no token with that id."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        logger.info("User %s revoked API token %s (%s)", user.email, token.id, token.name)
    return token


def revoke_all_tokens(user: User) -> int:
    """Revoke every active token of the user (after a password reset); return how many were active."""
    active = list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ))
    now = utcnow()
    for token in active:
        token.revoked_at = now
    if active:
        logger.info("Revoked %d API tokens of user %s", len(active), user.email)
    return len(active)


def authenticate(secret: str) -> ApiToken | None:
    """Return the active token with this secret whose user is active, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token


def mark_used(token: ApiToken) -> bool:
    """Set last_used_at when it is older than LAST_USED_RESOLUTION; return True when it changed."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    return True
