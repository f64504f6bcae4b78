"""Switching the tools on and off, and the state shown on the administration index (QA managers)."""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import CalculationTool, InfoField, Metric, MLModel, Role, User
from gaissa.services import audit, site

logger = logging.getLogger(__name__)
TOOL_NAMES = {"label_enabled": "GAISSALabel", "roi_enabled": "GAISSA ROI Analyzer"}


def set_switches(label_enabled: bool, roi_enabled: bool) -> list[str]:
    """Store both tool switches; return a sentence per switch that changed."""
    settings = site.get_settings()
    before = audit.snapshot(settings, TOOL_NAMES)
    settings.label_enabled = label_enabled
    settings.roi_enabled = roi_enabled
    site.forget_cached_settings()
    after = audit.snapshot(settings, TOOL_NAMES)
    changes = [
        f"{TOOL_NAMES[name]} is now {'enabled' if after[name] else 'disabled'}"
        for name in TOOL_NAMES if before[name] != after[name]
    ]
    if changes:
        audit.record("update", "site_settings", settings.id, before, after, "; ".join(changes))
        logger.info("Tool switches changed: %s", "; ".join(changes))
    return changes


@dataclass(frozen=True)
class Overview:
    """Counts shown on the administration index."""

    label_enabled: bool
    roi_enabled: bool
    metrics: dict[str, int]
    drafts: dict[str, bool]
    versions: dict[str, str | None]
    info_fields: int
    tools: int
    hidden_models: int
    managers: int


def overview() -> Overview:
    """Collect the state of each administration screen for the index."""
    from gaissa.services import scheme_admin

    settings = site.get_settings_or_defaults()
    metrics = dict(db.session.execute(select(Metric.phase, func.count(Metric.id)).group_by(Metric.phase)).all())
    drafts = {phase: scheme_admin.draft_of(phase) is not None for phase in scheme_admin.PHASES}
    versions = {}
    for phase in scheme_admin.PHASES:
        latest = scheme_admin.latest_published(phase)
        versions[phase] = latest.label if latest is not None else None
    return Overview(
        label_enabled=settings.label_enabled,
        roi_enabled=settings.roi_enabled,
        metrics={phase: metrics.get(phase, 0) for phase in scheme_admin.PHASES},
        drafts=drafts,
        versions=versions,
        info_fields=db.session.scalar(select(func.count(InfoField.id))) or 0,
        tools=db.session.scalar(select(func.count(CalculationTool.id))) or 0,
        hidden_models=db.session.scalar(select(func.count(MLModel.id)).where(MLModel.hidden.is_(True))) or 0,
        managers=db.session.scalar(
            select(func.count(User.id)).where(User.role == Role.QA_MANAGER, User.active.is_(True))
        ) or 0,
    )
