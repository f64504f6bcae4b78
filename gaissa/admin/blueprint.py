"""The administration blueprint: every view in it is for active QA managers only."""

from flask import Blueprint, abort, request
from flask_login import current_user

from gaissa.services.scheme_admin import PHASES

bp = Blueprint("admin", __name__)


@bp.before_request
def require_manager():
    """Send anonymous visitors to the login page (HX-Redirect for htmx) and give other users 403."""
    from gaissa.extensions import login_manager

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_manager:
        abort(403)
    return None


def phase_arg(default: str = "training") -> str:
    """Return the phase named in the query string or form; 404 for an unknown phase."""
    phase = request.values.get("phase", default)
    if phase not in PHASES:
        abort(404, description=f"Unknown phase {phase!r}; use training or inference.")
    return phase


def page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


def get_or_404(value):
    if value is None:
        abort(404)
    return value
