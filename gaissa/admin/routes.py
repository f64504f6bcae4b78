"""Administration screens for QA managers."""

from flask import Blueprint, render_template

from gaissa.auth.login import manager_required

bp = Blueprint("admin", __name__)


@bp.get("/")
@manager_required
def index():
    return render_template("admin/index.html")
