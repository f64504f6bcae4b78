"""`gaissa refresh-pages`: make every web process drop its cached pages."""

import click

from gaissa.cli import gaissa_group
from gaissa.extensions import db
from gaissa.services import content_version


@gaissa_group.command("refresh-pages")
def refresh_pages_command() -> None:
    """Drop the cached public pages of every web process (after changing the database by hand)."""
    content_version.renew()
    db.session.commit()
    click.echo("New content token written: every web process renders its public pages afresh from now on.")
