"""Declared API operations: one decorator routes a view, validates its input and documents it.

Each `@api.operation(...)` records the method, path, schemas and access rule that both the
request handling below and the OpenAPI document (openapi.py) read, so the two always agree.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ValidationError

from gaissa.api.errors import ApiProblem, validation_problem
from gaissa.api.schemas import MAX_INT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PATH_PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")


@dataclass
class Operation:
    """One method on one path, with everything needed to serve and to document it."""

    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # Non-JSON success responses: media type -> JSON schema of the content.
    media_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "public" (anyone, tokens optional) or "manager" (a QA manager's token or session).
    access: str = "public"
    # "label" or "roi": the tool whose switch hides this operation from the public.
    tool: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    # Response headers worth documenting, e.g. Location on 201.
    headers: dict[str, str] = field(default_factory=dict)
    # JSON schemas of path parameters that are more than "an integer" or "a string".
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Error statuses particular to this operation, e.g. 409 while a sync is running.
    extra_errors: tuple[int, ...] = ()

    @property
    def is_write(self) -> bool:
        return self.method not in SAFE_METHODS

    @property
    def path_parameters(self) -> list[tuple[str, str]]:
        """Return (name, converter) of each variable part of the rule, in order."""
        return [(match["name"], match["converter"] or "string") for match in _PATH_PARAMETER.finditer(self.rule)]

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAMETER.sub(lambda match: "{" + match["name"] + "}", self.rule)

    def error_statuses(self) -> list[int]:
        """Return every error status this operation can return, for the documentation."""
        statuses = {401, *self.extra_errors}
        if self.path_parameters or self.tool:
            statuses.add(404)
        if self.query or self.body:
            statuses.add(400)
        if self.body:
            statuses.update({413, 415, 422})
        if self.is_write:
            statuses.update({403, 422, 429})
        if self.access == "manager":
            statuses.add(403)
        return sorted(statuses)


class ApiRegistry:
    """The operations of the API blueprint, in registration order."""

    def __init__(self, blueprint: Blueprint):
        self.blueprint = blueprint
        self.operations: list[Operation] = []
        # Set by access.py: (operation) -> None, raising ApiProblem when the caller may not use it.
        self.authorise: Callable[[Operation], None] = lambda operation: None
        # The OpenAPI document, built on first use by endpoints/meta.py.
        self.document: dict[str, Any] | None = None

    def operation(self, method: str, rule: str, *, summary: str, tag: str, endpoint: str | None = None,
                  **options: Any) -> Callable[[Callable], Callable]:
        """Register the decorated view as `method rule`; options are the fields of Operation."""

        def decorate(view: Callable) -> Callable:
            spec = Operation(method=method, rule=rule, endpoint=endpoint or view.__name__, summary=summary, tag=tag,
                             description=options.pop("description", None) or (view.__doc__ or "").strip(), **options)
            self.operations.append(spec)
            extra = {"defaults": spec.defaults} if spec.defaults else {}
            self.blueprint.add_url_rule(rule, endpoint=spec.endpoint, view_func=self._wrap(view, spec),
                                        methods=[method], **extra)
            return view

        return decorate

    def _wrap(self, view: Callable, spec: Operation) -> Callable:
        @wraps(view)
        def handle(**kwargs: Any) -> Response:
            try:
                self.authorise(spec)
                _check_path_integers(spec, kwargs)
                if spec.query is not None:
                    kwargs["query"] = _parse_query(spec.query)
                if spec.body is not None:
                    kwargs["body"] = _parse_body(spec.body)
                result = view(**kwargs)
            except ApiProblem as problem:
                return problem.response()
            return _to_response(result, spec.status)

        return handle


def _check_path_integers(spec: Operation, kwargs: dict[str, Any]) -> None:
    for name, converter in spec.path_parameters:
        if converter == "int" and kwargs.get(name, 0) > MAX_INT:
            raise ApiProblem(404, "Not Found", f"No resource has the {name} {kwargs[name]}.", field=name)


def _parse_query(model: type[BaseModel]) -> BaseModel:
    raw = {name: request.args.get(name) for name in model.model_fields if name in request.args}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(exc, status=400, title="Invalid query parameter") from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiProblem(415, "Unsupported Media Type",
                         f"Send the request body as JSON with Content-Type: application/json; "
                         f"got {request.mimetype or 'no content type'}.")
    try:
        return model.model_validate_json(request.get_data(cache=True) or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            message = exc.errors()[0]["msg"]
            raise ApiProblem(400, "Invalid JSON", f"The request body is not valid JSON: {message}.") from None
        raise validation_problem(exc) from None


def _to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return Response(result.model_dump_json(), status=status, mimetype="application/json")
    raise TypeError(f"API views return a pydantic model or a Response, not {type(result).__name__}")
