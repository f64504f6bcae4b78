"""The API's index, its OpenAPI document, the readable docs page, and the site statistics."""

import json
from dataclasses import asdict

from flask import Response, render_template, url_for

from gaissa.api import docs, schemas
from gaissa.api.access import caller
from gaissa.api.blueprint import api, bp
from gaissa.api.openapi import API_VERSION, build_document
from gaissa.services import site, statistics


def openapi_document() -> dict:
    """Return the OpenAPI document, built once per process (it depends only on the code)."""
    if api.document is None:
        api.document = build_document(api, url_for("api.index").rstrip("/"))
    return api.document


@api.operation("GET", "/", summary="API index", tag="About", response=schemas.IndexOut)
def index():
    return schemas.IndexOut(name="GAISSA Tools API", version=API_VERSION,
                            openapi=url_for("api.openapi_json", _external=True),
                            docs=url_for("api.docs_page", _external=True))


@api.operation("GET", "/openapi.json", summary="OpenAPI 3.1 document", tag="About",
               media_types={"application/json": {"type": "object"}})
def openapi_json():
    """This API's description, generated from the schemas that validate its requests."""
    return Response(json.dumps(openapi_document()), mimetype="application/json")


@bp.get("/docs")
def docs_page():
    document = openapi_document()
    return render_template("api/docs.html", view=docs.build_view(document), document=document)


@api.operation("GET", "/statistics", summary="Site statistics", tag="About", response=schemas.StatisticsOut)
def get_statistics():
    """Counts of visible models, trainings and inferences, and of the ROI Analyzer's catalogue."""
    manager = caller().is_manager
    label = schemas.LabelCountsOut(**asdict(statistics.label_counts())) if manager or site.is_enabled("label") else None
    roi = None
    if manager or site.is_enabled("roi"):
        roi = statistics.site_counts().get("roi")
    return schemas.StatisticsOut(label=label, roi=roi)
