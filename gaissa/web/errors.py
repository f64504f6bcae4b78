"""Error pages: short, actionable messages; fragments for htmx requests; rollback on 500."""

import logging

from flask import Flask, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gaissa.extensions import db
from gaissa.web.htmx import render

logger = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "Your form expired or was sent from another page. Reload the page and submit it again."
        return _error_response(400, "Form expired", message)

    @app.errorhandler(413)
    def too_large(error):
        limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        message = (f"The upload is larger than the limit of {limit_mb} MB. Upload fewer or smaller files "
                   "(a QA manager can raise MAX_UPLOAD_MB).")
        if request.path.startswith("/api/"):
            from gaissa.api.problems import problem_response

            return problem_response(413, "Payload Too Large", message)
        return _error_response(413, "Upload too large", message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/api/"):
            from gaissa.api.problems import problem_response

            return problem_response(error.code or 500, error.name, error.description)
        return _error_response(error.code or 500, error.name, _page_message(error))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
        if request.path.startswith("/api/"):
            from gaissa.api.problems import problem_response

            return problem_response(500, "Internal Server Error", "The server failed to handle this request.")
        message = "Something went wrong on our side. Nothing was saved; try again in a moment."
        return _error_response(500, "Server error", message)


# Messages for pages that abort without a description of their own, in place of Werkzeug's generic texts.
_DEFAULT_MESSAGES = {
    403: "Only QA managers can open this page. Log in with a QA manager account, or ask a QA manager for the role.",
    404: "This page does not exist. Check the address, or start again from the home page.",
}


def _page_message(error: HTTPException) -> str:
    """Return the error's own description, or a short actionable message when it has only Werkzeug's default."""
    if error.description == type(error).description and error.code in _DEFAULT_MESSAGES:
        return _DEFAULT_MESSAGES[error.code]
    return error.description or ""


def _error_response(status: int, title: str, message: str):
    return render("errors/error.html", "errors/_error.html", status=status, title=title, message=message, status_code=status)
