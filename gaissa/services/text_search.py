"""Case-insensitive substring conditions that fold any Unicode text, on SQLite and on PostgreSQL.

SQLite's lower() and LIKE fold ASCII letters only, so on SQLite the folding is Python's str.casefold, registered
on each connection as a deterministic SQL function by install(). On PostgreSQL, lower() folds Unicode letters
when the database's LC_CTYPE is a UTF-8 locale (C.UTF-8, en_US.UTF-8 and the like). The final sigma and the
sharp s are then mapped as str.casefold maps them, so "ΛΟΓΟΣ" finds "λογος" and "STRASSE" finds "straße".
"""

from sqlalchemy import String, event, literal
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "gaissa_casefold"
LIKE_ESCAPE = "\\"


class casefold(FunctionElement):
    """SQL expression for its argument folded to one case, for comparisons that ignore case."""

    type = String()
    inherit_cache = True


@compiles(casefold)
def _compile_default(element, compiler, **kw) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "sqlite")
def _compile_sqlite(element, compiler, **kw) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "postgresql")
def _compile_postgresql(element, compiler, **kw) -> str:
    # NOTE: with LC_CTYPE "C" (not "C.UTF-8") PostgreSQL's lower() folds ASCII letters only.
    return f"replace(translate(lower({compiler.process(element.clauses, **kw)}), 'ς', 'σ'), 'ß', 'ss')"


def contains_text(column, text: str):
    """Build a condition that `column` contains `text` in any letter case. The characters % and _ match only themselves.

    The database folds both sides with the same function, so any stored text finds itself.
    """
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    pattern = literal("%") + casefold(literal(escaped)) + literal("%")
    return casefold(column).like(pattern, escape=LIKE_ESCAPE)


def install(engine: Engine) -> None:
    """Register the casefold SQL function on each new connection of a SQLite engine; other engines need nothing."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _register_sqlite_function):
        return
    event.listen(engine, "connect", _register_sqlite_function)


def _register_sqlite_function(dbapi_connection, _connection_record) -> None:
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, _casefold_value, deterministic=True)


def _casefold_value(value):
    return value.casefold() if isinstance(value, str) else value
