"""Routes of the sync feature."""

from flask import Blueprint, render_template

bp = Blueprint("sync", __name__)


@bp.get("/")
def index():
    return render_template("coming_soon.html", title="Hugging Face sync")
