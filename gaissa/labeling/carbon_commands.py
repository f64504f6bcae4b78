"""The import-carbon-intensity command: load Our World in Data's carbon intensity of electricity."""

from pathlib import Path

import click

from gaissa.cli import gaissa_group
from gaissa.extensions import db

# Exit status for a file that cannot be read or imported (click uses 2 for usage errors too).
EXIT_BAD_FILE = 2


@gaissa_group.command("import-carbon-intensity")
@click.option(
    "--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="OWID carbon-intensity CSV (g or kg CO2eq/kWh) to import. "
         "Default: the copy shipped in gaissa/data/owid-carbon-intensity-electricity.csv.",
)
def import_carbon_intensity_command(path: Path | None) -> None:
    """Import or update the carbon intensity of electricity per country and year; safe to run again."""
    from gaissa.services import carbon

    source = path or carbon.DEFAULT_FILE
    click.echo(f"Reading {source}")
    try:
        data = source.read_bytes()
    except OSError as exc:
        click.echo(f"Error: cannot read {source}: {exc.strerror or exc}. Give an existing CSV file with --file.", err=True)
        raise SystemExit(EXIT_BAD_FILE) from None

    try:
        counts = carbon.import_owid(data)
    except carbon.CarbonFileError as exc:
        db.session.rollback()
        click.echo(f"Error: {source} was not imported: {exc}", err=True)
        raise SystemExit(EXIT_BAD_FILE) from None
    db.session.commit()

    click.echo(
        f"Carbon intensities imported: {counts.created} created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged; {counts.countries_created} countries and aggregates created."
    )
