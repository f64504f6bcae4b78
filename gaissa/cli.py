"""The `flask --app wsgi gaissa …` command group; each feature adds its commands from its own module."""

from flask.cli import AppGroup

gaissa_group = AppGroup("gaissa", help="GAISSA Tools administration and rating commands.")


def _load_commands() -> None:
    from gaissa.auth import commands as _auth  # noqa: F401
    from gaissa.labeling import carbon_commands as _carbon  # noqa: F401
    from gaissa.labeling import commands as _labeling  # noqa: F401
    from gaissa.measure import commands as _measure  # noqa: F401
    from gaissa.roi import commands as _roi  # noqa: F401
    from gaissa.sync import commands as _sync  # noqa: F401
    from gaissa.web import commands as _web  # noqa: F401


_load_commands()
