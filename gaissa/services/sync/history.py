"""Read sync runs back for the admin screen: providers, the last successful run, history and run details."""

import math
import os
from dataclasses import dataclass

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Job
from gaissa.models.sync import COUNTED_ACTIONS, SyncItem, SyncRun, SyncState
from gaissa.services.connectors.huggingface import PROVIDER
from gaissa.services.sync import runner

RUNS_PER_PAGE = 20
ITEMS_PER_PAGE = 50


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    endpoint: str
    token_configured: bool


@dataclass(frozen=True)
class Overview:
    providers: list[Provider]
    last_success: SyncRun | None
    active_job: Job | None
    active_run: SyncRun | None
    # The run that the next sync would resume, if any.
    resumable_run: SyncRun | None
    runs: list[SyncRun]
    page: int
    pages: int


@dataclass(frozen=True)
class Progress:
    job: Job
    run: SyncRun | None


@dataclass(frozen=True)
class RunDetail:
    run: SyncRun
    items: list[SyncItem]
    action: str
    counts: dict[str, int]
    page: int
    pages: int


def overview(endpoint: str, page: int = 1) -> Overview:
    """Return what the sync screen shows: providers, last successful run, the active job and one page of runs."""
    providers = [Provider(PROVIDER, "Hugging Face", endpoint, bool(os.environ.get("HF_TOKEN")))]
    last_success = db.session.scalar(
        select(SyncRun).where(SyncRun.provider == PROVIDER, SyncRun.state == SyncState.SUCCEEDED)
        .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1)
    )
    active_job = runner.find_active_job()
    active_run = None
    if active_job is not None:
        active_run = db.session.scalar(select(SyncRun).where(SyncRun.job_id == active_job.id))
    latest = db.session.scalar(
        select(SyncRun).where(SyncRun.provider == PROVIDER).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1)
    )
    resumable = latest if latest is not None and active_job is None and latest.state != SyncState.SUCCEEDED else None

    total = db.session.scalar(select(func.count(SyncRun.id)).where(SyncRun.provider == PROVIDER)) or 0
    pages = max(1, math.ceil(total / RUNS_PER_PAGE))
    page = min(max(1, page), pages)
    runs = db.session.scalars(
        select(SyncRun).where(SyncRun.provider == PROVIDER)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .offset((page - 1) * RUNS_PER_PAGE).limit(RUNS_PER_PAGE)
    ).all()
    return Overview(providers, last_success, active_job, active_run, resumable, list(runs), page, pages)


def progress(job_id: str) -> Progress | None:
    """Return a sync job and its run for the progress panel, or None for an unknown job."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != runner.JOB_KIND:
        return None
    run = db.session.scalar(select(SyncRun).where(SyncRun.job_id == job.id))
    return Progress(job, run)


def run_detail(run_id: int, action: str = "", page: int = 1) -> RunDetail | None:
    """Return one run with one page of its items, optionally only those with one action."""
    run = db.session.get(SyncRun, run_id)
    if run is None:
        return None
    action = action if action in COUNTED_ACTIONS else ""
    counts = dict(db.session.execute(
        select(SyncItem.action, func.count(SyncItem.id)).where(SyncItem.run_id == run.id).group_by(SyncItem.action)
    ).all())

    query = select(SyncItem).where(SyncItem.run_id == run.id)
    count_query = select(func.count(SyncItem.id)).where(SyncItem.run_id == run.id)
    if action:
        query = query.where(SyncItem.action == action)
        count_query = count_query.where(SyncItem.action == action)
    total = db.session.scalar(count_query) or 0
    pages = max(1, math.ceil(total / ITEMS_PER_PAGE))
    page = min(max(1, page), pages)
    items = db.session.scalars(
        query.order_by(SyncItem.id).offset((page - 1) * ITEMS_PER_PAGE).limit(ITEMS_PER_PAGE)
    ).all()
    return RunDetail(run, list(items), action, {name: counts.get(name, 0) for name in COUNTED_ACTIONS}, page, pages)
