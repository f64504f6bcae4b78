"""View-model of the API docs page, read from the OpenAPI document: operations by tag, and schemas.

Types are rendered as token lists, ("text", "list of ") and ("ref", "ModelOut"), so the template
can link schema names without building HTML here.
"""

from dataclasses import dataclass, field
from typing import Any

Token = tuple[str, str]
_REF_PREFIX = "#/components/schemas/"
# Every input string has the no-NUL pattern, so the docs page leaves it out.
_HIDDEN_PATTERNS = {r"^[^\x00]*$"}


@dataclass(frozen=True)
class ParameterDoc:
    name: str
    location: str
    required: bool
    type_tokens: list[Token]
    description: str


@dataclass(frozen=True)
class ResponseDoc:
    status: str
    description: str
    media_type: str
    type_tokens: list[Token]


@dataclass(frozen=True)
class OperationDoc:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    access: str
    parameters: list[ParameterDoc]
    body_tokens: list[Token] | None
    responses: list[ResponseDoc]


@dataclass(frozen=True)
class FieldDoc:
    name: str
    required: bool
    type_tokens: list[Token]
    description: str


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    description: str
    fields: list[FieldDoc]
    type_tokens: list[Token]


@dataclass
class DocsView:
    title: str
    version: str
    # Paragraphs of the description, each a token list: ("text", …) and ("code", …) for `…` spans.
    paragraphs: list[list[Token]]
    server: str
    groups: list[tuple[str, list[OperationDoc]]] = field(default_factory=list)
    schemas: list[SchemaDoc] = field(default_factory=list)


def build_view(document: dict[str, Any]) -> DocsView:
    """Arrange the OpenAPI document for the docs page."""
    info = document["info"]
    paragraphs = [_code_spans(paragraph) for paragraph in info.get("description", "").split("\n\n")]
    view = DocsView(info["title"], info["version"], paragraphs, document["servers"][0]["url"])
    groups: dict[str, list[OperationDoc]] = {tag["name"]: [] for tag in document.get("tags", [])}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            groups.setdefault(operation["tags"][0], []).append(_operation(path, method, operation))
    view.groups = [(tag, items) for tag, items in groups.items() if items]
    view.schemas = [_schema_doc(name, schema) for name, schema in sorted(document["components"]["schemas"].items())]
    return view


def _code_spans(text: str) -> list[Token]:
    """Split Markdown-style `code` spans out of a paragraph: odd pieces between backticks are code."""
    return [("code" if index % 2 else "text", piece) for index, piece in enumerate(text.split("`")) if piece]


def _operation(path: str, method: str, operation: dict[str, Any]) -> OperationDoc:
    manager_only = {"bearerAuth": []} in operation.get("security", []) and {} not in operation.get("security", [])
    parameters = [
        ParameterDoc(item["name"], item["in"], item.get("required", False), type_tokens(item["schema"]),
                     item.get("description", ""))
        for item in operation.get("parameters", [])
    ]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    responses = []
    for status, response in operation["responses"].items():
        media_type, content = next(iter(response.get("content", {}).items()), ("", {}))
        tokens = type_tokens(content["schema"]) if content.get("schema") else []
        responses.append(ResponseDoc(status, response.get("description", ""), media_type, tokens))
    return OperationDoc(
        anchor=operation["operationId"], method=method.upper(), path=path, summary=operation.get("summary", ""),
        description=operation.get("description", ""),
        access="QA managers" if manager_only else "Anyone; an API token is optional",
        parameters=parameters, body_tokens=type_tokens(body["schema"]) if body else None, responses=responses,
    )


def _schema_doc(name: str, schema: dict[str, Any]) -> SchemaDoc:
    required = set(schema.get("required", []))
    fields = [
        FieldDoc(field_name, field_name in required, type_tokens(prop), prop.get("description", ""))
        for field_name, prop in schema.get("properties", {}).items()
    ]
    return SchemaDoc(name, schema.get("description", ""), fields, [] if fields else type_tokens(schema))


def type_tokens(schema: dict[str, Any]) -> list[Token]:
    """Describe a JSON schema in words: "list of ModelOut", "string, 1–300 characters", "integer ≥ 1"."""
    if "$ref" in schema:
        return [("ref", schema["$ref"].removeprefix(_REF_PREFIX))]
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        tokens: list[Token] = []
        for index, option in enumerate(options):
            if index:
                tokens.append(("text", " or "))
            tokens.extend(type_tokens(option))
        if len(options) < len(schema["anyOf"]):
            tokens.append(("text", " or null"))
        return tokens
    if "enum" in schema:
        return [("text", "one of " + ", ".join(repr(value) if isinstance(value, str) else str(value)
                                               for value in schema["enum"]))]
    if "const" in schema:
        return [("text", repr(schema["const"]))]

    kind = schema.get("type", "any")
    if kind == "array":
        tokens = [("text", "list of ")] + type_tokens(schema.get("items", {}))
        return tokens + _constraints(schema, "items")
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return [("text", "map of string → ")] + type_tokens(values)
        pattern_values = next(iter(schema.get("patternProperties", {}).values()), None)
        if pattern_values is not None:
            return [("text", "map of key → ")] + type_tokens(pattern_values)
        return [("text", "object")]
    text = kind
    if schema.get("format"):
        text += f" ({schema['format']})"
    return [("text", text)] + _constraints(schema, "characters" if kind == "string" else "")


def _constraints(schema: dict[str, Any], noun: str) -> list[Token]:
    parts = []
    low, high = schema.get("minLength", schema.get("minItems")), schema.get("maxLength", schema.get("maxItems"))
    if low is not None and high is not None:
        parts.append(f"{low}–{high} {noun}".rstrip())
    elif high is not None:
        parts.append(f"at most {high} {noun}".rstrip())
    elif low:
        parts.append(f"at least {low} {noun}".rstrip())
    for key, symbol in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in schema:
            parts.append(f"{symbol} {schema[key]:,}" if isinstance(schema[key], int) else f"{symbol} {schema[key]}")
    if schema.get("pattern") and schema["pattern"] not in _HIDDEN_PATTERNS:
        parts.append(f"matching {schema['pattern']}")
    if "default" in schema and schema["default"] not in (None, "", [], {}):
        parts.append(f"default {schema['default']!r}")
    return [("text", ", " + ", ".join(parts))] if parts else []
