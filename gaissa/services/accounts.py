"""User accounts: creation, invitation, authentication, password links, deactivation and roles."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Role, User
from gaissa.models.base import utcnow
from gaissa.services import audit, tokens
from gaissa.services.login_throttle import LoginThrottle
from gaissa.services.passwords import hash_password, needs_rehash, verify_password
from gaissa.services.text_search import contains_text

logger = logging.getLogger(__name__)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# A set-password link works once (it names the password it replaces) and for this long.
PASSWORD_LINK_LIFETIME = timedelta(hours=72)
ROLE_NAMES = {Role.USER.value: "User", Role.QA_MANAGER.value: "QA manager"}
AUDIT_FIELDS = ("email", "role", "active", "password_set_at")
_TOKEN_SALT = "gaissa-set-password"


class AccountError(ValueError):
    """An account operation that cannot be done; the message is meant for users."""


@dataclass(frozen=True)
class PasswordLink:
    user: User
    token: str
    expires_in: timedelta = PASSWORD_LINK_LIFETIME
    # API tokens revoked when the link came from a password reset.
    revoked_tokens: int = 0


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def list_users(text: str = "") -> list[User]:
    """Return the users whose email contains `text`, managers first, then by email."""
    query = select(User)
    if text.strip():
        query = query.where(contains_text(User.email, text.strip()))
    return list(db.session.scalars(query.order_by(User.role.desc(), User.email)))


def check_password(password: str) -> None:
    """Raise AccountError unless the password has an acceptable length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters; it has {len(password)}.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters; it has {len(password)}.")


def check_role(role: str) -> str:
    if role not in ROLE_NAMES:
        raise AccountError(f"Unknown role {role!r}; use one of: {', '.join(ROLE_NAMES)}.")
    return role


def create_user(email: str, password: str | None, role: str = Role.USER) -> User:
    """Add an active user; without a password the account waits for its set-password link.

    Raise AccountError for an invalid or taken email, an unknown role or a bad password.
    """
    email = normalise_email(email or "")
    if not email:
        raise AccountError("Enter the email address.")
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(char.isspace() for char in email):
        raise AccountError(f"{email!r} is not an email address; enter one such as name@example.org.")
    check_role(role)
    if password is not None:
        check_password(password)
    if find_user(email) is not None:
        raise AccountError(f"A user with the email {email} already exists.")

    user = User(
        email=email,
        # An invited user gets the hash of a random secret that is never stored, so no password works yet.
        password_hash=hash_password(password if password is not None else secrets.token_urlsafe(32)),
        role=role,
        active=True,
        session_token=secrets.token_hex(16),
        password_set_at=utcnow() if password is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    logger.info("Created user %s with role %s", email, role)
    return user


def create_manager(email: str, password: str, update: bool = False) -> tuple[User, bool]:
    """Create a QA manager, or with `update` make an existing user an active manager with this password.

    Return the user and whether it was created. Used by `flask gaissa create-manager`.
    """
    existing = find_user(email)
    if existing is None:
        user = create_user(email, password, role=Role.QA_MANAGER)
        audit.record("create", "user", user.id, None, audit.snapshot(user, AUDIT_FIELDS),
                     f"Created QA manager {user.email} from the command line")
        return user, True
    if not update:
        raise AccountError(f"A user with the email {existing.email} already exists; add --update to reset its "
                           "password and make it an active QA manager.")
    check_password(password)
    before = audit.snapshot(existing, AUDIT_FIELDS)
    existing.role = Role.QA_MANAGER
    existing.active = True
    _store_password(existing, password)
    audit.record("update", "user", existing.id, before, audit.snapshot(existing, AUDIT_FIELDS),
                 f"Reset the password of QA manager {existing.email} from the command line")
    return existing, False


def invite_user(email: str, role: str, secret_key: str) -> PasswordLink:
    """Add a user without a password and return the link with which they choose one."""
    user = create_user(email, None, role=role)
    audit.record("invite", "user", user.id, None, audit.snapshot(user, AUDIT_FIELDS),
                 f"Invited {user.email} as {ROLE_NAMES[user.role]}")
    return PasswordLink(user, _password_token(user, secret_key))


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (the same for every kind of failure)."""
    user = find_user(email)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session cookie of the user (logout, password reset, deactivation)."""
    user.session_token = secrets.token_hex(16)


def reset_password(user: User, secret_key: str) -> PasswordLink:
    """Disable the user's password, end their sessions, revoke their API tokens and return a link to choose a new one.

    A reset usually follows a leaked or forgotten password, so nothing the old password gave out
    keeps working: neither session cookies nor API tokens.
    """
    before = audit.snapshot(user, AUDIT_FIELDS)
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.password_set_at = None
    end_sessions(user)
    revoked = tokens.revoke_all_tokens(user)
    db.session.flush()
    audit.record("reset_password", "user", user.id, before, audit.snapshot(user, AUDIT_FIELDS),
                 f"Reset the password of {user.email} and revoked {revoked} API token{'s' if revoked != 1 else ''}")
    return PasswordLink(user, _password_token(user, secret_key), revoked_tokens=revoked)


def password_link_for(user: User, secret_key: str) -> PasswordLink:
    """Return a fresh set-password link for a user who has no password yet."""
    if user.password_set_at is not None:
        raise AccountError(f"{user.email} already has a password; reset it to send a new link.")
    return PasswordLink(user, _password_token(user, secret_key))


def user_for_token(token: str, secret_key: str) -> User:
    """Return the user a set-password link belongs to; raise AccountError when it is invalid, used or expired."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)
    try:
        user_id, fingerprint = serializer.loads(token, max_age=int(PASSWORD_LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise AccountError("This link has expired. Ask a QA manager for a new one.") from None
    except (BadSignature, ValueError, TypeError):
        raise AccountError(
            "This link is not valid. Check that it was copied whole, or ask a QA manager for a new one."
        ) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not secrets.compare_digest(str(fingerprint), _fingerprint(user)):
        raise AccountError("This link was already used or replaced by a newer one. Ask a QA manager for a new one.")
    if not user.active:
        raise AccountError("This account is deactivated. Ask a QA manager to reactivate it.")
    return user


def set_password_with_token(token: str, password: str, secret_key: str) -> User:
    """Set the password of the link's user; the link stops working and other sessions end."""
    user = user_for_token(token, secret_key)
    check_password(password)
    before = audit.snapshot(user, AUDIT_FIELDS)
    _store_password(user, password)
    audit.record("set_password", "user", user.id, before, audit.snapshot(user, AUDIT_FIELDS),
                 f"{user.email} chose a password with a set-password link", user=user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a signed-in user's own password after checking the current one; other sessions end."""
    if not verify_password(user.password_hash, current_password):
        raise AccountError("The current password is wrong.")
    check_password(new_password)
    before = audit.snapshot(user, AUDIT_FIELDS)
    _store_password(user, new_password)
    audit.record("change_password", "user", user.id, before, audit.snapshot(user, AUDIT_FIELDS),
                 f"{user.email} changed their password", user=user)


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate (ending every session) or reactivate a user; managers cannot deactivate themselves."""
    if user.active == active:
        return
    if not active:
        if user.id == actor.id:
            raise AccountError("You cannot deactivate your own account.")
        _keep_one_manager(user)
    before = audit.snapshot(user, AUDIT_FIELDS)
    user.active = active
    if not active:
        end_sessions(user)
    db.session.flush()
    verb = "Reactivated" if active else "Deactivated"
    audit.record("reactivate" if active else "deactivate", "user", user.id, before,
                 audit.snapshot(user, AUDIT_FIELDS), f"{verb} {user.email}")


def set_role(user: User, role: str, actor: User) -> None:
    """Change a user's role; the last active QA manager and the acting manager keep theirs."""
    check_role(role)
    if user.role == role:
        return
    if user.role == Role.QA_MANAGER:
        if user.id == actor.id:
            raise AccountError("You cannot remove your own QA manager role; ask another manager.")
        _keep_one_manager(user)
    before = audit.snapshot(user, AUDIT_FIELDS)
    user.role = role
    db.session.flush()
    audit.record("change_role", "user", user.id, before, audit.snapshot(user, AUDIT_FIELDS),
                 f"Changed the role of {user.email} to {ROLE_NAMES[role]}")


def status_of(user: User) -> str:
    """Return "active", "deactivated" or "waiting for password" for lists."""
    if not user.active:
        return "deactivated"
    if user.password_set_at is None:
        return "waiting for password"
    return "active"


def _keep_one_manager(user: User) -> None:
    if user.role != Role.QA_MANAGER or not user.active:
        return
    others = db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.QA_MANAGER, User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise AccountError(f"{user.email} is the last active QA manager; make someone else a manager first.")


def _store_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_set_at = utcnow()
    end_sessions(user)
    db.session.flush()
    logger.info("Password set for user %s", user.email)


def _fingerprint(user: User) -> str:
    """Digest of the current password hash and session token: both change when the link is used."""
    return hashlib.sha256(f"{user.password_hash}|{user.session_token}".encode()).hexdigest()[:32]


def _password_token(user: User, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT).dumps([user.id, _fingerprint(user)])


@dataclass(frozen=True)
class SignIn:
    user: User | None
    # Seconds to wait before trying again when the attempt was rate-limited, else 0.
    retry_after: int = 0

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


def sign_in(email: str, password: str, address: str, throttle: LoginThrottle) -> SignIn:
    """Check credentials unless the account or address is rate-limited, and count the attempt."""
    email = normalise_email(email)
    decision = throttle.check(email, address)
    if not decision.allowed:
        return SignIn(None, decision.retry_after)
    user = authenticate(email, password)
    throttle.record(email, address, succeeded=user is not None)
    if user is None:
        logger.info("Failed login for %s from %s", email, address)
    else:
        logger.info("User %s logged in from %s", user.email, address)
    return SignIn(user)
