"""Idempotent seeding of the default catalogue and of the demo data."""

import logging

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import (
    CalculationTool,
    Grade,
    InfoField,
    Metric,
    Phase,
    RatingScheme,
    SchemeEntry,
    SchemeStatus,
    ToolMapping,
)
from gaissa.models.base import utcnow
from gaissa.services import catalogue_defaults as defaults
from gaissa.services import site

logger = logging.getLogger(__name__)


def seed_catalogue() -> dict[str, int]:
    """Create what is missing of the default catalogue; never overwrite what managers changed."""
    created = {"grades": 0, "metrics": 0, "schemes": 0, "info_fields": 0, "tools": 0}
    site.get_settings()

    for letter, position, colour in defaults.GRADES:
        if db.session.scalar(select(Grade).where(Grade.letter == letter)) is None:
            db.session.add(Grade(letter=letter, position=position, colour=colour))
            created["grades"] += 1

    metrics_by_key = {metric.key: metric for metric in db.session.scalars(select(Metric))}
    for item in defaults.METRICS:
        if item.key in metrics_by_key:
            continue
        metric = Metric(
            key=item.key, phase=item.phase, name=item.name, unit=item.unit, direction=item.direction,
            description=item.description, how_to_measure=item.how_to_measure,
            recommendations=list(item.recommendations), pictogram=item.pictogram,
        )
        db.session.add(metric)
        metrics_by_key[item.key] = metric
        created["metrics"] += 1
    db.session.flush()

    for phase in Phase:
        has_version = db.session.scalar(
            select(RatingScheme.id).where(RatingScheme.phase == phase, RatingScheme.status == SchemeStatus.PUBLISHED)
        )
        if has_version:
            continue
        scheme = RatingScheme(
            phase=phase, version=1, status=SchemeStatus.PUBLISHED, published_at=utcnow(),
            summary="Default scheme: training boundaries from 1,419 Hugging Face models (2023), others by decades.",
        )
        for position, item in enumerate(m for m in defaults.METRICS if m.phase == phase):
            metric = metrics_by_key[item.key]
            scheme.entries.append(SchemeEntry(
                metric=metric, metric_key=item.key, metric_name=item.name, unit=item.unit, direction=item.direction,
                weight=item.weight, b1=item.boundaries[0], b2=item.boundaries[1], b3=item.boundaries[2],
                b4=item.boundaries[3], position=position,
            ))
        db.session.add(scheme)
        created["schemes"] += 1

    fields = {(f.phase, f.key): f for f in db.session.scalars(select(InfoField))}
    for position, item in enumerate(defaults.INFO_FIELDS):
        if (item.phase, item.key) in fields:
            continue
        field = InfoField(key=item.key, phase=item.phase, name=item.name, description=item.description,
                          options=list(item.options) if item.options else None, position=position)
        db.session.add(field)
        fields[(item.phase, item.key)] = field
        created["info_fields"] += 1
    db.session.flush()

    for item in defaults.TOOLS:
        if db.session.scalar(select(CalculationTool).where(CalculationTool.name == item.name)) is not None:
            continue
        tool = CalculationTool(name=item.name, description=item.description, file_format=item.file_format)
        for mapping in item.mappings:
            tool.mappings.append(ToolMapping(
                phase=mapping.phase, column=mapping.column, column_unit=mapping.column_unit,
                metric=metrics_by_key[mapping.metric] if mapping.metric else None,
                field=fields[(mapping.phase, mapping.field)] if mapping.field else None,
            ))
        db.session.add(tool)
        created["tools"] += 1

    db.session.flush()
    logger.info("Seeded the catalogue: %s", created)
    return created


def seed_demo() -> dict[str, int]:
    """Add demo models with evaluations once; later runs add nothing."""
    # Filled in with the real CodeCarbon demo evaluations once the importers exist.
    return {"demo_models": 0}
