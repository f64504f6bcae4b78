"""Idempotent seeding of the default catalogue and of the demo data."""

import logging
from pathlib import Path

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
from gaissa.services import content_version, site

logger = logging.getLogger(__name__)


def seed_catalogue() -> dict[str, int]:
    """Create what is missing of the default catalogue; never overwrite what managers changed."""
    created = {"grades": 0, "metrics": 0, "schemes": 0, "info_fields": 0, "tools": 0}
    site.get_settings()
    content_version.ensure_row()

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
                per_inference=mapping.per_inference, metric=metrics_by_key[mapping.metric] if mapping.metric else None,
                field=fields[(mapping.phase, mapping.field)] if mapping.field else None,
            ))
        db.session.add(tool)
        created["tools"] += 1

    db.session.flush()
    logger.info("Seeded the catalogue: %s", created)
    return created


DEMO_AUTHOR = "GAISSA Tools demo"
DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
# Test accuracies of the three scikit-learn classifiers measured in data/demo/*.csv, trained on the
# digits data set (1,347 training and 450 test images). Each inference run predicted the test images
# 200 times.
DEMO_MODELS = {
    "digits-logreg": ("Logistic regression on scikit-learn's digits data set.", 0.9533),
    "digits-random-forest": ("Random forest on scikit-learn's digits data set.", 0.9800),
    "digits-mlp": ("Multi-layer perceptron on scikit-learn's digits data set.", 0.9844),
}
DEMO_INFERENCES_PER_RUN = 90_000


def seed_demo() -> dict[str, int]:
    """Add three real demo models, each with a training and an inference read from real CodeCarbon files.

    The files were measured with CodeCarbon 3.3.2 (offline, country ESP, 2-core AMD EPYC). Models are
    recognised by name and the demo author, so running this again adds nothing.
    """
    from gaissa.models import MLModel
    from gaissa.services import evaluations
    from gaissa.services.importers import import_file, tool_spec_from_model

    codecarbon = db.session.scalar(select(CalculationTool).where(CalculationTool.name == "CodeCarbon"))
    created = 0
    for phase, file_name, count in (("training", "training-emissions.csv", None),
                                    ("inference", "inference-emissions.csv", DEMO_INFERENCES_PER_RUN)):
        path = DEMO_DIR / file_name
        report = import_file(path.read_bytes(), file_name, tool_spec_from_model(codecarbon, phase), phase, count)
        for run in report.runs:
            name = run.label.split(",")[0]
            description, accuracy = DEMO_MODELS.get(name, ("Demo model.", None))
            model = db.session.scalar(select(MLModel).where(MLModel.name == name, MLModel.author == DEMO_AUTHOR))
            if model is None:
                model = evaluations.create_model(name, DEMO_AUTHOR, description)
                created += 1
            elif any(evaluation.phase == phase for evaluation in model.evaluations):
                continue
            values = dict(run.values)
            if accuracy is not None:
                values["performance_score" if phase == "training" else "accuracy"] = accuracy
            provenance = {key: {"kind": "file", "tool": "CodeCarbon", "tool_version": run.tool_version,
                                "file": file_name, "sha256": report.sha256, "row": run.label}
                          for key in run.values}
            evaluations.create_evaluation(evaluations.EvaluationInput(
                phase=phase, model_id=model.id, values=values, info={"source": "CodeCarbon 3.3.2 (demo)", **run.info},
                source="file", provenance={"tool": "CodeCarbon", "files": [
                    {"file_name": file_name, "sha256": report.sha256, "tool": "CodeCarbon", "runs": []}]},
                value_provenance=provenance, inference_count=count,
            ))
    db.session.flush()
    logger.info("Seeded %d demo models", created)
    return {"demo_models": created}
