"""GAISSALabel pages."""

from flask import Blueprint, render_template

bp = Blueprint("labeling", __name__)


@bp.get("/")
def home():
    return render_template("coming_soon.html", title="GAISSALabel")


@bp.get("/<phase>/new")
def new_evaluation(phase: str):
    return render_template("coming_soon.html", title="New evaluation")


@bp.get("/<phase>/upload")
def upload(phase: str):
    return render_template("coming_soon.html", title="Upload files")


@bp.get("/models")
def models():
    return render_template("coming_soon.html", title="Models")
