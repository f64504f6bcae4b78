"""RFC 9457 problem details (application/problem+json) for API errors."""

from typing import Any

from flask import Response, jsonify


def problem_response(status: int, title: str, detail: str, field: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response
