"""Turn stored rows into the API's response schemas, with links to related resources."""

from flask import url_for

from gaissa.api import schemas
from gaissa.api.queries import ModelSummary
from gaissa.labeling.pages import label_page_url
from gaissa.models import CalculationTool, Evaluation, InfoField, Job, Metric, RatingScheme, SchemeEntry
from gaissa.services import labels

# The evaluation endpoints exist once per phase: get_training, get_inference, list_trainings…
COLLECTIONS = {"training": "trainings", "inference": "inferences"}
JOB_LOG_LINES = 50


def evaluation_endpoint(action: str, phase: str) -> str:
    """Return the endpoint name of an evaluation operation, e.g. ("get", "training") -> "api.get_training"."""
    return f"api.{action}_{phase}"


def model_links(model_id: int) -> schemas.ModelLinks:
    return schemas.ModelLinks(
        self=url_for("api.get_model", model_id=model_id, _external=True),
        trainings=url_for(evaluation_endpoint("list", "training"), model_id=model_id, _external=True),
        inferences=url_for(evaluation_endpoint("list", "inference"), model_id=model_id, _external=True),
        badge=url_for("badges.model_badge", model_id=model_id, _external=True),
        page=url_for("labeling.model_detail", model_id=model_id, _external=True),
    )


def model_out(summary: ModelSummary) -> schemas.ModelOut:
    model = summary.model
    return schemas.ModelOut(
        id=model.id, name=model.name, author=model.author, description=model.description,
        created_at=model.created_at, source=model.provider or "user", external_id=model.external_id,
        external_url=model.external_url, hidden=model.hidden, training_count=summary.trainings,
        inference_count=summary.inferences, latest_grade=summary.latest_grade, links=model_links(model.id),
    )


def evaluation_links(evaluation: Evaluation) -> schemas.EvaluationLinks:
    ids = {"model_id": evaluation.model_id, "evaluation_id": evaluation.id, "_external": True}
    phase = evaluation.phase
    return schemas.EvaluationLinks(
        self=url_for(evaluation_endpoint("get", phase), **ids),
        model=url_for("api.get_model", model_id=evaluation.model_id, _external=True),
        label_json=url_for(evaluation_endpoint("label_json", phase), **ids),
        label_svg=url_for(evaluation_endpoint("label_svg", phase), **ids),
        label_pdf=url_for(evaluation_endpoint("label_pdf", phase), **ids),
        badge=url_for("badges.evaluation_badge", model_id=evaluation.model_id, collection=COLLECTIONS[phase],
                      evaluation_id=evaluation.id, _external=True),
        page=label_page_url(evaluation),
    )


def _summary_fields(evaluation: Evaluation) -> dict:
    return {
        "id": evaluation.id, "model_id": evaluation.model_id, "phase": evaluation.phase,
        "registered_at": evaluation.registered_at, "source": evaluation.source,
        "overall_grade": evaluation.overall_grade, "graded_count": evaluation.graded_count,
        "scheme_metric_count": evaluation.scheme_metric_count, "scheme_version": evaluation.scheme.version,
        "hidden": evaluation.hidden, "links": evaluation_links(evaluation),
    }


def evaluation_summary(evaluation: Evaluation) -> schemas.EvaluationSummary:
    return schemas.EvaluationSummary(**_summary_fields(evaluation))


def evaluation_out(evaluation: Evaluation) -> schemas.EvaluationOut:
    """Return the evaluation with its stored grades, ordered like the label: heaviest metric first."""
    colours = labels.grade_colours()
    entries = {entry.metric_key: entry for entry in evaluation.scheme.entries}

    def weight(key: str) -> float:
        entry = entries.get(key)
        return entry.weight if entry is not None else 0.0

    def name(value) -> str:
        if value.metric_key in entries:
            return entries[value.metric_key].metric_name
        return value.metric.name if value.metric is not None else value.metric_key

    values = [
        schemas.MetricValueOut(
            key=value.metric_key, name=name(value), value=value.value, unit=value.unit, grade=value.grade,
            grade_colour=colours.get(value.grade) if value.grade else None, weight=weight(value.metric_key),
            provenance=dict(value.provenance or {}),
        )
        for value in sorted(evaluation.values, key=lambda item: (-weight(item.metric_key), item.metric_key))
    ]
    info = [
        schemas.InfoValueOut(key=item.field.key, name=item.field.name, value=item.value)
        for item in sorted(evaluation.info_values, key=lambda item: (item.field.position, item.field.key))
    ]
    return schemas.EvaluationOut(
        **_summary_fields(evaluation), model_name=evaluation.model.name,
        overall_grade_colour=colours.get(evaluation.overall_grade) if evaluation.overall_grade else None,
        values=values, info=info, inference_count=evaluation.inference_count,
        country_code=evaluation.country_code, provenance=dict(evaluation.provenance or {}),
    )


def rating_out(entry: SchemeEntry | None) -> schemas.RatingOut | None:
    if entry is None:
        return None
    return schemas.RatingOut(weight=entry.weight or 0.0, boundaries=list(entry.boundaries))


def metric_out(metric: Metric, published: SchemeEntry | None, draft: SchemeEntry | None = None) -> schemas.MetricOut:
    return schemas.MetricOut(
        key=metric.key, phase=metric.phase, name=metric.name, unit=metric.unit, direction=metric.direction,
        description=metric.description or "", how_to_measure=metric.how_to_measure or "",
        recommendations=list(metric.recommendations or []), pictogram=metric.pictogram,
        published=rating_out(published), draft=rating_out(draft),
    )


def scheme_out(scheme: RatingScheme) -> schemas.SchemeOut:
    entries = sorted(scheme.entries, key=lambda entry: (-(entry.weight or 0.0), entry.position))
    return schemas.SchemeOut(
        phase=scheme.phase, version=scheme.version, status=scheme.status, summary=scheme.summary or "",
        published_at=scheme.published_at,
        entries=[
            schemas.SchemeEntryOut(metric_key=entry.metric_key, metric_name=entry.metric_name, unit=entry.unit,
                                   direction=entry.direction, weight=entry.weight or 0.0,
                                   boundaries=list(entry.boundaries))
            for entry in entries
        ],
    )


def info_field_out(info_field: InfoField) -> schemas.InfoFieldOut:
    return schemas.InfoFieldOut(
        key=info_field.key, phase=info_field.phase, name=info_field.name, description=info_field.description or "",
        options=list(info_field.options) if info_field.options else None, position=info_field.position,
    )


def tool_out(tool: CalculationTool) -> schemas.ToolOut:
    return schemas.ToolOut(
        id=tool.id, name=tool.name, description=tool.description or "", file_format=tool.file_format,
        mappings=[
            schemas.MappingOut(
                phase=mapping.phase, column=mapping.column, column_unit=mapping.column_unit,
                per_inference=bool(mapping.per_inference), metric=mapping.metric.key if mapping.metric is not None else None,
                info_field=f"{mapping.field.phase}.{mapping.field.key}" if mapping.field is not None else None,
            )
            for mapping in tool.mappings
        ],
    )


def job_out(job: Job) -> schemas.JobOut:
    return schemas.JobOut(
        id=job.id, kind=job.kind, state=job.state, progress=job.progress or 0.0, done=job.done or 0,
        total=job.total, message=job.message or "", log=list(job.log or [])[-JOB_LOG_LINES:], result=job.result,
        error=job.error, cancel_requested=bool(job.cancel_requested), created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at,
        links={"self": url_for("api.get_job", job_id=job.id, _external=True)},
    )
