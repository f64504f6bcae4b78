"""Routes of the roi feature."""

from flask import Blueprint, render_template

bp = Blueprint("roi", __name__)


@bp.get("/")
def home():
    return render_template("coming_soon.html", title="GAISSA ROI Analyzer")
