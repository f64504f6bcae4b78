"""Background jobs: one `jobs` row per run, executed by an RQ worker when REDIS_URL is set, else a thread.

A feature registers a handler with @job_handler("kind"). The handler receives a JobContext and
reports progress through it. Each report commits the session, so the work done so far is kept and
the page polling the job reads it. The handler checks for cancellation between steps and returns a
JSON-serialisable result.
With JOB_RUNNER = "inline" (tests) the handler runs synchronously inside submit().
"""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Job, JobState
from gaissa.models.base import utcnow

logger = logging.getLogger(__name__)
QUEUE_NAME = "gaissa"
# A running job whose heartbeat is older than this has lost its worker (process killed, machine restarted).
STALE_AFTER = timedelta(minutes=10)
_MAX_LOG_LINES = 500

Handler = Callable[["JobContext"], dict[str, Any] | None]
_handlers: dict[str, Handler] = {}


class JobCancelled(Exception):
    """Raised inside a handler when a user asked to cancel the job."""


class UnknownJobKind(LookupError):
    pass


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind."""

    def register(function: Handler) -> Handler:
        _handlers[kind] = function
        return function

    return register


class JobContext:
    """The view of its job that a running handler gets: parameters, progress reports, log lines and cancellation."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.job.params or {})

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress and commit, so that pollers see it and the work done so far is kept."""
        job = self.job
        job.done = done
        if total is not None:
            job.total = total
        if job.total:
            job.progress = min(1.0, done / job.total)
        if message is not None:
            job.message = message
        job.heartbeat_at = utcnow()
        db.session.commit()

    def log(self, line: str) -> None:
        """Append a line to the job's log (kept to the last 500 lines); committed with the next progress report."""
        lines = list(self.job.log or [])
        lines.append(line)
        self.job.log = lines[-_MAX_LOG_LINES:]

    def check_cancelled(self) -> None:
        """Raise JobCancelled when a cancellation was requested (read fresh from the database)."""
        requested = db.session.scalar(select(Job.cancel_requested).where(Job.id == self.job.id))
        if requested:
            raise JobCancelled()


def submit(kind: str, params: dict[str, Any] | None = None, user_id: int | None = None) -> Job:
    """Create the job row, commit it, and start it on the configured runner.

    This commits the current session: the worker runs in another session or process and must see the row.
    """
    if kind not in _handlers:
        _load_handlers()
    if kind not in _handlers:
        raise UnknownJobKind(f"no handler registered for job kind {kind!r}")
    job = Job(kind=kind, params=params or {}, created_by_id=user_id, state=JobState.QUEUED)
    db.session.add(job)
    db.session.commit()
    logger.info("Queued job %s of kind %s for user %s", job.id, kind, user_id)

    runner = _runner_name(current_app)
    if runner == "inline":
        execute(job.id)
    elif runner == "rq":
        _enqueue_rq(job.id)
    else:
        app = current_app._get_current_object()
        thread = threading.Thread(target=_run_in_thread, args=(app, job.id), name=f"job-{job.id}", daemon=True)
        thread.start()
    return job


def request_cancel(job_id: str) -> Job | None:
    """Ask a queued or running job to stop; the handler stops at its next check."""
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        return job
    job.cancel_requested = True
    if job.state == JobState.QUEUED:
        job.state = JobState.CANCELLED
        job.finished_at = utcnow()
        job.message = "Cancelled before it started."
    logger.info("Cancellation requested for job %s", job_id)
    return job


def get_job(job_id: str) -> Job | None:
    job = db.session.get(Job, job_id)
    if job is not None and job.state == JobState.RUNNING and _is_stale(job):
        _fail(job, "The worker running this job stopped (no progress report for 10 minutes).")
        db.session.commit()
    return job


def latest_job(kind: str) -> Job | None:
    return db.session.scalar(select(Job).where(Job.kind == kind).order_by(Job.created_at.desc()).limit(1))


def execute(job_id: str) -> None:
    """Run one job to completion in the current app context, recording its final state."""
    if not _handlers:
        _load_handlers()
    job = db.session.get(Job, job_id)
    if job is None:
        logger.error("Job %s not found; nothing to run", job_id)
        return
    if job.state != JobState.QUEUED:
        logger.warning("Job %s is %s, not queued; not running it again", job_id, job.state)
        return
    handler = _handlers.get(job.kind)
    if handler is None:
        _fail(job, f"No handler for job kind {job.kind!r}.")
        db.session.commit()
        return

    job.state = JobState.RUNNING
    job.started_at = job.heartbeat_at = utcnow()
    db.session.commit()
    logger.info("Started job %s (%s)", job.id, job.kind)
    context = JobContext(job)
    try:
        result = handler(context)
    except JobCancelled:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.state = JobState.CANCELLED
        job.message = "Cancelled. Work committed before the cancellation is kept; a new run resumes from it."
        job.finished_at = utcnow()
        db.session.commit()
        logger.info("Cancelled job %s", job_id)
        return
    except Exception as exc:  # noqa: BLE001 — any failure of a handler must end as a failed job, not a stuck one
        db.session.rollback()
        logger.error("Job %s (%s) failed", job_id, job.kind, exc_info=exc)
        job = db.session.get(Job, job_id)
        _fail(job, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        return

    job.state = JobState.SUCCEEDED
    job.result = result or {}
    job.progress = 1.0
    job.finished_at = utcnow()
    db.session.commit()
    logger.info("Finished job %s (%s)", job_id, job.kind)


def run_from_worker(job_id: str) -> None:
    """Entry point of RQ workers: build the app once per worker process and run the job."""
    global _worker_app
    if _worker_app is None:
        from gaissa import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        execute(job_id)


_worker_app: Flask | None = None


def _run_in_thread(app: Flask, job_id: str) -> None:
    with app.app_context():
        try:
            execute(job_id)
        finally:
            db.session.remove()


def _enqueue_rq(job_id: str) -> None:
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=Redis.from_url(current_app.config["REDIS_URL"]))
    queue.enqueue("gaissa.services.jobs.run_from_worker", job_id, job_timeout=6 * 3600, job_id=job_id)


def _runner_name(app: Flask) -> str:
    configured = app.config.get("JOB_RUNNER")
    if configured:
        return configured
    return "rq" if app.config.get("REDIS_URL") else "thread"


def _fail(job: Job, message: str) -> None:
    job.state = JobState.FAILED
    job.error = message
    job.message = message
    job.finished_at = utcnow()


def _is_stale(job: Job) -> bool:
    last = job.heartbeat_at or job.started_at
    return last is not None and utcnow() - last > STALE_AFTER


def _load_handlers() -> None:
    """Import the modules that register handlers (a worker process may not have imported them yet)."""
    import importlib

    for module in ("gaissa.services.sync.runner", "gaissa.services.measurement"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
