"""Diacritics-insensitive, ranked search over number/symbol, subject and extracted text.

`documents.search_text` is already folded (backend.documents.textnorm), so SQLite's FTS5 and
PostgreSQL's 'simple' text search both see ASCII words; the query is folded the same way. Every
word must match; the last one, still being typed, as a prefix ("quyet di" → quyet AND di*).
A prefix on every word made common short words ("bo:*", "can:*") merge huge posting lists.

On PostgreSQL at a million documents, ranking every match of a common word ("quyết định" in
a fiftieth of all documents, "ubnd" in a tenth) cost 200–650 ms. A page is now a window: the
newest `limit` matches, shown most relevant first, then newest; the next page is the next window
back in time (`before`), so no match is skipped. The newest matches of a common word come from
reading the date index backwards (`_newest_ranked`), those of a rare word from the text index.

The text index (migration 0019) holds three columns, intersected in one index scan: the words,
their beginnings (the last word, still being typed, is an exact key there, not a prefix match),
and who each document was given to (`queries.access_keys`). A unit head or a specialist's
matches are found by those keys instead of by the scope's assignment lookups, which the planner
costs on every row it might read; the scope then checks the page.

The planner chooses between the date index and the text index from the words' statistics, so
each search is planned for its own words (`force_custom_plan`): asyncpg prepares statements, and
from a statement's sixth run PostgreSQL may keep a generic plan made without the words, which
read the date index for words no document has (90–100 ms each, where the text index answers in
3 ms).

Measured with bench/bench_search.py at 1,000,000 documents with bench_dashboard.py's handling
(1.5 million assignments), one client: see docs/deploy.md, "Search at a million documents".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Select,
    Subquery,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.queries import AccessKeys, Cursor
from backend.documents.tables import Document
from backend.documents.textnorm import fold

MAX_TERMS = 12
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by its timeout
# PostgreSQL's stored search columns (migrations 0018 and 0019; not in the SQLAlchemy model,
# which SQLite shares): the words, their beginnings, and who the document is given to.
VECTOR: ColumnClause[Any] = literal_column("documents.search_vector")
PREFIXES: ColumnClause[Any] = literal_column("documents.search_prefixes")
ACCESS_KEYS: ColumnClause[Any] = literal_column("documents.access_keys")
# A last word `PREFIXES` holds the beginnings of: 2 to 16 letters and digits (migration 0019).
_KEPT_BEGINNING = re.compile(r"[a-z0-9]{2,16}")


@dataclass(frozen=True)
class Found:
    documents: list[Document]
    # More (older) matches may exist before this one: the next page's `before`.
    older_than: Cursor | None = None


def query_terms(query: str) -> list[str]:
    return fold(query).split()[:MAX_TERMS]


def _words(terms: list[str]) -> list[str]:
    # to_tsquery's operators and quotes are not the user's to write.
    clean = ["".join(c for c in t if c not in "&|!():*'\\<>") for t in terms]
    return [t for t in clean if t]


def _tsquery_text(words: list[str]) -> str:
    return " & ".join([*words[:-1], f"{words[-1]}:*"])


def _text_match(words: list[str]) -> ColumnElement[bool]:
    """Every word, the last one as a beginning. The beginning is an exact key of `PREFIXES`
    when that column holds it; a prefix match on the vector otherwise (migration 0019 says why
    that is slower)."""
    *whole, last = words
    if not _KEPT_BEGINNING.fullmatch(last):
        return VECTOR.op("@@")(func.to_tsquery("simple", _tsquery_text(words)))
    begins = PREFIXES.op("@@")(func.to_tsquery("simple", last))
    if not whole:
        return begins
    return and_(VECTOR.op("@@")(func.to_tsquery("simple", " & ".join(whole))), begins)


# How long reading the date index backwards may take before the text index is asked instead.
# Chosen with bench_search.py at a million documents: 30 ms took a leader's p95 from 33 to 32 ms
# and a word no document has from 88 to 34 ms. Narrower scopes had 80 while their text-index
# answer checked every match against the assignments; with the access keys (migration 0019),
# 30 and 80 measured the same for them (p95 within 12–55 ms run to run), so one budget serves.
INDEX_ORDER_BUDGET_MS = 30


@dataclass(frozen=True)
class _Window:
    matching: Select[int, datetime]  # ids and dates of the matches
    scope: ColumnElement[bool]  # checked again on the window (the access keys only narrow)
    rank: ColumnElement[Any]
    limit: int

    def ranked(self, candidates: Subquery) -> Select[Any]:
        # Ranked once the window is chosen: ts_rank reads each document's vector.
        return (
            select(Document)
            .join(candidates, candidates.c.id == Document.id)
            .where(self.scope)
            .order_by(self.rank.desc(), candidates.c.created_at.desc(), candidates.c.id.desc())
        )


async def _newest_ranked(db: AsyncSession, window: _Window) -> list[Document]:
    """The newest matches, ranked. A common word's newest matches are found at once by reading
    the date index backwards, which the planner prefers for any word it has no statistics for;
    for a word that is rare or absent that read goes through the whole agency (half a second at
    a million documents). So it gets `INDEX_ORDER_BUDGET_MS`; past that, the matches are taken
    from the text index (few, for such a word), then ordered."""
    newest = window.matching.order_by(Document.created_at.desc(), Document.id.desc()).limit(
        window.limit
    )
    try:
        async with db.begin_nested():
            before = await db.scalar(
                text("SELECT current_setting('statement_timeout')"),
            )
            await db.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(INDEX_ORDER_BUDGET_MS)},
            )
            found: list[Document] = list(await db.scalars(window.ranked(newest.subquery())))
            await db.execute(
                text("SELECT set_config('statement_timeout', :was, true)"), {"was": before}
            )
            return found
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
    # Matches first (a materialised CTE: the planner must use the text index), then the newest.
    matches = window.matching.cte("matches").prefix_with("MATERIALIZED")
    newest_matches = (
        select(matches)
        .order_by(matches.c.created_at.desc(), matches.c.id.desc())
        .limit(window.limit)
        .subquery()
    )
    return list(await db.scalars(window.ranked(newest_matches)))


async def search(
    db: AsyncSession,
    *,
    query: str,
    scope: ColumnElement[bool],
    keys: AccessKeys | None = None,
    limit: int = 20,
    before: Cursor | None = None,
) -> Found:
    """Documents matching every word of `query` within `scope`, best first. On PostgreSQL: the
    newest `limit` matches (created before `before` when given), best first; on SQLite the
    best `limit` of all matches.

    `keys` are the scope's access keys (`queries.access_keys`), None for a whole-agency scope.
    On PostgreSQL the matches are found by them, in the text index, instead of by `scope`, whose
    assignment lookups the planner costs on every row; `scope` then checks the page."""
    terms = query_terms(query)
    if not terms:
        return Found([])
    if db.get_bind().dialect.name == "postgresql":
        words = _words(terms)
        if not words:
            return Found([])
        narrowed = (
            scope
            if keys is None
            else and_(
                Document.agency_id == keys.agency_id,
                ACCESS_KEYS.op("&&")(literal(list(keys.keys), ARRAY(Integer))),
            )
        )
        matching = select(Document.id.label("id"), Document.created_at.label("created_at")).where(
            narrowed, _text_match(words)
        )
        if before is not None:
            matching = matching.where(
                or_(
                    Document.created_at < before.created_at,
                    and_(Document.created_at == before.created_at, Document.id < before.id),
                )
            )
        # Planned for these words, not by a cached generic plan (the module's docstring), and
        # not compiled: JIT, past its cost threshold, added 12 ms to a 100 ms plan.
        await db.execute(
            text(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                "set_config('jit', 'off', true)"
            )
        )
        rank = func.ts_rank(VECTOR, func.to_tsquery("simple", _tsquery_text(words)))
        documents = await _newest_ranked(db, _Window(matching, scope, rank, limit))
        if len(documents) < limit:
            return Found(documents)
        oldest = min(documents, key=lambda d: (d.created_at, d.id))
        return Found(documents, Cursor(oldest.created_at, oldest.id))
    else:
        quoted = [t.replace('"', "") for t in terms]
        match = " AND ".join([*(f'"{t}"' for t in quoted[:-1]), f'"{quoted[-1]}"*'])
        hits = (
            select(
                literal_column("rowid").label("id"),
                literal_column("bm25(documents_fts)").label("score"),
            )
            .select_from(text("documents_fts"))
            .where(text("documents_fts MATCH :match"))
            .subquery()
        )
        statement = (
            select(Document)
            .join(hits, hits.c.id == Document.id)
            .where(scope)
            .order_by(hits.c.score, Document.created_at.desc(), Document.id.desc())
            .limit(limit)
            .params(match=match)
        )
    return Found(list(await db.scalars(statement)))
