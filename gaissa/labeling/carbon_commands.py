"""The import-carbon-intensity command."""

from gaissa.cli import gaissa_group  # noqa: F401
