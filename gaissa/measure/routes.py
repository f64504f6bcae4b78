"""Routes of the measure feature."""

from flask import Blueprint, render_template

bp = Blueprint("measure", __name__)


@bp.get("/")
def new_measurement():
    return render_template("coming_soon.html", title="Measure a deployed endpoint")
