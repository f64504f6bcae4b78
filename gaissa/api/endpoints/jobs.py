"""Background jobs (endpoint measurements, the Hugging Face sync): status, cancellation, and starting a sync."""

from flask import url_for

from gaissa.api import presenters, schemas
from gaissa.api.access import caller
from gaissa.api.blueprint import api
from gaissa.api.errors import ApiProblem
from gaissa.api.responses import created, not_found
from gaissa.extensions import db
from gaissa.models import Job
from gaissa.services import jobs

SYNC_KIND = "hf_sync"
# Jobs that only QA managers may see. Other jobs are visible to anyone who has their random id.
MANAGER_KINDS = frozenset({SYNC_KIND})
JOB_ID_SCHEMA = {"job_id": {"type": "string", "pattern": r"^[0-9a-f\-]{1,36}$"}}


def _visible_job(job_id: str) -> Job:
    job = jobs.get_job(job_id) if len(job_id) <= 36 else None
    if job is None or (job.kind in MANAGER_KINDS and not caller().is_manager):
        raise not_found(f"No job with id {job_id!r}.", field="job_id")
    return job


@api.operation("GET", "/jobs/<job_id>", summary="Read a job's status", tag="Jobs", response=schemas.JobOut,
               path_schemas=JOB_ID_SCHEMA)
def get_job(job_id: str):
    """State, progress, the last log lines and the result of a background job; poll it until it finishes."""
    return presenters.job_out(_visible_job(job_id))


@api.operation("DELETE", "/jobs/<job_id>", summary="Cancel a job", tag="Jobs", response=schemas.JobOut,
               path_schemas=JOB_ID_SCHEMA)
def cancel_job(job_id: str):
    """Ask a queued or running job to stop; QA managers and the user who started it may."""
    job = _visible_job(job_id)
    who = caller()
    if not who.is_manager and (who.user is None or job.created_by_id != who.user.id):
        raise ApiProblem(403, "Forbidden", "Only QA managers and the user who started a job may cancel it.")
    job = jobs.request_cancel(job.id)
    db.session.commit()
    return presenters.job_out(job)


@api.operation("GET", "/sync", summary="Read the latest Hugging Face sync", tag="Jobs", response=schemas.JobOut,
               access="manager", extra_errors=(404,))
def latest_sync():
    job = jobs.latest_job(SYNC_KIND)
    if job is None:
        raise not_found("No Hugging Face sync has run yet; start one with POST /sync.")
    return presenters.job_out(job)


@api.operation("POST", "/sync", summary="Start a Hugging Face sync", tag="Jobs", response=schemas.JobOut, status=202,
               access="manager", extra_errors=(409, 503))
def start_sync():
    """Start importing models with CO2 figures from the Hugging Face Hub as a background job; poll the job."""
    running = jobs.latest_job(SYNC_KIND)
    if running is not None and not running.finished:
        raise ApiProblem(409, "Conflict", f"A sync is already {running.state} (job {running.id}); wait for it to "
                                          "finish or cancel it with DELETE /jobs/{id}.")
    try:
        job = jobs.submit(SYNC_KIND, {}, caller().user_id)
    except jobs.UnknownJobKind:
        raise ApiProblem(503, "Service Unavailable", "The Hugging Face sync is not installed on this server.") from None
    db.session.refresh(job)
    return created(presenters.job_out(job), url_for("api.get_job", job_id=job.id, _external=True), status=202)
