"""Trainings and inferences of a model: list, create with values and provenance, read with grades, labels.

Every operation exists once per phase (/models/{id}/trainings/… and /models/{id}/inferences/…);
the endpoint names end in the phase: get_training, get_inference, label_pdf_training…
"""

from datetime import datetime, timedelta, timezone

from flask import Response

from gaissa.api import presenters, queries, schemas
from gaissa.api.access import Caller, caller
from gaissa.api.blueprint import api
from gaissa.api.errors import invalid_input
from gaissa.api.responses import created, not_found
from gaissa.extensions import db
from gaissa.labeling.pages import label_page_url
from gaissa.models import Evaluation, EvaluationSource, MLModel
from gaissa.services import browse, evaluations, labels

EARLIEST_REGISTRATION = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Clocks of clients and server may differ a little; later dates are rejected as in the future.
CLOCK_SKEW = timedelta(minutes=5)
_SVG = {"image/svg+xml": {"type": "string", "description": "The energy label as an SVG document."}}
_PDF = {"application/pdf": {"type": "string", "contentMediaType": "application/pdf",
                            "description": "The energy label as a one-page PDF."}}


def _model(model_id: int) -> MLModel:
    model = browse.get_model(model_id, include_hidden=caller().is_manager)
    if model is None:
        raise not_found(f"No model with id {model_id}.", field="model_id")
    return model


def _evaluation(model_id: int, phase: str, evaluation_id: int) -> Evaluation:
    evaluation = browse.get_evaluation(model_id, phase, evaluation_id, include_hidden=caller().is_manager)
    if evaluation is None:
        raise not_found(f"No {phase} {evaluation_id} of model {model_id}.", field="evaluation_id")
    return evaluation


def list_evaluations(model_id: int, phase: str, query: schemas.PageQuery):
    """Return the model's evaluations of this phase, newest first, with their overall grades."""
    page = queries.evaluations_page(_model(model_id), phase, query.page, query.per_page, caller().is_manager)
    return schemas.EvaluationPage(items=[presenters.evaluation_summary(item) for item in page.items], page=page.page,
                                  per_page=page.per_page, total=page.total, pages=page.pages)


def create_evaluation(model_id: int, phase: str, body: schemas.EvaluationCreate):
    """Rate the values with the current rating scheme and store them; anyone may, as on the site.

    Values may be numbers in the metric's unit or text with a unit ("1.2 MWh"). Missing metrics are
    left ungraded. Invalid values (negative, NaN, a zero energy) are rejected and nothing is stored.
    """
    model = _model(model_id)
    data = _evaluation_input(model, phase, body, caller())
    try:
        evaluation = evaluations.create_evaluation(data, user_id=caller().user_id)
    except evaluations.EvaluationInputError as exc:
        raise invalid_input(exc.errors) from None
    db.session.commit()
    return created(presenters.evaluation_out(evaluation), presenters.evaluation_links(evaluation).self)


def get_evaluation(model_id: int, phase: str, evaluation_id: int):
    """The evaluation with every value, its grade under the evaluation's scheme version, and its provenance."""
    return presenters.evaluation_out(_evaluation(model_id, phase, evaluation_id))


def label_json(model_id: int, phase: str, evaluation_id: int):
    """Return the energy label as data, with the grades that the label page, the SVG and the PDF show."""
    evaluation = _evaluation(model_id, phase, evaluation_id)
    return schemas.LabelOut.model_validate(labels.label_json(evaluation, label_page_url(evaluation)))


def label_svg(model_id: int, phase: str, evaluation_id: int):
    evaluation = _evaluation(model_id, phase, evaluation_id)
    response = Response(labels.render_label_svg(evaluation, label_page_url(evaluation)), mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'inline; filename="energy-label-{phase}-{evaluation.id}.svg"'
    return response


def label_pdf(model_id: int, phase: str, evaluation_id: int):
    evaluation = _evaluation(model_id, phase, evaluation_id)
    response = Response(labels.render_label_pdf(evaluation, label_page_url(evaluation)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="energy-label-{phase}-{evaluation.id}.pdf"'
    return response


def _evaluation_input(model: MLModel, phase: str, body: schemas.EvaluationCreate, who: Caller) -> evaluations.EvaluationInput:
    errors: dict[str, str] = {}
    if body.inference_count is not None and phase != "inference":
        errors["inference_count"] = "The number of inferences applies to inferences only; leave it out for a training."
    for key in body.value_provenance:
        if body.values.get(key) is None:
            errors[f"value_provenance.{key}"] = f"No value of {key!r} is given, so it cannot have a provenance."
    registered_at = _registration_time(body.registered_at, errors)
    if errors:
        raise invalid_input(errors)

    given = body.provenance.model_dump(exclude_none=True) if body.provenance else {}
    provenance = {"kind": EvaluationSource.API.value, "via": who.via, **given}
    value_provenance = {
        key: {"kind": EvaluationSource.API.value, **given, **item.model_dump(exclude_none=True)}
        for key, item in body.value_provenance.items()
    }
    for key, value in body.values.items():
        if value is not None and key not in value_provenance:
            value_provenance[key] = {"kind": EvaluationSource.API.value, **given}
    return evaluations.EvaluationInput(
        phase=phase, model_id=model.id, values=body.values, info=body.info, source=EvaluationSource.API,
        provenance=provenance, value_provenance=value_provenance, inference_count=body.inference_count,
        registered_at=registered_at,
    )


def _registration_time(moment: datetime | None, errors: dict[str, str]) -> datetime | None:
    if moment is None:
        return None
    try:
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:
        errors["registered_at"] = f"{moment.isoformat()} cannot be converted to UTC; give a date after 1970."
        return None
    now = datetime.now(timezone.utc)
    if moment < EARLIEST_REGISTRATION:
        errors["registered_at"] = f"The date {moment.isoformat()} is before 1970; give the date the run took place."
    elif moment > now + CLOCK_SKEW:
        errors["registered_at"] = f"The date {moment.isoformat()} is in the future; give the date the run took place."
    return moment


def _register_phase(phase: str) -> None:
    collection = presenters.COLLECTIONS[phase]
    base = f"/models/<int:model_id>/{collection}"
    item = f"{base}/<int:evaluation_id>"
    tag = collection.capitalize()
    common = {"tag": tag, "tool": "label", "defaults": {"phase": phase}}
    article = "an" if phase[0] in "aeiou" else "a"

    api.operation("GET", base, summary=f"List the {collection} of a model", endpoint=f"list_{phase}",
                  query=schemas.PageQuery, response=schemas.EvaluationPage, **common)(list_evaluations)
    api.operation("POST", base, summary=f"Record {article} {phase} and rate it", endpoint=f"create_{phase}",
                  body=schemas.EvaluationCreate, response=schemas.EvaluationOut, status=201, **common)(create_evaluation)
    api.operation("GET", item, summary=f"Read {article} {phase} with its grades", endpoint=f"get_{phase}",
                  response=schemas.EvaluationOut, **common)(get_evaluation)
    api.operation("GET", f"{item}/label.json", summary=f"Energy label of {article} {phase} as JSON",
                  endpoint=f"label_json_{phase}", response=schemas.LabelOut, **common)(label_json)
    api.operation("GET", f"{item}/label.svg", summary=f"Energy label of {article} {phase} as SVG",
                  endpoint=f"label_svg_{phase}", media_types=_SVG, **common)(label_svg)
    api.operation("GET", f"{item}/label.pdf", summary=f"Energy label of {article} {phase} as PDF",
                  endpoint=f"label_pdf_{phase}", media_types=_PDF, **common)(label_pdf)


for _phase in presenters.COLLECTIONS:
    _register_phase(_phase)
