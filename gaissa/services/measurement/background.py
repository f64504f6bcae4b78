"""Endpoint measurements as background jobs: start one, run it, read its state.

Request headers (and a URL whose query carries secrets) never enter the job's parameters, the
database or the logs. start_measurement() keeps them in a dictionary of this process under a
random reference, and the job's parameters contain only that reference. The job takes the
secrets out once when it starts. That works for the thread and inline runners, which run the job in the
web process. RQ workers run in other processes and would need the secrets to travel through
Redis, so with the RQ runner a measurement that has headers or secret query values is refused.
"""

import csv
import io
import logging
import secrets as random_tokens
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import EvaluationDraft, Job, JobState
from gaissa.services import evaluations, jobs, write_limits
from gaissa.services.connectors import http
from gaissa.services.jobs import JobContext, job_handler
from gaissa.services.measurement.results import CarbonLookup, build_result, save_draft
from gaissa.services.measurement.runner import MeasurementFailed, run_measurement
from gaissa.services.measurement.spec import (
    MeasurementInputError,
    MeasurementLimits,
    MeasurementSpec,
    render_url,
    validate,
)

logger = logging.getLogger(__name__)
JOB_KIND = "endpoint_measurement"
PURPOSE = "measurements"
# Secrets of a job that never started are forgotten after this many seconds.
SECRET_TTL_S = 3600.0


class MeasurementRefused(Exception):
    """A measurement that cannot start now (too many running); str(error) is a message for users."""


class MeasurementRateLimited(MeasurementRefused):
    """A client address that started as many measurements this hour as the site allows."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RequestSecrets:
    headers: dict[str, str]
    url: str | None  # the URL as typed, when its stored form has redacted query values


class SecretStore:
    """Secrets handed from the web request to the job in process memory, each taken at most once."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, RequestSecrets]] = {}

    def put(self, secrets: RequestSecrets) -> str:
        reference = random_tokens.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            self._entries = {key: entry for key, entry in self._entries.items() if now - entry[0] < SECRET_TTL_S}
            self._entries[reference] = (now, secrets)
        return reference

    def take(self, reference: str | None) -> RequestSecrets | None:
        with self._lock:
            entry = self._entries.pop(reference or "", None)
        return entry[1] if entry else None

    def __len__(self) -> int:
        return len(self._entries)


secret_store = SecretStore()


def outbound_policy(config: Mapping[str, Any]) -> http.OutboundPolicy:
    return http.OutboundPolicy.from_config(config, purpose=PURPOSE)


def check_endpoint(spec: MeasurementSpec, config: Mapping[str, Any]) -> None:
    """Resolve the endpoint's host and check its addresses now, so the form can name a refused address.

    The job checks again when it connects, so this check only gives the user an early message.
    """
    try:
        with http.SafeHttpClient(outbound_policy(config)) as client:
            client.check_target(render_url(spec.url, spec.inputs[0] if spec.inputs else ""))
    except http.OutboundError as exc:
        raise MeasurementInputError({"url": str(exc)}) from None


def input_errors(spec: MeasurementSpec) -> dict[str, str]:
    """Return every message about the settings, the endpoint's address included, without raising."""
    errors: dict[str, str] = {}
    try:
        _validate_for_site(spec)
    except MeasurementInputError as exc:
        errors.update(exc.errors)
    if "url" not in errors:
        try:
            check_endpoint(spec, current_app.config)
        except MeasurementInputError as exc:
            errors.update(exc.errors)
    return errors


def start_measurement(spec: MeasurementSpec, headers: Mapping[str, str], *, user_id: int | None = None,
                      address: str | None = None) -> Job:
    """Validate the settings, check that the measurement may start, then submit it as a background job.

    Raises MeasurementInputError for settings the user must change, MeasurementRefused when too many
    measurements are running and MeasurementRateLimited when the client `address` started too many
    this hour (None counts nothing). With the inline runner the job has finished on return.
    """
    errors = input_errors(spec)
    if errors:
        raise MeasurementInputError(errors)
    spec = _validate_for_site(spec)

    secret_query = http.query_has_secrets(spec.url)
    # jobs picks the runner from JOB_RUNNER and REDIS_URL; ask it rather than repeat the rule.
    if (headers or secret_query) and jobs._runner_name(current_app) == "rq":
        raise MeasurementInputError({"headers": (
            "Request headers and secret URL parameters cannot be used on this site, because measurements run on "
            "separate workers and the secrets would pass through Redis. Measure an endpoint that needs no "
            "credentials, or run `flask gaissa measure` on the server."
        )})
    limits = MeasurementLimits.from_config(current_app.config)
    active = _active_count()
    if active >= limits.max_active:
        raise MeasurementRefused(f"{active} measurements are running, the most this site allows at once. "
                                 "Try again in a minute.")
    if address is not None:
        _count_start(address, limits.max_starts_per_hour)

    stored_url = http.redact_url(spec.url) if secret_query else spec.url
    params = spec.with_url(stored_url).to_params()
    if headers or secret_query:
        params["secrets_ref"] = secret_store.put(RequestSecrets(dict(headers), spec.url if secret_query else None))
    job = jobs.submit(JOB_KIND, params, user_id=user_id)
    logger.info("Submitted endpoint measurement %s of %s (%d requests) for user %s",
                job.id, http.redact_url(spec.url), spec.total_requests, user_id)
    return job


def _count_start(address: str, limit: int) -> None:
    """Count a measurement start of the client address (committed at once); raise MeasurementRateLimited past it."""
    # The counters share the table of the API's per-address limit, under keys of their own.
    decision = write_limits.count_write(f"measure:{address}", limit, subject="Endpoint measurements")
    if not decision.allowed:
        minutes = max(1, -(-decision.retry_after // 60))
        raise MeasurementRateLimited(
            f"Your network address has started {limit} measurements this hour, the most this site allows. "
            f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}.", decision.retry_after)


def _validate_for_site(spec: MeasurementSpec) -> MeasurementSpec:
    countries = country_choices()
    return validate(spec, MeasurementLimits.from_config(current_app.config),
                    [code for code, _name in countries] if countries else None)


def _active_count() -> int:
    states = (JobState.QUEUED, JobState.RUNNING)
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == JOB_KIND, Job.state.in_(states))) or 0


@job_handler(JOB_KIND)
def run_measurement_job(context: JobContext) -> dict[str, Any]:
    """Run a submitted measurement and store its result as a draft; nothing is stored when it fails."""
    params = context.params
    spec = MeasurementSpec.from_params(params)
    headers: dict[str, str] = {}
    reference = params.get("secrets_ref")
    if reference:
        secrets = secret_store.take(reference)
        if secrets is None:
            raise MeasurementFailed("The request headers of this measurement are no longer available (the server "
                                    "restarted or the job ran elsewhere). Start the measurement again.")
        headers = secrets.headers
        if secrets.url:
            spec = spec.with_url(secrets.url)

    config = current_app.config
    limits = MeasurementLimits.from_config(config)
    with http.SafeHttpClient(outbound_policy(config), max_connections=spec.concurrency) as client:
        outcome = run_measurement(
            spec, headers, client, limits=limits,
            on_progress=lambda done, total, message: context.progress(done, total, message),
            check_cancelled=context.check_cancelled,
        )
    result = build_result(spec, outcome, limits, carbon_lookup())
    draft = save_draft(result, job_id=context.job_id)
    context.log(f"Measured {result.measured} requests ({result.succeeded} succeeded); draft {draft.id}.")
    # Replaces the last progress message ("Computing the results…"); committed with the finished state.
    context.job.message = f"Finished: {result.succeeded} of {result.measured} measured requests succeeded."
    return {"draft_id": draft.id, **result.summary()}


def carbon_lookup() -> CarbonLookup | None:
    """Return the carbon-intensity lookup, or None when the carbon service is not installed."""
    try:
        from gaissa.services import carbon
    except ImportError:
        return None

    def lookup(code: str):
        try:
            return carbon.intensity_for(code)
        except LookupError:
            return None

    return lookup


def country_choices() -> list[tuple[str, str]] | None:
    """Return (code, name) of the countries with carbon-intensity data, or None without the carbon service."""
    try:
        from gaissa.services import carbon
    except ImportError:
        return None
    return carbon.countries_with_data()


def get_measurement_job(job_id: str) -> Job | None:
    """Return the measurement job with this id, or None (also for jobs of other kinds)."""
    job = jobs.get_job(job_id)
    return job if job is not None and job.kind == JOB_KIND else None


def cancel_measurement(job_id: str) -> Job | None:
    """Ask a measurement to stop; the caller commits."""
    job = get_measurement_job(job_id)
    if job is None:
        return None
    return jobs.request_cancel(job_id)


def job_draft(job: Job) -> EvaluationDraft | None:
    """Return the draft a finished measurement created, or None once it was saved as an evaluation."""
    draft_id = (job.result or {}).get("draft_id") if job.state == JobState.SUCCEEDED else None
    return evaluations.get_draft(draft_id)


def samples_csv(draft: EvaluationDraft) -> str:
    """Write the raw samples of a measurement draft as CSV, one row per request."""
    columns = ("index", "input_index", "warmup", "started_s", "ended_s", "latency_ms", "status", "bytes", "energy_j", "error")
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    record = draft.measurement or {}
    for warmup, key in ((True, "warmup_samples"), (False, "samples")):
        for sample in record.get(key, []):
            writer.writerow({**sample, "warmup": warmup})
    return output.getvalue()


def describe_failure(job: Job) -> str:
    """Return the message to show for a failed measurement job, without internal details."""
    error = job.error or job.message or ""
    prefix = f"{MeasurementFailed.__name__}: "
    if error.startswith(prefix):
        return error[len(prefix):]
    if error and ":" not in error.split(" ", 1)[0]:
        return error  # a message of the job runner itself, e.g. a worker that stopped
    return ("The measurement stopped because of an error on this site. Nothing was saved; try again, "
            "and tell the site's administrators if it happens again.")
