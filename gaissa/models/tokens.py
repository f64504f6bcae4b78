"""Personal API tokens and the per-address counters that rate-limit anonymous API writes."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gaissa.extensions import db
from gaissa.models.accounts import User
from gaissa.models.base import UTCDateTime, utcnow


class ApiToken(db.Model):
    """A named bearer token of one user; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Hex SHA-256 of the whole token; the token itself is shown once, when it is created.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that users can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        state = "active" if self.active else "revoked"
        return f"<ApiToken {self.id} {self.name!r} {self.prefix}… {state}>"


class ApiRateCounter(db.Model):
    """Number of anonymous API writes from one client address in one fixed time window."""

    __tablename__ = "api_rate_counters"
    __table_args__ = (UniqueConstraint("address", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ApiRateCounter {self.address} {self.window_start:%Y-%m-%d %H:%M} {self.count}>"
