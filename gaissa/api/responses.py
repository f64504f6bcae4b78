"""Small response helpers shared by the endpoint modules."""

from flask import Response
from pydantic import BaseModel

from gaissa.api.errors import ApiProblem


def created(body: BaseModel, location: str, status: int = 201) -> Response:
    """Return 201 (or 202) with the resource and its URL in the Location header."""
    response = Response(body.model_dump_json(), status=status, mimetype="application/json")
    response.headers["Location"] = location
    return response


def not_found(detail: str, field: str | None = None) -> ApiProblem:
    return ApiProblem(404, "Not Found", detail, field=field)
