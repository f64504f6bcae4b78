"""Tables of the catalogue sync: one row per sync run and one row per model a run processed.

A run's items double as its checkpoint: a resumed run skips the models that already have an
item in that run, so a crashed or cancelled run never processes a model twice.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from gaissa.extensions import db
from gaissa.models.base import UTCDateTime, utcnow


class SyncState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Runs in these states stopped before the end of their listing; the next run of the provider resumes them.
RESUMABLE_STATES = frozenset({SyncState.RUNNING, SyncState.FAILED, SyncState.CANCELLED})


class SyncAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


COUNTED_ACTIONS = tuple(action.value for action in SyncAction)


class SyncRun(db.Model):
    """One sync of a provider's catalogue, with its counts, high-water mark and checkpoint."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_provider_started", "provider", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default=SyncState.RUNNING, index=True)
    # Full runs read every listed model; incremental runs stop at the models last modified before `since`.
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    limit: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hub time up to which every model is known to be synced; set when the run succeeds completely.
    high_water_mark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # True when the run read its whole listing (not cut short by --limit).
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "<host>:<pid>" of the process running it, so that a later run can tell a crashed run from a live one.
    owner: Mapped[str | None] = mapped_column(String(200))
    resume_count: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    listed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Imported models whose CO2 value is not trusted and therefore not rated (a subset of created + updated + unchanged).
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    # Oldest Hub modification time among the failed models: the high-water mark never passes it.
    oldest_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Newest Hub modification time among the listed models.
    newest_listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Position reached in the listing: {"models": n, "last_id": ..., "last_modified": ...}.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)

    # Thousands per run: written and queried in batches, never loaded as a whole collection.
    items: WriteOnlyMapped["SyncItem"] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def finished(self) -> bool:
        return self.state in (SyncState.SUCCEEDED, SyncState.FAILED, SyncState.CANCELLED)

    def counts(self) -> dict[str, int]:
        return {
            "listed": self.listed, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "skipped": self.skipped, "failed": self.failed, "flagged": self.flagged,
        }

    def __repr__(self) -> str:
        return f"<SyncRun {self.id} {self.provider} {self.state} listed={self.listed}>"


class SyncItem(db.Model):
    """One model's outcome in one run: created, updated, unchanged, skipped or failed, and why."""

    __tablename__ = "sync_items"
    __table_args__ = (UniqueConstraint("run_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(16), index=True)
    # Short machine-readable cause for skipped and failed models and for flags, e.g. "invalid_yaml".
    reason: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[int | None] = mapped_column(ForeignKey("ml_models.id", ondelete="SET NULL"))
    last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Values not trusted and therefore not rated: [{"code": "zero", "message": "..."}].
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Field -> [before, after] for updated models; values rejected by the rating rules with the reason.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[SyncRun] = relationship(back_populates="items")

    def __repr__(self) -> str:
        return f"<SyncItem {self.external_id} {self.action}>"
