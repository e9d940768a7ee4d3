"""Lists: a page as plain offset and limit, answered as (rows, total), and one search `q`.

The service layer never sees Flask or flask-smorest: a use case takes a `Page` and returns
its rows with the number of rows on every page together; `services.common.http.paginated`
is the one adapter between flask-smorest's pagination and these.

Search: a list declares its searchable columns once, as a `Search`; `Search.where(q)` is
the predicate and `Search.index(name)` the PostgreSQL index behind it.

- PostgreSQL: full text over `to_tsvector('simple', …)` of the columns, each word of `q`
  matched as a prefix, served by a GIN expression index. The 'simple' configuration keeps
  words as written (no stemming, no stop words), which suits numbers, OPD codes and
  Indonesian text alike. Characters that glue words into one token for PostgreSQL's
  parser (`/ . - _ @ :`) count as spaces, so `PPID-2026-000123` inside a case subject
  `requests/PPID-2026-000123` is found by its number or by any part of it.
- SQLite: each word of `q` must appear, case-insensitively (ASCII letters), as part of one
  of the columns (`LIKE`); no index, which suits the embedded mode's sizes.

Either way every word must match (AND), in any column, in any order. A `q` with no word
in it (empty, or punctuation only) filters nothing; a `q` longer than
`MAX_QUERY_LENGTH` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields
from sqlalchemy import Boolean, Column, Index, MetaData, Table, Text, and_, func, or_, select, text
from sqlalchemy.dialects import postgresql  # also registers func.to_tsvector's types
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.expression import ColumnElement

from services.common.errors import Invalid

DEFAULT_PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100
TOO_LONG = f"Kata pencarian paling banyak {MAX_QUERY_LENGTH} karakter."
NOT_TEXT = "Kata pencarian harus berupa teks."
Q_DESCRIPTION = (
    "Kata pencarian: setiap kata harus muncul (awal kata pada PostgreSQL, bagian teks pada "
    f"SQLite), tanpa membedakan huruf besar-kecil; paling banyak {MAX_QUERY_LENGTH} "
    "karakter; kosong berarti tanpa penyaring."
)

# Letters and digits; everything else separates words, as it does for the index.
_WORD = re.compile(r"[^\W_]+")
_GLUE = "/.-_@:"
# SQL text rather than literal columns or bound values: an index finds its table from the
# first column-like expression in it, which a literal column would be.
_SIMPLE = text("'simple'::regconfig")
_EMPTY = text("''")
_SPACE = text("' '")


@dataclass(frozen=True)
class Page:
    """Which rows of a list to answer: skip `offset`, then at most `limit`."""

    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.offset < 0 or self.limit < 1:
            raise ValueError(f"invalid page: offset {self.offset}, limit {self.limit}")

    def of(self, statement: Any) -> Any:
        """`statement` (a SQLAlchemy select) cut to this page."""
        return statement.offset(self.offset).limit(self.limit)


def count(session: Session, statement: Any) -> int:
    """How many rows `statement` selects, on every page together."""
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0


def fetch_page(session: Session, statement: Any, page: Page, *, rows: bool = False
               ) -> tuple[list[Any], int]:
    """(this page's results, total): ORM objects, or `Row`s with `rows=True` (a select of
    several entities or columns)."""
    total = count(session, statement)
    if total == 0 or page.offset >= total:
        return [], total
    cut = page.of(statement)
    results = session.execute(cut).all() if rows else session.scalars(cut).all()
    return list(results), total


def search_terms(q: str | None) -> list[str]:
    """The words of a search, lower case, each once; [] when there is nothing to search.

    Raises `Invalid` (422) for a `q` longer than `MAX_QUERY_LENGTH`, so the bound holds
    for every caller of a use case, not only for requests through the HTTP schema.
    """
    if q is None:
        return []
    if not isinstance(q, str):
        raise Invalid(NOT_TEXT, {"q": [NOT_TEXT]})
    if len(q) > MAX_QUERY_LENGTH:
        raise Invalid(TOO_LONG, {"q": [TOO_LONG]})
    return list(dict.fromkeys(_WORD.findall(q.lower())))


class Search:
    """The searchable text of one table: a few text columns (number, subject, OPD…).

    Never list personal data here: a search index is one more copy of what it covers.
    """

    def __init__(self, *columns: Any):
        if not columns:
            raise ValueError("a search needs at least one column")
        self.columns = columns

    def document(self) -> ColumnElement:
        """The text vector PostgreSQL searches, written exactly as the index is, so the
        planner recognises the index's expression in a query. Literals stay literal (no
        bound parameters) for the same reason."""
        joined = None
        for column in self.columns:
            part = func.coalesce(column, _EMPTY)
            joined = part if joined is None else joined.op("||")(_SPACE).op("||")(part)
        glued = func.translate(joined, text(f"'{_GLUE}'"), text(f"'{' ' * len(_GLUE)}'"))
        return func.to_tsvector(_SIMPLE, glued)

    def index(self, name: str) -> Index:
        """The GIN expression index of this search, created on PostgreSQL only (declare it
        beside the model; a migration creates it under the same name)."""
        return Index(name, self.document(), postgresql_using="gin").ddl_if(dialect="postgresql")

    def where(self, q: str | None) -> ColumnElement | None:
        """The predicate of `q`, or None when `q` holds no word."""
        terms = search_terms(q)
        return _Matches(self, tuple(terms)) if terms else None

    def apply(self, statement: Any, q: str | None) -> Any:
        """`statement` limited to the rows matching `q` (unchanged when `q` is empty)."""
        clause = self.where(q)
        return statement if clause is None else statement.where(clause)

    def _full_text(self, terms: Sequence[str]) -> ColumnElement:
        # Terms hold letters and digits only, so nothing in them is tsquery syntax.
        query = " & ".join(f"{term}:*" for term in terms)
        return self.document().op("@@")(func.to_tsquery(_SIMPLE, query))

    def _like(self, terms: Sequence[str]) -> ColumnElement:
        # Terms hold no LIKE wildcard (`%` and `_` are not word characters).
        return and_(*(or_(*(column.ilike(f"%{term}%") for column in self.columns))
                      for term in terms))


def search_index_ddl(name: str, table: str, columns: Sequence[str]) -> str:
    """The PostgreSQL `CREATE INDEX` of a search over `columns` of `table`, for a migration.

    Written by `Search.document()` itself, so the migrated index is the expression the
    queries repeat; an index written out by hand that differs by one cast is never used.
    """
    bare = Table(table, MetaData(), *(Column(column, Text) for column in columns))
    index = Search(*bare.c).index(name)
    return str(CreateIndex(index).compile(dialect=postgresql.dialect()))


def create_search_indexes(op, indexes: dict[str, tuple[str, Sequence[str]]]) -> None:
    """A migration's `upgrade`: each named index over (table, columns), on PostgreSQL only
    (SQLite searches with LIKE and has no such index)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns) in indexes.items():
        op.execute(search_index_ddl(name, table, columns))


def drop_search_indexes(op, indexes: dict[str, tuple[str, Sequence[str]]]) -> None:
    """The matching `downgrade`."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in indexes:
        op.execute(f"DROP INDEX IF EXISTS {name}")


class _Matches(ColumnElement):
    """A search predicate whose SQL depends on the database it is compiled for."""

    type = Boolean()
    inherit_cache = False
    # Already a condition: SQLite needs no "= 1" after it.
    _is_implicitly_boolean = True

    def __init__(self, search: Search, terms: tuple[str, ...]):
        self.search = search
        self.terms = terms


# In parentheses: the statement around sees one opaque element and adds none, and an OR
# inside must not bind looser than the AND of the other conditions (the OPD scope).
@compiles(_Matches)
def _compile_like(element: _Matches, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.search._like(element.terms), **kw)})"


@compiles(_Matches, "postgresql")
def _compile_full_text(element: _Matches, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.search._full_text(element.terms), **kw)})"


class SearchText(fields.String):
    """The query parameter `q` of a staff list, documented and bounded in one place."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("metadata", {"description": Q_DESCRIPTION, "maxLength": MAX_QUERY_LENGTH})
        kwargs.setdefault("error_messages", {"invalid": NOT_TEXT})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > MAX_QUERY_LENGTH:
            raise ValidationError(TOO_LONG)
        return text.strip() or None
