"""GAISSALabel commands: seed the catalogue and demo data, rate files or values without a server."""

import click

from gaissa.cli import gaissa_group
from gaissa.extensions import db


@gaissa_group.command("seed")
@click.option("--demo/--no-demo", default=False, help="Also add demo models and evaluations (idempotent).")
def seed_command(demo: bool) -> None:
    """Create the default catalogue (grades, metrics, scheme v1, fields, tools); safe to run again."""
    from gaissa.services import seed

    created = seed.seed_catalogue()
    try:
        from gaissa.services import roi_seed
    except ImportError:
        roi_seed = None
    if roi_seed is not None:
        created.update(roi_seed.seed_roi_catalogue())
    if demo:
        created.update(seed.seed_demo())
    db.session.commit()
    click.echo("Seeded: " + ", ".join(f"{count} {name}" for name, count in created.items()))
