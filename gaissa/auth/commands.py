"""Account commands: `flask --app wsgi gaissa create-manager EMAIL`."""

import os

import click

from gaissa.cli import gaissa_group
from gaissa.extensions import db

PASSWORD_VARIABLE = "GAISSA_MANAGER_PASSWORD"


@gaissa_group.command("create-manager")
@click.argument("email")
@click.option("--update", is_flag=True,
              help="If the user exists, set this password and make it an active QA manager.")
def create_manager_command(email: str, update: bool) -> None:
    """Create a QA manager account; the password is prompted for, or read from GAISSA_MANAGER_PASSWORD."""
    from gaissa.services import accounts

    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        click.echo(f"Using the password from {PASSWORD_VARIABLE}.")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    try:
        user, created = accounts.create_manager(email, password, update=update)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    verb = "Created" if created else "Updated"
    click.echo(f"{verb} QA manager {user.email}. Log in at /auth/login.")
