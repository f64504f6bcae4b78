"""Command-line commands of this feature, attached to the `gaissa` group."""

from gaissa.cli import gaissa_group  # noqa: F401
