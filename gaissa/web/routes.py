"""Site-wide pages: the GAISSA Tools home and About."""

from flask import Blueprint, render_template

from gaissa.services import statistics

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    return render_template("home.html", counts=statistics.site_counts())


@bp.get("/about")
def about():
    return render_template("about.html")


@bp.get("/healthz")
def health():
    return {"status": "ok"}
