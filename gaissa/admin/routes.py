"""Administration screens for QA managers: the index, and the modules that add the other screens."""

# Importing the screen modules registers their views on the blueprint.
from gaissa.admin import (  # noqa: F401  (imported for their routes)
    audit_routes,
    info_routes,
    metric_routes,
    moderation_routes,
    scheme_routes,
    settings_routes,
    tool_routes,
    user_routes,
)
from gaissa.admin.blueprint import bp
from gaissa.services import site_admin
from gaissa.web.htmx import render

__all__ = ["bp"]


@bp.get("/")
def index():
    return render("admin/index.html", "admin/partials/_index_cards.html", overview=site_admin.overview())
