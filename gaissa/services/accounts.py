"""User accounts: creation, authentication and session ending."""

import logging
import secrets

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Role, User
from gaissa.models.base import utcnow
from gaissa.services.passwords import hash_password, verify_password

logger = logging.getLogger(__name__)
MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """An account operation that cannot be done; the message is meant for users."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(email: str, password: str, role: str = Role.USER) -> User:
    """Create an active user; raise AccountError for a taken email or a short password."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters; it has {len(password)}.")
    if find_user(email) is not None:
        raise AccountError(f"A user with the email {email} already exists.")
    user = User(email=email, password_hash=hash_password(password), role=role, active=True,
                session_token=secrets.token_hex(16))
    db.session.add(user)
    db.session.flush()
    logger.info("Created user %s with role %s", email, role)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (the same for every kind of failure)."""
    user = find_user(email)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session cookie of the user (logout, password reset, deactivation)."""
    user.session_token = secrets.token_hex(16)
