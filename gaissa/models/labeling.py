"""GAISSALabel tables: models, metrics, rating schemes, evaluations and calculation tools."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gaissa.extensions import db
from gaissa.models.base import UTCDateTime, utcnow


class Phase(StrEnum):
    TRAINING = "training"
    INFERENCE = "inference"


class Direction(StrEnum):
    LOWER_IS_BETTER = "lower_is_better"
    HIGHER_IS_BETTER = "higher_is_better"


class EvaluationSource(StrEnum):
    FORM = "form"
    FILE = "file"
    ENDPOINT = "endpoint"
    HUGGING_FACE = "huggingface"
    API = "api"


class SchemeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Grade(db.Model):
    """A letter of the energy-label scale; position 0 is the best grade."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter: Mapped[str] = mapped_column(String(1), unique=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    colour: Mapped[str] = mapped_column(String(7))

    def __repr__(self) -> str:
        return f"<Grade {self.letter} {self.colour}>"


class MLModel(db.Model):
    """A machine-learning model whose trainings and inferences are evaluated."""

    __tablename__ = "ml_models"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    author: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set for models imported from a catalogue such as the Hugging Face Hub; None for user-created models.
    provider: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(300))
    external_url: Mapped[str | None] = mapped_column(String(500))
    hub_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    evaluations: Mapped[list["Evaluation"]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True, order_by="Evaluation.registered_at"
    )

    @property
    def is_synced(self) -> bool:
        return self.provider is not None

    def __repr__(self) -> str:
        return f"<MLModel {self.id} {self.name!r}>"


class Metric(db.Model):
    """A rated quantity of one phase. Weights and boundaries live in the rating scheme versions."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32), default="count")
    direction: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    how_to_measure: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Name of the label pictogram (static/img/pictograms/<name>.svg).
    pictogram: Mapped[str] = mapped_column(String(40), default="gauge")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Metric {self.key} ({self.phase})>"


class RatingScheme(db.Model):
    """A numbered, immutable version of one phase's weights and boundaries, or the phase's one draft."""

    __tablename__ = "rating_schemes"
    __table_args__ = (
        UniqueConstraint("phase", "version"),
        # At most one draft per phase, even when two managers start one at the same instant.
        Index("uq_rating_schemes_one_draft_per_phase", "phase", unique=True,
              sqlite_where=text("status = 'draft'"), postgresql_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    # None while the scheme is a draft.
    version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=SchemeStatus.DRAFT)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    entries: Mapped[list["SchemeEntry"]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="SchemeEntry.position"
    )

    @property
    def label(self) -> str:
        return f"v{self.version}" if self.version is not None else "draft"

    def __repr__(self) -> str:
        return f"<RatingScheme {self.phase} {self.label}>"


class SchemeEntry(db.Model):
    """One metric's weight, direction and four boundaries in a rating scheme.

    For lower-is-better metrics b1 < b2 < b3 < b4, for higher-is-better b1 > b2 > b3 > b4.
    The metric's key, name and unit are copied so that a published version stays readable
    after the metric is edited or deleted.
    """

    __tablename__ = "scheme_entries"
    __table_args__ = (UniqueConstraint("scheme_id", "metric_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("rating_schemes.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int | None] = mapped_column(ForeignKey("metrics.id", ondelete="SET NULL"))
    metric_key: Mapped[str] = mapped_column(String(64))
    metric_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(20))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    b1: Mapped[float] = mapped_column(Float)
    b2: Mapped[float] = mapped_column(Float)
    b3: Mapped[float] = mapped_column(Float)
    b4: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)

    scheme: Mapped[RatingScheme] = relationship(back_populates="entries")
    metric: Mapped[Metric | None] = relationship()

    @property
    def boundaries(self) -> tuple[float, float, float, float]:
        return (self.b1, self.b2, self.b3, self.b4)

    def __repr__(self) -> str:
        return f"<SchemeEntry {self.metric_key} w={self.weight}>"


class Evaluation(db.Model):
    """One recorded training or inference of a model, rated with one rating scheme version."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("rating_schemes.id"))
    # Grades are stored as computed under scheme_id, so a printed label and its page always agree.
    overall_grade: Mapped[str | None] = mapped_column(String(1))
    graded_count: Mapped[int] = mapped_column(Integer, default=0)
    scheme_metric_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default=EvaluationSource.FORM)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Number of inferences the measured run performed (inference evaluations from files or endpoints).
    inference_count: Mapped[int | None] = mapped_column(Integer)
    country_code: Mapped[str | None] = mapped_column(String(8))
    # Raw samples of an endpoint measurement (latencies, sizes, errors).
    measurement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    model: Mapped[MLModel] = relationship(back_populates="evaluations")
    scheme: Mapped[RatingScheme] = relationship()
    values: Mapped[list["MetricValue"]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", passive_deletes=True
    )
    info_values: Mapped[list["InfoValue"]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Evaluation {self.id} {self.phase} model={self.model_id} grade={self.overall_grade}>"


class MetricValue(db.Model):
    """The value of one metric in one evaluation, in the metric's unit, with its grade and provenance."""

    __tablename__ = "metric_values"
    __table_args__ = (UniqueConstraint("evaluation_id", "metric_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int | None] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"), index=True)
    metric_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(1))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    evaluation: Mapped[Evaluation] = relationship(back_populates="values")
    metric: Mapped[Metric | None] = relationship()

    def __repr__(self) -> str:
        return f"<MetricValue {self.metric_key}={self.value} {self.unit} ({self.grade})>"


class InfoField(db.Model):
    """A descriptive, unrated field asked of users (hardware, country…); options=None means free text."""

    __tablename__ = "info_fields"
    __table_args__ = (UniqueConstraint("phase", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list[str] | None] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<InfoField {self.phase}.{self.key}>"


class InfoValue(db.Model):
    __tablename__ = "info_values"
    __table_args__ = (UniqueConstraint("evaluation_id", "field_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("info_fields.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(Text)

    evaluation: Mapped[Evaluation] = relationship(back_populates="info_values")
    field: Mapped[InfoField] = relationship()

    def __repr__(self) -> str:
        return f"<InfoValue {self.field_id}={self.value!r}>"


class CalculationTool(db.Model):
    """A measurement tool whose output files users can upload (CodeCarbon, the model probe…)."""

    __tablename__ = "calculation_tools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Parser used for its files: "codecarbon", "tabular", "carbontracker" or "eco2ai".
    file_format: Mapped[str] = mapped_column(String(32), default="tabular")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mappings: Mapped[list["ToolMapping"]] = relationship(
        back_populates="tool", cascade="all, delete-orphan", passive_deletes=True, order_by="ToolMapping.id"
    )

    def __repr__(self) -> str:
        return f"<CalculationTool {self.name!r}>"


class ToolMapping(db.Model):
    """A column of a tool's output file that feeds one metric or one information field of a phase."""

    __tablename__ = "tool_mappings"
    __table_args__ = (
        UniqueConstraint("tool_id", "metric_id"),
        UniqueConstraint("tool_id", "field_id"),
        CheckConstraint("(metric_id IS NULL) != (field_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("calculation_tools.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(16))
    column: Mapped[str] = mapped_column(String(200))
    # Unit of the column's values, converted to the metric's unit on import; None = already in the metric's unit.
    column_unit: Mapped[str | None] = mapped_column(String(32))
    # True when the column already contains one inference's value (e.g. latency_ms), so an inference import does not
    # divide it by the number of inferences. False means a total of the measured run. Only inference metrics set it.
    per_inference: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    metric_id: Mapped[int | None] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("info_fields.id", ondelete="CASCADE"))

    tool: Mapped[CalculationTool] = relationship(back_populates="mappings")
    metric: Mapped[Metric | None] = relationship()
    field: Mapped[InfoField | None] = relationship()

    def __repr__(self) -> str:
        target = self.metric_id if self.metric_id is not None else self.field_id
        return f"<ToolMapping {self.column!r} -> {target}>"


class SiteSettings(db.Model):
    """The single row of tool switches (id = 1), created by the migrations' seed and by `gaissa seed`."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    roi_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<SiteSettings label={self.label_enabled} roi={self.roi_enabled}>"


class ContentState(db.Model):
    """The single row (id = 1) whose token changes with every commit that changes what public pages show.

    Rendered pages and the tool switches are cached per process under this token, so a cached copy is never
    served after a change: see gaissa/services/content_version.py.
    """

    __tablename__ = "content_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<ContentState {self.token}>"


class EvaluationDraft(db.Model):
    """Values read from files or measured from an endpoint, waiting for the user to review and save them.

    The pre-filled form is opened with ?draft=<id>; provenance and raw measurement samples stay on the
    server and move to the evaluation when it is saved.
    """

    __tablename__ = "evaluation_drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    phase: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(20))
    values: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    info: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per metric key: where the value came from (file, column, row, conversion…).
    value_provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    measurement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    inference_count: Mapped[int | None] = mapped_column(Integer)
    model_name: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<EvaluationDraft {self.id} {self.phase} {self.source}>"
