"""Run a Hugging Face sync as a background job: list, read, derive and write models batch by batch.

Incremental runs stop at the first listed model last modified before the high-water mark of the last
complete successful run. Full runs read the whole listing. Each batch is committed with its sync items,
counts and checkpoint, so a run that crashes or is cancelled loses at most the batch in progress.
The next run resumes it: it lists again and skips the models that already have an item in that run.
The high-water mark never passes a model that failed, so the next run retries failed models.
"""

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from gaissa.extensions import db
from gaissa.models import Job, JobState
from gaissa.models.base import utcnow
from gaissa.models.sync import RESUMABLE_STATES, SyncAction, SyncItem, SyncRun, SyncState
from gaissa.services import jobs
from gaissa.services.connectors.huggingface import (
    PROVIDER,
    DatasetSize,
    HubClient,
    HubError,
    HubModel,
    HubSettings,
)
from gaissa.services.jobs import JobCancelled, JobContext, job_handler
from gaissa.services.sync import cards, derive, store
from gaissa.services.sync.cards import Flag

logger = logging.getLogger(__name__)

JOB_KIND = "hf_sync"
BATCH_SIZE = 100
# While a batch waits for the Hub (Retry-After can ask for minutes), the run reports it is alive this often.
HEARTBEAT_SECONDS = 30.0


class SyncAlreadyRunning(RuntimeError):
    """A sync of the provider is queued or running; a second one would process the same models."""


@dataclass(frozen=True)
class SyncOptions:
    """The scope of a run: every listed model (full) or those changed since the last sync, and at most `limit`."""

    full: bool = False
    limit: int | None = None

    def as_params(self) -> dict[str, Any]:
        return {"full": self.full, "limit": self.limit}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "SyncOptions":
        limit = params.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"The limit must be a whole number of models of at least 1; got {limit!r}.")
        return cls(full=bool(params.get("full")), limit=limit)


# --- Starting and stopping ----------------------------------------------------------------------

def start_sync(options: SyncOptions, user_id: int | None = None) -> Job:
    """Queue a sync job (and commit it) unless a sync is already queued or running."""
    _reject_when_active()
    _audit("start", None, f"Started a {'full' if options.full else 'incremental'} Hugging Face sync", options)
    return jobs.submit(JOB_KIND, options.as_params(), user_id=user_id)


def run_in_foreground(options: SyncOptions, user_id: int | None = None) -> tuple[Job, SyncRun | None]:
    """Run a sync in this process until it ends (the command line); return its job and run."""
    _reject_when_active()
    job = Job(kind=JOB_KIND, params=options.as_params(), created_by_id=user_id, state=JobState.QUEUED)
    db.session.add(job)
    _audit("start", None, f"Started a {'full' if options.full else 'incremental'} Hugging Face sync from the "
                          "command line", options)
    db.session.commit()

    jobs.execute(job.id)

    job = db.session.get(Job, job.id)
    run = db.session.scalar(select(SyncRun).where(SyncRun.job_id == job.id))
    return job, run


def cancel_sync(job_id: str) -> Job | None:
    """Ask a sync job to stop after its current batch; the caller commits."""
    job = jobs.request_cancel(job_id)
    if job is not None and job.kind == JOB_KIND:
        _audit("cancel", job_id, "Asked the running Hugging Face sync to stop", None)
    return job


def find_active_job() -> Job | None:
    """Return the queued or running sync job whose process is alive, if any."""
    latest = jobs.latest_job(JOB_KIND)
    job = jobs.get_job(latest.id) if latest is not None else None
    if job is None or job.finished:
        return None
    run = db.session.scalar(select(SyncRun).where(SyncRun.job_id == job.id))
    if run is not None:
        return job if run.state == SyncState.RUNNING and _is_alive(run) else None
    reference = job.heartbeat_at if job.state == JobState.RUNNING else job.created_at
    return job if reference is not None and utcnow() - reference < jobs.STALE_AFTER else None


def _reject_when_active() -> None:
    active = find_active_job()
    if active is not None:
        raise SyncAlreadyRunning(
            f"A Hugging Face sync is already {active.state} (started {active.created_at:%Y-%m-%d %H:%M} UTC); "
            "wait for it to finish or cancel it."
        )


# --- The job ------------------------------------------------------------------------------------

@job_handler(JOB_KIND)
def hf_sync_job(context: JobContext) -> dict[str, Any]:
    """Run the sync job: resume an interrupted run or start a new one, and return its counts."""
    options = SyncOptions.from_params(context.params)
    run = sync_models(options, context)
    return {"run_id": run.id, "complete": run.complete, **run.counts()}


def sync_models(options: SyncOptions, context: JobContext) -> SyncRun:
    """Sync the Hub's models that declare training emissions into the catalogue of models."""
    settings = HubSettings.from_config(current_app.config)
    catalogue = store.Catalogue.load()
    run = _open_run(options, context.job_id, context.job.created_by_id)
    db.session.commit()
    run_id = run.id
    logger.info("Sync run %s of %s started (since %s, limit %s, resumed %d times) with %r",
                run_id, PROVIDER, run.since, options.limit, run.resume_count, settings)

    try:
        with HubClient(settings) as client:
            _Sync(run_id, client, catalogue, context, options.limit).execute()
    except JobCancelled:
        db.session.rollback()
        _close(run_id, SyncState.CANCELLED, "Cancelled. The next sync resumes from the last checkpoint.")
        logger.info("Sync run %s cancelled", run_id)
        raise
    except Exception as exc:
        db.session.rollback()
        _close(run_id, SyncState.FAILED, f"Failed: {exc}. The next sync resumes from the last checkpoint.",
               error=f"{type(exc).__name__}: {exc}")
        logger.error("Sync run %s failed", run_id, exc_info=exc)
        raise
    return db.session.get(SyncRun, run_id)


def last_high_water_mark(provider: str = PROVIDER) -> datetime | None:
    """Return the Hub time up to which the last complete successful run synced every model."""
    return db.session.scalar(
        select(SyncRun.high_water_mark)
        .where(SyncRun.provider == provider, SyncRun.state == SyncState.SUCCEEDED, SyncRun.complete.is_(True))
        .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
        .limit(1)
    )


def _open_run(options: SyncOptions, job_id: str, user_id: int | None) -> SyncRun:
    latest = db.session.scalar(
        select(SyncRun).where(SyncRun.provider == PROVIDER).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1)
    )
    now = utcnow()
    if latest is not None and latest.state in RESUMABLE_STATES:
        if latest.state == SyncState.RUNNING and latest.job_id != job_id and _is_alive(latest):
            raise SyncAlreadyRunning(f"Sync run {latest.id} is still running in {latest.owner}.")
        _end_orphaned_job(latest, job_id)
        if options.full and latest.since is not None:
            latest.full, latest.since = True, None
        previous_state = latest.state
        latest.state, latest.limit, latest.job_id, latest.owner = SyncState.RUNNING, options.limit, job_id, _owner()
        latest.finished_at, latest.error, latest.heartbeat_at = None, None, now
        latest.resume_count += 1
        latest.message = (f"Resumed after {latest.listed} models (the previous attempt was {previous_state}).")
        return latest

    since = None if options.full else last_high_water_mark()
    run = SyncRun(
        provider=PROVIDER, state=SyncState.RUNNING, full=options.full or since is None, since=since,
        limit=options.limit, owner=_owner(), job_id=job_id, started_by_id=user_id, started_at=now, heartbeat_at=now,
        message="Started.",
    )
    db.session.add(run)
    db.session.flush()
    return run


def _end_orphaned_job(run: SyncRun, new_job_id: str) -> None:
    """Mark the job of an interrupted run as failed, so that its progress panel stops."""
    if run.job_id is None or run.job_id == new_job_id:
        return
    job = db.session.get(Job, run.job_id)
    if job is not None and not job.finished:
        job.state = JobState.FAILED
        job.finished_at = utcnow()
        job.error = job.message = "The process running this sync stopped; a later sync resumed its work."


def _close(run_id: int, state: SyncState, message: str, error: str | None = None) -> None:
    run = db.session.get(SyncRun, run_id)
    run.state, run.message, run.error = state, message, error
    run.finished_at = run.heartbeat_at = utcnow()
    db.session.commit()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _is_alive(run: SyncRun) -> bool:
    """Tell whether the process running `run` still exists: by its pid on this host, else by its heartbeat."""
    if run.job_id is not None:
        job = db.session.get(Job, run.job_id)
        if job is not None and job.finished:
            return False
    host, _, pid = (run.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # the process exists but belongs to another user
            return True
        return True
    last = run.heartbeat_at or run.started_at
    return last is not None and utcnow() - last < jobs.STALE_AFTER


def _audit(action: str, entity_id: Any, summary: str, options: SyncOptions | None) -> None:
    try:
        from gaissa.services import audit
    except ImportError:  # the audit log is optional
        return
    audit.record(action, "sync", entity_id, None, options.as_params() if options else None, summary)


# --- One run ------------------------------------------------------------------------------------

@dataclass
class _Entry:
    """One listed model on its way through a batch."""

    model: HubModel
    stored: store.Stored | None = None
    digest: derive.DetailsDigest | None = None
    readme: derive.ReadmeCard | None = None
    failure: Flag | None = None
    record: derive.TrainingRecord | None = None
    dataset_sizes: dict[str, DatasetSize] = field(default_factory=dict)

    def card(self) -> dict[str, Any]:
        if self.model.card is not None:
            return self.model.card
        return (self.readme.card if self.readme is not None else None) or {}


@dataclass
class _Result:
    external_id: str
    action: SyncAction
    last_modified: datetime | None
    reason: str | None = None
    message: str = ""
    flags: list[dict[str, str]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    model_id: int | None = None


@dataclass
class _Batch:
    """Listed models whose details are being read while the previous batch is written."""

    last: HubModel
    entries: list[_Entry]
    details: dict[str, Future]


class _Sync:
    """One run over the listing. Batch N+1's details are requested before batch N is written, so that
    waiting for the Hub overlaps with deriving and writing."""

    def __init__(self, run_id: int, client: HubClient, catalogue: store.Catalogue, context: JobContext,
                 limit: int | None):
        self.run_id = run_id
        self.client = client
        self.catalogue = catalogue
        self.context = context
        self.limit = limit
        # Models put into batches by this invocation, counted against the limit.
        self.batched_count = 0
        self.listing_complete = False
        # Each data set size is looked up once per invocation, whatever the number of models that cite it.
        self.dataset_sizes: dict[str, Future] = {}
        self.total_estimate = _total_estimate(self.run)

    @property
    def run(self) -> SyncRun:
        return db.session.get(SyncRun, self.run_id)

    def execute(self) -> None:
        limit_hit = False
        pending: _Batch | None = None
        try:
            for models in self._batches(self.run.since):
                self.context.check_cancelled()
                prepared = self._prepare(models)
                if pending is not None:
                    self._finish(pending)
                pending = prepared
                if self.limit is not None and self.batched_count >= self.limit:
                    limit_hit = True
                    break
        except HubError:
            # The listing broke off: keep the batch whose details are already read, then fail the run.
            if pending is not None:
                self._finish(pending)
            raise
        if pending is not None:
            self._finish(pending)
        self._succeed(self.listing_complete and not limit_hit)

    def _batches(self, since: datetime | None) -> Iterator[list[HubModel]]:
        """Yield the listing in batches, stopping at the first model last modified before `since`."""
        self.context.progress(self.run.listed, self.total_estimate, "Listing models on the Hub…")
        batch: list[HubModel] = []
        for model in self.client.iter_models():
            if since is not None and model.last_modified is not None and model.last_modified < since:
                break
            batch.append(model)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        self.listing_complete = True
        if batch:
            yield batch

    def _prepare(self, models: list[HubModel]) -> _Batch:
        entries = self._fresh_entries(models)
        if self.limit is not None:
            entries = entries[:max(0, self.limit - self.batched_count)]
        self.batched_count += len(entries)
        details = {
            entry.model.repo_id: self.client.submit(self.client.fetch_details, entry.model.repo_id)
            for entry in entries if _needs_details(entry)
        }
        self._request_dataset_sizes(entries)
        return _Batch(models[-1], entries, details)

    def _finish(self, batch: _Batch) -> None:
        self.context.check_cancelled()
        # A model listed in two consecutive batches (the listing shifted) is written once.
        done = self._processed_ids([entry.model.repo_id for entry in batch.entries])
        entries = [entry for entry in batch.entries if entry.model.repo_id not in done]
        if not entries:
            return
        self._read_details(entries, batch.details)
        self._request_dataset_sizes(entries)
        self._read_dataset_sizes(entries)
        self._derive(entries)
        results = self._write(entries)
        self._report(batch.last, results)

    def _processed_ids(self, repo_ids: list[str]) -> set[str]:
        if not repo_ids:
            return set()
        return set(db.session.scalars(
            select(SyncItem.external_id).where(SyncItem.run_id == self.run_id, SyncItem.external_id.in_(repo_ids))
        ))

    def _fresh_entries(self, models: list[HubModel]) -> list[_Entry]:
        """Drop duplicates and the models this run already processed (before a crash or a page shift)."""
        unique: dict[str, HubModel] = {}
        for model in models:
            unique.setdefault(model.repo_id, model)
        done = self._processed_ids(list(unique))
        stored = store.load_synced(PROVIDER, [repo_id for repo_id in unique if repo_id not in done])
        return [_Entry(model, stored.get(repo_id)) for repo_id, model in unique.items() if repo_id not in done]

    def _read_details(self, entries: list[_Entry], details: dict[str, Future]) -> None:
        self._wait(details.values())
        for entry in entries:
            future = details.get(entry.model.repo_id)
            if future is None:
                entry.digest = derive.DetailsDigest.from_json(entry.stored.metadata.get("details"))
                continue
            result = future.result()
            if isinstance(result, HubError):
                entry.failure = Flag("details_failed", str(result))
            else:
                entry.digest, front = derive.digest_details(result, read_metadata=entry.model.card is None)
                if entry.model.card is None:
                    entry.readme = derive.readme_card(front)

    def _request_dataset_sizes(self, entries: list[_Entry]) -> None:
        for entry in entries:
            for dataset in derive.dataset_ids(entry.card().get("datasets")):
                if dataset not in self.dataset_sizes:
                    self.dataset_sizes[dataset] = self.client.submit(self.client.fetch_dataset_size, dataset)

    def _read_dataset_sizes(self, entries: list[_Entry]) -> None:
        self._wait(self.dataset_sizes[dataset] for entry in entries
                   for dataset in derive.dataset_ids(entry.card().get("datasets")))
        for entry in entries:
            if entry.failure is not None:
                continue
            sizes = {dataset: self._dataset_size(dataset) for dataset in derive.dataset_ids(entry.card().get("datasets"))}
            entry.dataset_sizes = sizes
            failed = [size for size in sizes.values() if size.failed]
            if failed:
                entry.failure = Flag("dataset_lookup_failed", f"Data set {failed[0].dataset_id}: {failed[0].reason}")

    def _wait(self, futures: Iterable[Future]) -> None:
        """Wait for Hub requests; meanwhile commit a heartbeat and check for cancellation every HEARTBEAT_SECONDS.

        Nothing of the current batch is written yet, so these commits only touch the run and its job.
        """
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=HEARTBEAT_SECONDS)
            if pending:
                run = self.run
                run.heartbeat_at = utcnow()
                self.context.progress(run.listed, message=f"{run.message} Waiting for {len(pending)} Hub requests…")
                self.context.check_cancelled()

    def _dataset_size(self, dataset: str) -> DatasetSize:
        result = self.dataset_sizes[dataset].result()
        if isinstance(result, HubError):
            return DatasetSize(dataset, None, f"lookup failed: {result}", failed=True)
        return result

    def _derive(self, entries: list[_Entry]) -> None:
        bases = store.base_emissions(PROVIDER, [base for entry in entries for base in _base_models(entry.card())])
        # Base models listed in the same batch count too, whichever comes first in the listing.
        # NOTE: a base model first synced in a later batch is only compared by the next sync that reads its derivative.
        for entry in entries:
            reading = cards.parse_co2(entry.card().get(cards.CO2_FIELD)) if entry.failure is None else None
            if reading is not None and reading.trusted:
                bases.setdefault(entry.model.repo_id, reading.grams)
        for entry in entries:
            if entry.failure is not None:
                continue
            try:
                entry.record = derive.derive_training(
                    entry.model, entry.digest, model_url=self.client.model_url(entry.model.repo_id),
                    dataset_sizes=entry.dataset_sizes, base_emissions=bases, readme=entry.readme,
                )
            except Exception as exc:  # noqa: BLE001 — one unreadable card must not stop the sync
                logger.error("Deriving the training of %s failed", entry.model.repo_id, exc_info=exc)
                entry.failure = Flag("internal_error", f"Reading the card failed: {type(exc).__name__}: {exc}")

    def _write(self, entries: list[_Entry]) -> list[_Result]:
        """Write the batch at once; when the database refuses it, write model by model so only the culprit fails."""
        try:
            results = self._save(entries)
            self._record(results)
            db.session.flush()
            return results
        except SQLAlchemyError as exc:
            logger.warning("Writing a batch of %d models failed; writing them one by one", len(entries), exc_info=exc)
            db.session.rollback()

        results = []
        for entry in entries:
            entry.stored = store.load_synced(PROVIDER, [entry.model.repo_id]).get(entry.model.repo_id)
            try:
                result = self._save([entry])[0]
                self._record([result])
                db.session.commit()
            except SQLAlchemyError as exc:
                db.session.rollback()
                logger.error("Writing model %s failed", entry.model.repo_id, exc_info=exc)
                result = _Result(entry.model.repo_id, SyncAction.FAILED, entry.model.last_modified, "write_failed",
                                 f"The database refused the model: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                self._record([result])
                db.session.commit()
            results.append(result)
        return results

    def _save(self, entries: list[_Entry]) -> list[_Result]:
        results: dict[str, _Result] = {}
        to_save = []
        for entry in entries:
            model = entry.model
            if entry.failure is not None:
                results[model.repo_id] = _Result(model.repo_id, SyncAction.FAILED, model.last_modified,
                                                 entry.failure.code, entry.failure.message)
            elif entry.record.skip is not None:
                results[model.repo_id] = _Result(model.repo_id, SyncAction.SKIPPED, model.last_modified,
                                                 entry.record.skip.code, entry.record.skip.message)
            else:
                to_save.append(entry)

        outcomes = store.save_records([(entry.record, entry.stored) for entry in to_save], self.catalogue, PROVIDER,
                                      self.run_id)
        db.session.flush()
        for entry, outcome in zip(to_save, outcomes, strict=True):
            record = entry.record
            changes = dict(outcome.changes)
            if outcome.action != SyncAction.UNCHANGED:
                changes.update(store.describe_selection(outcome.selection))
            results[entry.model.repo_id] = _Result(
                entry.model.repo_id, outcome.action, entry.model.last_modified,
                record.flags[0].code if record.flags else None,
                "; ".join([flag.message for flag in record.flags] + record.notes),
                [flag.as_dict() for flag in record.flags], changes, outcome.model_id,
            )
        return [results[entry.model.repo_id] for entry in entries]

    def _record(self, results: list[_Result]) -> None:
        """Add the sync items and update the run's counts, in the same transaction as the models."""
        run = self.run
        db.session.execute(insert(SyncItem), [{
            "run_id": self.run_id, "external_id": result.external_id[:300], "action": result.action.value,
            "reason": result.reason[:60] if result.reason else None, "message": result.message[:4000],
            "model_id": result.model_id, "last_modified": result.last_modified, "flags": result.flags,
            "changes": result.changes, "at": utcnow(),
        } for result in results])
        for result in results:
            run.listed += 1
            setattr(run, result.action.value, getattr(run, result.action.value) + 1)
            if result.flags and result.action in (SyncAction.CREATED, SyncAction.UPDATED, SyncAction.UNCHANGED):
                run.flagged += 1
            moment = result.last_modified
            if moment is not None and (run.newest_listed_at is None or moment > run.newest_listed_at):
                run.newest_listed_at = moment
            if result.action == SyncAction.FAILED:
                failed_at = moment or run.since or run.started_at
                if run.oldest_failure_at is None or failed_at < run.oldest_failure_at:
                    run.oldest_failure_at = failed_at
                self.context.log(f"{result.external_id}: {result.message}")

    def _report(self, last: HubModel, results: list[_Result]) -> None:
        run = self.run
        run.checkpoint = {
            "models": run.listed, "last_id": last.repo_id,
            "last_modified": last.last_modified.isoformat() if last.last_modified else None,
        }
        run.heartbeat_at = utcnow()
        message = (f"{run.listed} models read: {run.created} created, {run.updated} updated, "
                   f"{run.unchanged} unchanged, {run.skipped} skipped, {run.failed} failed.")
        run.message = message
        logger.info("Sync run %s: %s", self.run_id, message)
        self.context.progress(run.listed, self.total_estimate and max(self.total_estimate, run.listed), message)

    def _succeed(self, complete: bool) -> None:
        run = self.run
        run.complete = complete
        if complete:
            run.high_water_mark = run.oldest_failure_at or run.newest_listed_at or run.since
        run.state = SyncState.SUCCEEDED
        run.finished_at = run.heartbeat_at = utcnow()
        ending = "" if complete else " The limit stopped it before the end of the listing."
        run.message = (f"Finished: {run.listed} models read, {run.created} created, {run.updated} updated, "
                       f"{run.unchanged} unchanged, {run.skipped} skipped, {run.failed} failed.{ending}")
        db.session.commit()
        logger.info("Sync run %s: %s", self.run_id, run.message)


def _needs_details(entry: _Entry) -> bool:
    """Read details for new models, changed revisions and models listed without card data."""
    if entry.stored is None or entry.model.card is None or entry.model.sha is None:
        return True
    details = entry.stored.metadata.get("details") or {}
    return details.get("sha") != entry.model.sha


def _base_models(card: dict[str, Any]) -> list[str]:
    return [item for item in derive.as_list(card.get("base_model")) if isinstance(item, str)]


def _total_estimate(run: SyncRun) -> int | None:
    """Estimate how many models a run that reads the whole listing will read: the last such run's count."""
    if run.since is not None:
        return None
    return db.session.scalar(
        select(SyncRun.listed)
        .where(SyncRun.provider == run.provider, SyncRun.since.is_(None), SyncRun.complete.is_(True),
               SyncRun.id != run.id)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )

