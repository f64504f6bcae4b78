"""Routes of the api feature."""

from flask import Blueprint, render_template

bp = Blueprint("api", __name__)


@bp.get("/")
def index():
    return render_template("coming_soon.html", title="API")
