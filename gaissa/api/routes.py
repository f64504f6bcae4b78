"""The JSON API under /api/v1: the blueprint with every endpoint module's operations registered."""

from gaissa.api.blueprint import bp
from gaissa.api.endpoints import catalogue, evaluations, jobs, meta, models, roi  # noqa: F401  (register operations)

__all__ = ["bp"]
