"""URL converters shared by every blueprint."""

from werkzeug.routing import IntegerConverter

# The largest id a 64-bit INTEGER column (SQLite, PostgreSQL BIGINT) holds.
MAX_DATABASE_INTEGER = 2**63 - 1


class DatabaseInteger(IntegerConverter):
    """`<int:…>` limited to what the database can store: a larger id is not found (404) instead of an error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 — the name Werkzeug passes
        kwargs.setdefault("max", MAX_DATABASE_INTEGER)
        super().__init__(map, *args, **kwargs)
