"""API errors as RFC 9457 problem details, and the conversion of validation errors into them."""

from flask import Response
from pydantic import ValidationError

from gaissa.api.problems import problem_response


class ApiProblem(Exception):
    """An error response of the API: status, title, detail, and the input field that failed."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None,
                 errors: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> Response:
        extra = {"errors": self.errors} if self.errors else {}
        response = problem_response(self.status, self.title, self.detail, field=self.field, **extra)
        response.headers.update(self.headers)
        return response


def invalid_input(errors: dict[str, str], title: str = "Invalid input", status: int = 422) -> ApiProblem:
    """Build a problem listing every invalid field; `field` and `detail` name the first one."""
    first_field, first_message = next(iter(errors.items()))
    detail = first_message if len(errors) == 1 else f"{first_message} ({len(errors) - 1} more in 'errors')"
    return ApiProblem(status, title, detail, field=first_field, errors=dict(errors))


def validation_problem(exc: ValidationError, status: int = 422, title: str = "Invalid input") -> ApiProblem:
    """Turn pydantic's errors into one message per field, named like "values.energy"."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"]
        if "input" in error and error["type"] not in _NO_INPUT_ECHO and _short(error["input"]):
            message = f"{message}; got {error['input']!r}"
        errors.setdefault(name, f"{name}: {message}.")
    return invalid_input(errors, title=title, status=status)


# Error types whose message is complete without the value, or already quotes it.
_NO_INPUT_ECHO = frozenset({"missing", "extra_forbidden", "metric_value"})


def _short(value: object) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 80
