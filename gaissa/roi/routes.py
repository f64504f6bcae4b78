"""GAISSA ROI Analyzer pages: home, calculator, analysis report (page and PDF), repositories, comparison."""

import re

from flask import Blueprint, abort, flash, make_response, render_template, request, url_for

from gaissa.extensions import db
from gaissa.models.base import utcnow
from gaissa.models.roi import AnalysisKind
from gaissa.roi.forms import REFRESH_BUTTON, read_analysis_form, read_inferences
from gaissa.services import roi_catalogue as catalogue
from gaissa.services.pdf import render_pdf
from gaissa.services.roi import format_count
from gaissa.web.htmx import htmx_target, redirect_htmx_aware, render, wants_fragment

bp = Blueprint("roi", __name__)
bp.add_app_template_filter(format_count, "inference_count")


@bp.get("/")
def home():
    return render_template("roi/home.html", counts=catalogue.counts(), summaries=catalogue.stage_summaries())


@bp.route("/analyses/new", methods=["GET", "POST"])
def new_analysis():
    source = request.form if request.method == "POST" else request.args
    choices = catalogue.analysis_choices(*_cascade_ids(source))
    form = read_analysis_form(source, [metric.id for metric in choices.metrics])
    if request.method == "GET" or REFRESH_BUTTON in request.form:
        form.errors.clear()
        return _analysis_form(choices, form, status=200)
    if form.errors:
        return _analysis_form(choices, form, status=422)

    try:
        analysis = catalogue.create_analysis(form.architecture_id, form.option_id, form.values, form.country)
    except catalogue.AnalysisInputError as error:
        form.errors.update(error.errors)
        return _analysis_form(choices, form, status=422)
    db.session.commit()
    flash("The analysis is saved. Move the inference slider to see the ROI for your workload.", "success")
    return redirect_htmx_aware(url_for("roi.analysis", analysis_id=analysis.id))


@bp.get("/analyses/<int:analysis_id>")
def analysis(analysis_id: int):
    report, inference_error = _report(analysis_id)
    slot = request.args.get("slot") if request.args.get("slot") in ("a", "b") else "main"
    response = render("roi/analysis.html", "roi/partials/_results_update.html", report=report,
                      inference_error=inference_error, slot=slot)
    return _keep_results_on_error(response, inference_error)


@bp.get("/analyses/<int:analysis_id>/report.pdf")
def analysis_pdf(analysis_id: int):
    report, _error = _report(analysis_id)
    html = render_template("pdf/roi_report.html", report=report, now=utcnow())
    response = make_response(render_pdf(html, base_url=request.url_root))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{_pdf_name(report)}"'
    return response


@bp.get("/saved")
def saved_analyses():
    return _repository(AnalysisKind.CALCULATION)


@bp.get("/research")
def research_analyses():
    return _repository(AnalysisKind.RESEARCH)


@bp.get("/compare")
def compare():
    reports, errors = {}, {}
    for slot in ("a", "b"):
        # A column's own count wins over the shared one that links from an analysis page carry.
        text = request.args.get(f"inferences_{slot}") or request.args.get("inferences")
        inferences, errors[slot] = read_inferences(text)
        chosen = catalogue.get_analysis(_int_arg(slot) or 0)
        reports[slot] = catalogue.analysis_report(chosen, inferences) if chosen else None

    target = htmx_target() or ""
    slot = target.removeprefix("roi-results-")
    if wants_fragment() and slot in ("a", "b") and reports["a"] and reports["b"]:
        response = render("roi/partials/_results_update.html", report=reports[slot], slot=slot,
                          inference_error=errors[slot])
        return _keep_results_on_error(response, errors[slot])
    return render_template("roi/compare.html", analyses=catalogue.all_analyses(), reports=reports,
                           inference_errors=errors)


def _analysis_form(choices, form, status: int):
    # htmx swaps only 2xx responses, so a form with errors goes back to htmx as 200.
    status = 200 if wants_fragment() else status
    return render("roi/new.html", "roi/partials/_analysis_form.html", status=status, choices=choices, form=form,
                  form_url=url_for("roi.new_analysis"), kind=AnalysisKind.CALCULATION)


def _report(analysis_id: int):
    analysis = catalogue.get_analysis(analysis_id)
    if analysis is None:
        abort(404, description=f"No ROI analysis with id {analysis_id}. Browse the saved analyses to find one.")
    inferences, inference_error = read_inferences(request.args.get("inferences"))
    return catalogue.analysis_report(analysis, inferences), inference_error


def _keep_results_on_error(response, inference_error: str | None):
    """Leave the shown results and the address as they are when htmx sent an invalid count.

    The response's out-of-band message still lands next to the inference box.
    """
    if inference_error and wants_fragment():
        response.headers["HX-Reswap"] = "none"
        response.headers["HX-Push-Url"] = "false"
    return response


def _repository(kind: str):
    repository = catalogue.browse(kind, _int_arg("stage"), _int_arg("tactic"), _int_arg("architecture"),
                                  _int_arg("option"))
    endpoint = "roi.saved_analyses" if kind == AnalysisKind.CALCULATION else "roi.research_analyses"
    return render("roi/repository.html", "roi/partials/_repository.html", repository=repository, endpoint=endpoint)


def _cascade_ids(source) -> tuple[int | None, ...]:
    return tuple(_int_value(source.get(name)) for name in ("stage", "tactic", "architecture", "option"))


def _int_arg(name: str) -> int | None:
    return _int_value(request.args.get(name))


def _int_value(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _pdf_name(report) -> str:
    words = f"roi-analysis-{report.analysis.id}-{report.analysis.architecture.name}-{report.tactic.name}"
    return re.sub(r"[^a-z0-9.-]+", "-", words.lower()).strip("-") + ".pdf"
