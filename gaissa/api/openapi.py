"""The OpenAPI 3.1 document of the API, built from the registered operations and their pydantic schemas."""

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gaissa.api.registry import ApiRegistry, Operation
from gaissa.api.schemas import MAX_INT, Problem

API_VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
DESCRIPTION = (
    "JSON API of GAISSA Tools: GAISSALabel energy labels for ML trainings and inferences, and the GAISSA ROI "
    "Analyzer.\n\n"
    "Authentication: send a personal API token as `Authorization: Bearer <token>`. Create one on the API "
    "tokens page, in the menu once you are logged in. Without a token, anyone may read public data and create "
    "models and evaluations, as on the site, and such anonymous writes are rate-limited per client address. "
    "QA managers' tokens may also change the catalogue and start the Hugging Face sync.\n\n"
    "Errors are `application/problem+json` (RFC 9457) with `field` naming the input that failed and "
    "`errors` listing every invalid field. A request that fails writes nothing."
)
_HEADER_DOCS = {
    (201, "Location"): "URL of the created resource.",
    (202, "Location"): "URL of the job to poll.",
}


def build_document(registry: ApiRegistry, server_url: str) -> dict[str, Any]:
    """Return the OpenAPI document for every operation of the registry."""
    refs, components = _component_schemas(registry.operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in registry.operations:
        paths.setdefault(operation.openapi_path, {})[operation.method.lower()] = _operation(operation, refs)
    tags = list(dict.fromkeys(operation.tag for operation in registry.operations))
    return {
        "openapi": "3.1.0",
        "info": {"title": "GAISSA Tools API", "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal API token from the API tokens page of your account."},
            },
        },
    }


def _component_schemas(operations: list[Operation]) -> tuple[dict, dict[str, Any]]:
    """Return the $ref of each (model, mode) pair and the shared component schemas."""
    pairs: list[tuple[type[BaseModel], str]] = [(Problem, "serialization")]
    for operation in operations:
        if operation.body is not None:
            pairs.append((operation.body, "validation"))
        if operation.response is not None:
            pairs.append((operation.response, "serialization"))
    pairs = list(dict.fromkeys(pairs))
    refs, top = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    return refs, top.get("$defs", {})


def _operation(operation: Operation, refs: dict) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.endpoint,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _path_parameters(operation) + _query_parameters(operation),
        "responses": _responses(operation, refs),
        "security": [{"bearerAuth": []}] if operation.access == "manager" else [{}, {"bearerAuth": []}],
    }
    if operation.description:
        document["description"] = operation.description
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
        }
    return document


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters = []
    for name, converter in operation.path_parameters:
        if name in operation.path_schemas:
            schema = operation.path_schemas[name]
        elif converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(operation: Operation) -> list[dict[str, Any]]:
    if operation.query is None:
        return []
    schema = operation.query.model_json_schema(mode="validation", ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop the null branch of an optional query parameter: it is left out, never sent as null."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [option for option in options if option.get("type") != "null"]
    if len(kept) == 1:
        del schema["anyOf"]
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept
    return schema


def _responses(operation: Operation, refs: dict) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(operation.status).phrase}
    if operation.response is not None:
        success["content"] = {"application/json": {"schema": refs[(operation.response, "serialization")]}}
    elif operation.media_types:
        success["content"] = {media: {"schema": schema} for media, schema in operation.media_types.items()}
    headers = {name: {"description": text, "required": True, "schema": {"type": "string"}}
               for (status, name), text in _HEADER_DOCS.items() if status == operation.status}
    headers.update({name: {"description": text, "required": True, "schema": {"type": "string"}}
                    for name, text in operation.headers.items()})
    if headers:
        success["headers"] = headers

    responses: dict[str, Any] = {str(operation.status): success}
    problem = {"application/problem+json": {"schema": refs[(Problem, "serialization")]}}
    for status in operation.error_statuses():
        entry: dict[str, Any] = {"description": HTTPStatus(status).phrase, "content": problem}
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds until the next write is allowed.",
                                                "required": True, "schema": {"type": "string"}}}
        responses[str(status)] = entry
    return responses
