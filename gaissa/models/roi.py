"""GAISSA ROI Analyzer tables: the tactic catalogue, expected reductions and stored analyses.

Energy-related metrics hold energy per inference in joules; expected reductions are fractions
(0.30 = 30 % less, negative = an increase).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gaissa.extensions import db
from gaissa.models.base import UTCDateTime, utcnow


class AnalysisKind(StrEnum):
    CALCULATION = "calculation"
    RESEARCH = "research"


tactic_sources = Table(
    "roi_tactic_sources",
    db.metadata,
    Column("tactic_id", ForeignKey("roi_tactics.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("roi_sources.id", ondelete="CASCADE"), primary_key=True),
)

tactic_architectures = Table(
    "roi_tactic_architectures",
    db.metadata,
    Column("tactic_id", ForeignKey("roi_tactics.id", ondelete="CASCADE"), primary_key=True),
    Column("architecture_id", ForeignKey("roi_architectures.id", ondelete="CASCADE"), primary_key=True),
)

tactic_metrics = Table(
    "roi_tactic_metrics",
    db.metadata,
    Column("tactic_id", ForeignKey("roi_tactics.id", ondelete="CASCADE"), primary_key=True),
    Column("metric_id", ForeignKey("roi_metrics.id", ondelete="CASCADE"), primary_key=True),
)


class PipelineStage(db.Model):
    """A stage of the ML pipeline that groups tactics (data-centric, model optimization…)."""

    __tablename__ = "roi_pipeline_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    tactics: Mapped[list["Tactic"]] = relationship(back_populates="stage", order_by="Tactic.name")

    def __repr__(self) -> str:
        return f"<PipelineStage {self.id} {self.name!r}>"


class ModelArchitecture(db.Model):
    """A model architecture a tactic can be applied to (ResNet-50, BERT-base…)."""

    __tablename__ = "roi_architectures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    information: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<ModelArchitecture {self.id} {self.name!r}>"


class TacticSource(db.Model):
    """A paper or report that a tactic, an expected reduction or a research analysis is taken from."""

    __tablename__ = "roi_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<TacticSource {self.id} {self.title!r}>"


class RoiMetric(db.Model):
    """A quantity a tactic changes; an energy-related metric is energy per inference in joules."""

    __tablename__ = "roi_metrics"
    __table_args__ = (
        CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="bounds_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(50), default="")
    is_energy: Mapped[bool] = mapped_column(Boolean, default=False)
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=False)
    # Inclusive bounds for baseline values; None means unbounded on that side.
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)

    def __repr__(self) -> str:
        return f"<RoiMetric {self.id} {self.name!r} [{self.unit}]>"


class Tactic(db.Model):
    """A green-AI tactic (pruning, quantization…) of one pipeline stage."""

    __tablename__ = "roi_tactics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    information: Mapped[str | None] = mapped_column(Text)
    stage_id: Mapped[int] = mapped_column(ForeignKey("roi_pipeline_stages.id", ondelete="RESTRICT"), index=True)

    stage: Mapped[PipelineStage] = relationship(back_populates="tactics")
    sources: Mapped[list[TacticSource]] = relationship(secondary=tactic_sources, order_by="TacticSource.id")
    architectures: Mapped[list[ModelArchitecture]] = relationship(
        secondary=tactic_architectures, order_by="ModelArchitecture.name"
    )
    metrics: Mapped[list[RoiMetric]] = relationship(secondary=tactic_metrics, order_by="RoiMetric.id")
    options: Mapped[list["TacticParameterOption"]] = relationship(
        back_populates="tactic", cascade="all, delete-orphan", order_by="TacticParameterOption.id",
    )

    def __repr__(self) -> str:
        return f"<Tactic {self.id} {self.name!r}>"


class TacticParameterOption(db.Model):
    """One configuration of a tactic, such as "sparsity: 0.5" or "bits: 8"."""

    __tablename__ = "roi_parameter_options"
    __table_args__ = (UniqueConstraint("tactic_id", "name", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tactic_id: Mapped[int] = mapped_column(ForeignKey("roi_tactics.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    tactic: Mapped[Tactic] = relationship(back_populates="options")

    @property
    def label(self) -> str:
        return f"{self.name}: {self.value}"

    def __repr__(self) -> str:
        return f"<TacticParameterOption {self.id} {self.label!r}>"


class ExpectedReduction(db.Model):
    """The expected relative change of one metric when an option is applied to an architecture.

    `value` is a fraction: 0.30 means the metric drops by 30 %, -0.10 means it rises by 10 %.
    A figure without a source, or derived from a source by an assumption, is illustrative.
    """

    __tablename__ = "roi_expected_reductions"
    __table_args__ = (UniqueConstraint("architecture_id", "option_id", "metric_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    architecture_id: Mapped[int] = mapped_column(ForeignKey("roi_architectures.id", ondelete="CASCADE"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("roi_parameter_options.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("roi_metrics.id", ondelete="CASCADE"), index=True)
    value: Mapped[float] = mapped_column(Float)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("roi_sources.id", ondelete="RESTRICT"), index=True)
    is_illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    # How the figure was obtained from the source, or why it is illustrative.
    note: Mapped[str] = mapped_column(Text, default="")

    architecture: Mapped[ModelArchitecture] = relationship()
    option: Mapped[TacticParameterOption] = relationship()
    metric: Mapped[RoiMetric] = relationship()
    source: Mapped[TacticSource | None] = relationship()

    def __repr__(self) -> str:
        return f"<ExpectedReduction arch={self.architecture_id} option={self.option_id} metric={self.metric_id} {self.value}>"


class RoiAnalysis(db.Model):
    """A stored analysis: baseline values of a tactic option on an architecture, deployed in a country.

    A calculation analysis is made by a visitor with the calculator; a research analysis is
    curated by a QA manager from a paper and must name that source.
    """

    __tablename__ = "roi_analyses"
    __table_args__ = (
        CheckConstraint("kind IN ('calculation', 'research')", name="kind_known"),
        CheckConstraint("kind != 'research' OR source_id IS NOT NULL", name="research_has_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=AnalysisKind.CALCULATION, index=True)
    architecture_id: Mapped[int] = mapped_column(ForeignKey("roi_architectures.id", ondelete="RESTRICT"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("roi_parameter_options.id", ondelete="RESTRICT"), index=True)
    # ISO 3166-1 alpha-3 code of the deployment country; None means the world average.
    country_code: Mapped[str | None] = mapped_column(String(16))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("roi_sources.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    architecture: Mapped[ModelArchitecture] = relationship()
    option: Mapped[TacticParameterOption] = relationship()
    source: Mapped[TacticSource | None] = relationship()
    values: Mapped[list["AnalysisMetricValue"]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", order_by="AnalysisMetricValue.metric_id",
    )

    @property
    def tactic(self) -> Tactic:
        return self.option.tactic

    def __repr__(self) -> str:
        return f"<RoiAnalysis {self.id} {self.kind} arch={self.architecture_id} option={self.option_id}>"


class AnalysisMetricValue(db.Model):
    """The baseline value of one metric in an analysis; energy metrics also carry their costs."""

    __tablename__ = "roi_analysis_values"
    __table_args__ = (
        UniqueConstraint("analysis_id", "metric_id"),
        CheckConstraint(
            "(energy_price_eur_per_kwh IS NULL) = (implementation_cost_eur IS NULL)", name="costs_together"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("roi_analyses.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("roi_metrics.id", ondelete="RESTRICT"), index=True)
    baseline: Mapped[float] = mapped_column(Float)
    # The expected reduction (a fraction) the analysis was saved with, so that catalogue edits never
    # change it. None on rows saved before it was stored: those use the catalogue's current figure.
    expected_reduction: Mapped[float | None] = mapped_column(Float)
    # Set for energy-related metrics only. Floats, so no amount overflows a fixed-precision column.
    energy_price_eur_per_kwh: Mapped[float | None] = mapped_column(Float)
    implementation_cost_eur: Mapped[float | None] = mapped_column(Float)

    analysis: Mapped[RoiAnalysis] = relationship(back_populates="values")
    metric: Mapped[RoiMetric] = relationship()

    @property
    def has_costs(self) -> bool:
        return self.energy_price_eur_per_kwh is not None and self.implementation_cost_eur is not None

    def __repr__(self) -> str:
        return f"<AnalysisMetricValue analysis={self.analysis_id} metric={self.metric_id} {self.baseline}>"


__all__ = [
    "AnalysisKind", "AnalysisMetricValue", "ExpectedReduction", "ModelArchitecture", "PipelineStage",
    "RoiAnalysis", "RoiMetric", "Tactic", "TacticParameterOption", "TacticSource",
]
