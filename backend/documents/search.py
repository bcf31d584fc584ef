"""Diacritics-insensitive, ranked search over number/symbol, subject and extracted text.

`documents.search_text` is already folded (backend.documents.textnorm), so SQLite's FTS5 and
PostgreSQL's 'simple' text search both see ASCII words; the query is folded the same way. Every
word must match; the last one, still being typed, as a prefix ("quyet di" → quyet AND di*).
A prefix on every word made common short words ("bo:*", "can:*") merge huge posting lists.

On PostgreSQL at a million documents, ranking every match of a common word ("quyết định" in a
tenth of all documents) cost 200–650 ms. A page is now a window: the newest `limit` matches
(found through the date index for common words, through the text index for rare ones — the
planner picks by the words' statistics), shown most relevant first, then newest; the next page
is the next window back in time (`before`), so no match is skipped. Measured on the benchmark's
queries at 1,000,000 documents: see bench/bench_documents.py and the closing note of #14.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, and_, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.queries import Cursor
from backend.documents.tables import Document
from backend.documents.textnorm import fold

MAX_TERMS = 12
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


async def search(
    db: AsyncSession,
    *,
    query: str,
    scope: ColumnElement[bool],
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
        newest = (
            select(
                Document.id.label("id"),
                Document.created_at.label("created_at"),
                func.ts_rank(VECTOR, tsquery).label("rank"),
            )
            .where(scope, VECTOR.op("@@")(tsquery))
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit)
        )
        if before is not None:
            newest = newest.where(
                or_(
                    Document.created_at < before.created_at,
                    and_(Document.created_at == before.created_at, Document.id < before.id),
                )
            )
        picked = newest.subquery()
        documents = list(
            await db.scalars(
                select(Document)
                .join(picked, picked.c.id == Document.id)
                .order_by(picked.c.rank.desc(), picked.c.created_at.desc(), picked.c.id.desc())
            )
        )
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
