"""Administration of the ROI Analyzer catalogue (QA managers)."""

from flask import Blueprint, render_template

from gaissa.auth.login import manager_required

bp = Blueprint("roi_admin", __name__)


@bp.get("/")
@manager_required
def index():
    return render_template("coming_soon.html", title="ROI catalogue")
