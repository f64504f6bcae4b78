"""All tables, imported here so that the metadata contains every one of them."""

from gaissa.models import roi, sync, tokens  # noqa: F401  (feature tables register themselves)

from gaissa.models.accounts import AuditEntry, Role, User
from gaissa.models.geo import WORLD_CODE, CarbonIntensity, Country
from gaissa.models.jobs import FINISHED_STATES, Job, JobState
from gaissa.models.labeling import (
    CalculationTool,
    ContentState,
    Direction,
    Evaluation,
    EvaluationDraft,
    EvaluationSource,
    Grade,
    InfoField,
    InfoValue,
    Metric,
    MetricValue,
    MLModel,
    Phase,
    RatingScheme,
    SchemeEntry,
    SchemeStatus,
    SiteSettings,
    ToolMapping,
)

__all__ = [
    "AuditEntry", "CalculationTool", "CarbonIntensity", "ContentState", "Country", "Direction", "Evaluation",
    "EvaluationDraft", "EvaluationSource", "FINISHED_STATES", "Grade", "InfoField", "InfoValue", "Job", "JobState",
    "MLModel", "Metric", "MetricValue", "Phase", "RatingScheme", "Role", "SchemeEntry", "SchemeStatus",
    "SiteSettings", "ToolMapping", "User", "WORLD_CODE",
]
