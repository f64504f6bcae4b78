"""`flask --app wsgi gaissa sync-hf`: run a Hugging Face sync in the foreground, for cron."""

import click

from gaissa.cli import gaissa_group
from gaissa.models.sync import SyncState
from gaissa.services.sync import runner


@gaissa_group.command("sync-hf")
@click.option("--full", is_flag=True, help="Read every listed model, not only those changed since the last sync.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many models (the high-water mark then stays where it was).")
def sync_hf(full: bool, limit: int | None) -> None:
    """Import the Hugging Face models whose cards declare co2_eq_emissions, and print the counts."""
    try:
        job, run = runner.run_in_foreground(runner.SyncOptions(full=full, limit=limit))
    except runner.SyncAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from exc

    if run is None:
        raise click.ClickException(f"The sync did not start: {job.error or job.message}")
    click.echo(f"Sync run {run.id} {run.state}: {run.message}")
    for name, count in run.counts().items():
        click.echo(f"  {name:<9} {count}")
    if run.state != SyncState.SUCCEEDED:
        raise click.ClickException(run.error or run.message)
