"""Request hooks: public pages of a disabled tool return 404, except for QA managers, who see a banner."""

from flask import Flask, abort, g, request
from flask_login import current_user

from gaissa.services import content_version, site

# Blueprints whose public pages belong to a tool; the admin blueprints stay reachable for managers.
TOOL_OF_BLUEPRINT = {"labeling": "label", "measure": "label", "roi": "roi"}
TOOL_NAMES = {"label": "GAISSALabel", "roi": "the GAISSA ROI Analyzer"}


def register(app: Flask) -> None:
    @app.before_request
    def hide_disabled_tools():
        # Tests can keep one app context (and so one `g`) across requests: start each request afresh.
        g.pop("switched_off_notice", None)
        g.pop("site_settings", None)
        content_version.forget_request_token()
        tool = TOOL_OF_BLUEPRINT.get(request.blueprint or "")
        if tool is None or site.is_enabled(tool):
            return None
        if getattr(current_user, "is_authenticated", False) and current_user.is_manager:
            # base.html shows this banner above the page.
            name = TOOL_NAMES[tool]
            g.switched_off_notice = (f"{name[:1].upper()}{name[1:]} is switched off for the public; you see it as a "
                                     "QA manager. Switch it on again under Administration → Tool switches.")
            return None
        abort(404, description=f"This page does not exist, or {TOOL_NAMES[tool]} is switched off on this site "
                               "for now. Go to the home page for the tools that are available.")

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
