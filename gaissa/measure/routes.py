"""Measure a deployed endpoint: the form, the job's progress and results, cancellation, raw samples."""

from flask import Blueprint, abort, make_response, request, url_for
from flask_login import current_user

from gaissa.auth.login import client_address
from gaissa.extensions import db
from gaissa.measure.forms import blank_form, form_from_params, read_measurement_form
from gaissa.services import hardware_power, measurement
from gaissa.web.htmx import redirect_htmx_aware, render, wants_fragment

bp = Blueprint("measure", __name__)


@bp.route("/", methods=["GET", "POST"])
def new_measurement():
    if request.method == "GET":
        previous = measurement.get_measurement_job(request.args.get("from", ""))
        form = form_from_params(previous.params) if previous is not None else blank_form()
        return _form_page(form, repeated=previous is not None)

    form = read_measurement_form(request.form)
    if "apply_preset" in request.form:
        form.apply_preset()
        return _form_page(form)
    if form.errors:
        form.errors = {**measurement.input_errors(form.spec), **form.errors}
        return _form_page(form, status=422)
    try:
        job = measurement.start_measurement(form.spec, form.headers, user_id=_user_id(), address=client_address())
    except measurement.MeasurementInputError as exc:
        form.errors.update(exc.errors)
    except measurement.MeasurementRateLimited as exc:
        form.errors["form"] = str(exc)
        response = _form_page(form, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except measurement.MeasurementRefused as exc:
        form.errors["form"] = str(exc)
    else:
        return redirect_htmx_aware(url_for("measure.job_status", job_id=job.id))
    return _form_page(form, status=422)


@bp.get("/preset")
def preset_template():
    form = blank_form()
    form.raw["preset"] = request.args.get("preset", "")
    form.apply_preset()
    return render("measure/new.html", "measure/partials/_body_template.html", form=form, **_form_choices())


@bp.get("/jobs/<job_id>")
def job_status(job_id: str):
    return render("measure/job.html", "measure/partials/_job.html", **_status_context(_job_or_404(job_id)))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    job = measurement.cancel_measurement(job_id)
    if job is None:
        abort(404, description=f"No measurement with id {job_id}.")
    db.session.commit()
    if wants_fragment():
        return render("measure/job.html", "measure/partials/_job.html", **_status_context(job))
    return redirect_htmx_aware(url_for("measure.job_status", job_id=job_id))


@bp.get("/jobs/<job_id>/samples.csv")
def samples_csv(job_id: str):
    draft = measurement.job_draft(_job_or_404(job_id))
    if draft is None:
        abort(404, description="The raw samples of this measurement are no longer here: they were saved with the "
                               "evaluation, or the measurement did not finish.")
    response = make_response(measurement.samples_csv(draft))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="measurement-{job_id}.csv"'
    return response


def _form_page(form, status: int = 200, repeated: bool = False):
    # htmx swaps only 2xx responses, so a form with errors goes back to htmx as 200.
    response = render("measure/new.html", "measure/partials/_form.html", status=200 if wants_fragment() else status,
                      form=form, repeated=repeated, **_form_choices())
    response.headers["Cache-Control"] = "no-store"  # the form may echo request headers the user typed
    return response


def _status_context(job) -> dict:
    return {"job": job, "draft": measurement.job_draft(job),
            "failure": measurement.describe_failure(job) if job.state == "failed" else None}


def _form_choices() -> dict:
    return {"presets": measurement.PRESETS, "methods": measurement.METHODS, "units": measurement.ENERGY_UNITS,
            "hardware_groups": hardware_power.grouped(), "countries": measurement.country_choices()}


def _job_or_404(job_id: str):
    job = measurement.get_measurement_job(job_id)
    if job is None:
        abort(404, description=f"No measurement with id {job_id}. Start a new one from the measurement form.")
    return job


def _user_id() -> int | None:
    return current_user.id if getattr(current_user, "is_authenticated", False) else None
