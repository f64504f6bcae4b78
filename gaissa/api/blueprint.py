"""The API blueprint and its operation registry; the endpoint modules add their operations to it."""

from flask import Blueprint

from gaissa.api import access
from gaissa.api.registry import ApiRegistry

bp = Blueprint("api", __name__)
api = ApiRegistry(bp)
access.install(bp, api)
