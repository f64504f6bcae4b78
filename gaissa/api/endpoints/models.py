"""Models: list with search, filters and paging; create; read."""

from flask import url_for

from gaissa.api import presenters, queries, schemas
from gaissa.api.access import caller
from gaissa.api.blueprint import api
from gaissa.api.errors import invalid_input
from gaissa.api.responses import created, not_found
from gaissa.extensions import db
from gaissa.services import browse, evaluations


@api.operation("GET", "/models", summary="List models", tag="Models", query=schemas.ModelListQuery,
               response=schemas.ModelPage, tool="label")
def list_models(query: schemas.ModelListQuery):
    """Return models newest first (or in the order `sort` sets), with evaluation counts and latest overall grade."""
    page = queries.search_models(query.search, query.source, query.phase, query.grade, query.sort, query.page,
                                 query.per_page, include_hidden=caller().is_manager)
    return schemas.ModelPage(items=[presenters.model_out(item) for item in page.items], page=page.page,
                             per_page=page.per_page, total=page.total, pages=page.pages)


@api.operation("POST", "/models", summary="Create a model", tag="Models", body=schemas.ModelCreate,
               response=schemas.ModelOut, status=201, tool="label")
def create_model(body: schemas.ModelCreate):
    """Add a model to evaluate; anyone may, as on the site."""
    try:
        model = evaluations.create_model(body.name, body.author, body.description, user_id=caller().user_id)
    except evaluations.EvaluationInputError as exc:
        raise invalid_input(exc.errors) from None
    db.session.commit()
    summary = queries.summarise([model], include_hidden=False)[0]
    return created(presenters.model_out(summary), url_for("api.get_model", model_id=model.id, _external=True))


@api.operation("GET", "/models/<int:model_id>", summary="Read a model", tag="Models", response=schemas.ModelOut,
               tool="label")
def get_model(model_id: int):
    model = browse.get_model(model_id, include_hidden=caller().is_manager)
    if model is None:
        raise not_found(f"No model with id {model_id}.", field="model_id")
    return presenters.model_out(queries.summarise([model], include_hidden=caller().is_manager)[0])
