"""Reading documents: one with its files, and the rows of a register for a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import NotFoundError
from backend.documents.queries import start_of
from backend.documents.tables import Document, DocumentFile, FileVersion


def not_found() -> NotFoundError:
    return NotFoundError(
        "Không tìm thấy văn bản, hoặc bạn không có quyền xem văn bản này.",
        "No such document, or you may not see it.",
    )


async def get_document(db: AsyncSession, document_id: int) -> Document:
    document = await db.get(Document, document_id)
    if document is None:
        raise not_found()
    return document


def find_version(
    document: Document, *, version_id: int | None = None, sha256: str = ""
) -> tuple[DocumentFile, FileVersion]:
    for file in document.files:
        for version in file.versions:
            if version.id == version_id or (sha256 and version.sha256 == sha256):
                return file, version
    raise not_found()


async def register_rows(
    db: AsyncSession, *, agency_id: int, direction: str, start: date, end: date
) -> Sequence[Document]:
    """Everything entered in the register between two dates (Vietnam time), in register order."""
    return list(
        await db.scalars(
            select(Document)
            .where(
                Document.agency_id == agency_id,
                Document.direction == direction,
                Document.register_number.is_not(None),
                Document.created_at >= start_of(start),
                Document.created_at < start_of(end + timedelta(days=1)),
            )
            .order_by(Document.register_year, Document.register_number, Document.id)
        )
    )
