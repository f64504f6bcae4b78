"""Request hooks: public pages of a disabled tool answer 404, except for QA managers."""

from flask import Flask, abort, request
from flask_login import current_user

from gaissa.services import site

# Blueprints whose public pages belong to a tool; the admin blueprints stay reachable for managers.
TOOL_OF_BLUEPRINT = {"labeling": "label", "measure": "label", "roi": "roi"}


def register(app: Flask) -> None:
    @app.before_request
    def hide_disabled_tools():
        tool = TOOL_OF_BLUEPRINT.get(request.blueprint or "")
        if tool is None or site.is_enabled(tool):
            return None
        if getattr(current_user, "is_authenticated", False) and current_user.is_manager:
            return None
        abort(404)

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
