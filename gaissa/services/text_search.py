"""Substring conditions that ignore letter case in any script, and accents on Latin and Greek letters.

SQLite's lower() and LIKE fold ASCII letters only, so on SQLite the folding is Python's str.casefold, registered
on each connection as a deterministic SQL function by install(). On PostgreSQL, lower() folds Unicode letters
when the database's LC_CTYPE is a UTF-8 locale (C.UTF-8, en_US.UTF-8 and the like). The final sigma and the
sharp s are then mapped as str.casefold maps them, so "ΛΟΓΟΣ" finds "λογος" and "STRASSE" finds "straße".
Both databases then drop the accents of the same list of letters, so "eclair" finds "Éclair".
"""

import unicodedata

from sqlalchemy import String, event, literal
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "gaissa_casefold"
LIKE_ESCAPE = "\\"


def _accent_pairs() -> tuple[str, str]:
    """Return lowercase Latin and Greek letters with accents, and the same letters without them ("é" and "e").

    Only letters whose accent-free form is one letter of the same script are listed. Cyrillic is left out on
    purpose, because й and ё are letters of their own there.
    """
    accented, plain = [], []
    for code in [*range(0xC0, 0x250), *range(0x370, 0x400)]:
        letter = chr(code)
        if letter.lower() != letter or letter.casefold() != letter:
            continue
        base = "".join(part for part in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(part))
        if len(base) == 1 and base.isalpha() and base != letter:
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


_ACCENTED, _PLAIN = _accent_pairs()
_WITHOUT_ACCENTS = str.maketrans(_ACCENTED, _PLAIN)


class casefold(FunctionElement):
    """SQL expression for its argument in one letter case and without accents, for comparisons that ignore both."""

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
    folded = f"replace(translate(lower({compiler.process(element.clauses, **kw)}), 'ς', 'σ'), 'ß', 'ss')"
    return f"translate({folded}, '{_ACCENTED}', '{_PLAIN}')"


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
    return value.casefold().translate(_WITHOUT_ACCENTS) if isinstance(value, str) else value
