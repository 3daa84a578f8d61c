"""Search: one folded text per return (what the board's search box looks in), and the typed words folded alike."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, FunctionElement, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler

MIN_WORD = 3  # a trigram index finds words of three characters or more
KEY_CHARS = 8  # how much of a long word the index looks up (lookup_key)
SQLITE_INDEX = "returns_search"  # the FTS5 trigram table over returns.search_text (migration 0005)

# letters that NFKD does not take apart, but that people type without their stroke
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"})
# how German writes umlauts without them: "Müller" is also found as "mueller"
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def fold(text: str) -> str:
    """Lower case without accents: "Müller" -> "muller", "STRAßE" -> "strasse", "Søren" -> "soren"."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    return "".join(c for c in text if not unicodedata.combining(c))


def searchable(values: Iterable[str | None]) -> str:
    """The searchable text of a return's fields: each folded, and German umlauts also spelled out."""
    words: list[str] = []
    for value in values:
        if not value:
            continue
        folded = fold(value)
        words.append(folded)
        spelled = fold(unicodedata.normalize("NFC", value.casefold()).translate(_UMLAUTS))
        if spelled != folded:
            words.append(spelled)
    return " ".join(" ".join(w.split()) for w in words)


def words(query: str) -> list[str]:
    """The typed words, folded as the stored text is, without repeats; each one must match."""
    return list(dict.fromkeys(fold(query).split()))


def problem(query: str) -> str | None:
    """Why a typed search cannot be run, or None: at least one word needs MIN_WORD characters."""
    if not query.strip() or any(len(w) >= MIN_WORD for w in words(query)):
        return None
    return f"Type at least {MIN_WORD} letters or digits to search: “{query.strip()}” is too short."


def like_pattern(word: str) -> str:
    """A LIKE pattern for a word anywhere in the text (escape "\\"): % and _ typed are searched for literally."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def lookup_key(word: str) -> str:
    """The part of a word the index looks up (the rest is checked on the rows it finds): its last KEY_CHARS.

    Identifiers share their beginnings ("jjd0146…", "rma-10…", "ord-5…"): the trigrams there are in nearly
    every row, and an index that must intersect them reads most of itself. Their ends tell them apart.
    """
    return word[-KEY_CHARS:]


def fts_query(found: Iterable[str]) -> str:
    """An FTS5 query that needs the lookup key of every word of MIN_WORD or more characters as a substring."""
    return " AND ".join('"' + lookup_key(w).replace('"', '""') + '"' for w in found if len(w) >= MIN_WORD)


class in_sqlite_index(FunctionElement[bool]):
    """On SQLite: the row id is among the FTS5 trigram index's matches; elsewhere always true (LIKE uses pg_trgm)."""

    type = Boolean()
    inherit_cache = True
    name = "in_sqlite_index"
    _is_implicitly_boolean = True  # a condition: SQLite must not get "(… IN …) = 1", which no index serves

    def __init__(self, row_id: ColumnElement[Any] | InstrumentedAttribute[Any], query: str) -> None:
        super().__init__(row_id, literal(query))


@compiles(in_sqlite_index, "sqlite")
def _in_sqlite_index(element: in_sqlite_index, compiler: SQLCompiler, **kw: Any) -> str:
    row_id, query = element.clauses
    return (
        f"{compiler.process(row_id, **kw)} IN "
        f"(SELECT rowid FROM {SQLITE_INDEX} WHERE {SQLITE_INDEX} MATCH {compiler.process(query, **kw)})"
    )


@compiles(in_sqlite_index)
def _elsewhere(element: in_sqlite_index, compiler: SQLCompiler, **kw: Any) -> str:
    return "true"
