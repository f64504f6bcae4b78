"""Site-wide pages: the GAISSA Tools home and About."""

from flask import Blueprint, render_template

from gaissa.services import statistics
from gaissa.web.page_cache import cached_for_visitors

bp = Blueprint("web", __name__)


@bp.get("/")
@cached_for_visitors
def home():
    return render_template("home.html", counts=statistics.site_counts())


@bp.get("/about")
@cached_for_visitors
def about():
    return render_template("about.html")


@bp.get("/healthz")
def health():
    return {"status": "ok"}
