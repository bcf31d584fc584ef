"""Diacritics-insensitive, ranked search over number/symbol, subject and extracted text.

`documents.search_text` is already folded (backend.documents.textnorm), so SQLite's FTS5 and
PostgreSQL's 'simple' text search both see ASCII words; the query is folded the same way and
every word must match as a prefix ("quyet dinh" → quyet* AND dinh*).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.tables import Document
from backend.documents.textnorm import fold

MAX_TERMS = 12


def query_terms(query: str) -> list[str]:
    return fold(query).split()[:MAX_TERMS]


async def search(
    db: AsyncSession,
    *,
    query: str,
    scope: ColumnElement[bool],
    limit: int = 20,
) -> list[Document]:
    """Documents matching every word of `query` within `scope`, best first."""
    terms = query_terms(query)
    if not terms:
        return []
    if db.get_bind().dialect.name == "postgresql":
        tsquery = func.to_tsquery("simple", " & ".join(f"{t}:*" for t in terms))
        vector = func.to_tsvector("simple", Document.search_text)
        rank = func.ts_rank(vector, tsquery)
        statement = (
            select(Document)
            .where(scope, vector.op("@@")(tsquery))
            .order_by(rank.desc(), Document.created_at.desc(), Document.id.desc())
            .limit(limit)
        )
    else:
        match = " AND ".join(f'"{t}"*' for t in terms)
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
    return list(await db.scalars(statement))
