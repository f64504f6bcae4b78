"""The sync screen of QA managers: providers, the last sync, history, and starting or cancelling a sync."""

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user

from gaissa.auth.login import manager_required
from gaissa.extensions import db
from gaissa.services.sync import history, runner
from gaissa.sync.forms import StartSyncForm
from gaissa.web.htmx import htmx_target, redirect_htmx_aware, render, wants_fragment

bp = Blueprint("sync", __name__)


@bp.get("/")
@manager_required
def index():
    fragment = "sync/partials/_history.html" if htmx_target() == "sync-history" else "sync/partials/_panel.html"
    return _index_page(StartSyncForm(), fragment=fragment)


@bp.post("/start")
@manager_required
def start():
    form = StartSyncForm()
    if not form.validate_on_submit():
        return _index_page(form, status=422)
    options = runner.SyncOptions(full=form.full.data, limit=form.limit.data)
    try:
        job = runner.start_sync(options, user_id=current_user.id)
    except runner.SyncAlreadyRunning as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _index_page(form, status=409)
    return _panel_or_redirect(job.id, "Sync started.")


@bp.get("/jobs/<job_id>")
@manager_required
def progress(job_id: str):
    found = history.progress(job_id)
    if found is None:
        abort(404)
    return _panel(found)


@bp.post("/jobs/<job_id>/cancel")
@manager_required
def cancel(job_id: str):
    job = runner.cancel_sync(job_id)
    if job is None or job.kind != runner.JOB_KIND:
        abort(404)
    db.session.commit()
    return _panel_or_redirect(job.id, "Cancellation requested: the sync stops after its current batch.")


@bp.get("/runs/<int:run_id>")
@manager_required
def run(run_id: int):
    detail = history.run_detail(run_id, request.args.get("action", ""), request.args.get("page", 1, type=int))
    if detail is None:
        abort(404)
    return render("sync/run.html", "sync/partials/_items.html", detail=detail)


def _index_page(form: StartSyncForm, fragment: str = "sync/partials/_panel.html", status: int = 200):
    # htmx does not swap 4xx responses, so htmx receives the panel with the form's errors as a 200 response.
    status = 200 if wants_fragment() else status
    overview = history.overview(current_app.config["HF_ENDPOINT"], request.args.get("page", 1, type=int))
    found = history.progress(overview.active_job.id) if overview.active_job else None
    return render("sync/index.html", fragment, status=status, overview=overview, progress=found, form=form,
                  resumable=overview.resumable_run)


def _panel(found: history.Progress):
    """Render the progress panel of a job; for a finished job, also trigger the page's history reload."""
    response = render("sync/job.html", "sync/partials/_panel.html", progress=found, form=StartSyncForm(),
                      resumable=None)
    if found.job.finished:
        response.headers["HX-Trigger"] = "sync-finished"
    return response


def _panel_or_redirect(job_id: str, message: str):
    """Return the job's progress panel to htmx; redirect plain form posts to the sync screen."""
    found = history.progress(job_id)
    if wants_fragment() and found is not None:
        return _panel(found)
    flash(message, "success")
    return redirect_htmx_aware(url_for("sync.index"))
