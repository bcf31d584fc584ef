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

The planner chooses between the two from the words' statistics, so each search is planned for
its own words (`force_custom_plan`): asyncpg prepares statements, and from a statement's sixth
run PostgreSQL may keep a generic plan made without the words, which read the date index for
words no document has (90–100 ms each, where the text index answers in 3 ms).

Measured with bench/bench_search.py at 1,000,000 documents with bench_dashboard.py's handling
(1.5 million assignments), one client, p50 / p95 in ms, the newest-50 list 1.9 / 2.6 in the same
run: a leader 5 / 31 (words no document has: 3 / 35); a unit head 9 / 168 (one query of
thirteen, "bao cao quy", whose prefix "quy:*" also matches every "quyết", takes 165; the others
≤ 50); the specialist given the most documents (20,930) 50 / 83.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Select,
    Subquery,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.queries import Cursor
from backend.documents.tables import Document
from backend.documents.textnorm import fold

MAX_TERMS = 12
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by its timeout
# PostgreSQL's stored search vector (migration 0018; not in the SQLAlchemy model, which SQLite
# shares).
VECTOR: ColumnClause[Any] = literal_column("documents.search_vector")


@dataclass(frozen=True)
class Found:
    documents: list[Document]
    # More (older) matches may exist before this one: the next page's `before`.
    older_than: Cursor | None = None


def query_terms(query: str) -> list[str]:
    return fold(query).split()[:MAX_TERMS]


def _tsquery_text(terms: list[str]) -> str:
    # to_tsquery's operators and quotes are not the user's to write.
    clean = ["".join(c for c in t if c not in "&|!():*'\\<>") for t in terms]
    words = [t for t in clean if t]
    if not words:
        return ""
    return " & ".join([*words[:-1], f"{words[-1]}:*"])


# How long reading the date index backwards may take before the text index is asked instead.
# The text index's answer costs the words' matches in the agency, each checked against the
# scope: free for a whole-agency scope (a leader, a clerk), an assignment lookup for a narrower
# one (a unit head, a specialist). So a whole-agency search gives up on the date index sooner.
# Chosen with bench_search.py at a million documents: 30 ms took a leader's p95 from 33 to 32 ms
# and a word no document has from 88 to 34 ms; for the busiest specialist it took p95 from 86
# to 250 ms, so narrower scopes keep 80.
INDEX_ORDER_BUDGET_MS = 80
WHOLE_AGENCY_BUDGET_MS = 30


def _ranked(candidates: Subquery) -> Select[Any]:
    return (
        select(Document)
        .join(candidates, candidates.c.id == Document.id)
        .order_by(candidates.c.rank.desc(), candidates.c.created_at.desc(), candidates.c.id.desc())
    )


async def _newest_ranked(
    db: AsyncSession, matching: Select[Any], limit: int, budget_ms: int
) -> list[Document]:
    """The newest matches, ranked. A common word's newest matches are found at once by reading
    the date index backwards, which the planner prefers for any word it has no statistics for;
    for a word that is rare or absent that read goes through the whole agency (half a second at
    a million documents). So it gets `budget_ms`; past that, the matches are taken
    from the text index (few, for such a word), then ordered."""
    newest = matching.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit)
    try:
        async with db.begin_nested():
            before = await db.scalar(
                text("SELECT current_setting('statement_timeout')"),
            )
            await db.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(budget_ms)},
            )
            found: list[Document] = list(await db.scalars(_ranked(newest.subquery())))
            await db.execute(
                text("SELECT set_config('statement_timeout', :was, true)"), {"was": before}
            )
            return found
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
    # Matches first (a materialised CTE: the planner must use the text index), then the newest.
    matches = matching.cte("matches").prefix_with("MATERIALIZED")
    window = (
        select(matches)
        .order_by(matches.c.created_at.desc(), matches.c.id.desc())
        .limit(limit)
        .subquery()
    )
    return list(await db.scalars(_ranked(window)))


async def search(
    db: AsyncSession,
    *,
    query: str,
    scope: ColumnElement[bool],
    whole_agency: bool = False,
    limit: int = 20,
    before: Cursor | None = None,
) -> Found:
    """Documents matching every word of `query` within `scope`, best first. On PostgreSQL: the
    newest `limit` matches (created before `before` when given), best first; on SQLite the
    best `limit` of all matches."""
    terms = query_terms(query)
    if not terms:
        return Found([])
    if db.get_bind().dialect.name == "postgresql":
        text_query = _tsquery_text(terms)
        if not text_query:
            return Found([])
        tsquery = func.to_tsquery("simple", text_query)
        matching = select(
            Document.id.label("id"),
            Document.created_at.label("created_at"),
            func.ts_rank(VECTOR, tsquery).label("rank"),
        ).where(scope, VECTOR.op("@@")(tsquery))
        if before is not None:
            matching = matching.where(
                or_(
                    Document.created_at < before.created_at,
                    and_(Document.created_at == before.created_at, Document.id < before.id),
                )
            )
        # Planned for these words, not by a cached generic plan (the module's docstring).
        await db.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
        budget = WHOLE_AGENCY_BUDGET_MS if whole_agency else INDEX_ORDER_BUDGET_MS
        documents = await _newest_ranked(db, matching, limit, budget)
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
