"""The JSON API under /api/v1: the blueprint with every endpoint module's operations registered."""

from gaissa.api.blueprint import bp

# Imported for their side effect of registering operations, in the order the docs list them.
from gaissa.api.endpoints import meta, models, evaluations, catalogue, roi, jobs  # noqa: F401, I001

__all__ = ["bp"]
