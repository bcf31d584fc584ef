"""What happens to documents that others follow (see `backend.core.events`)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class DocumentRegistered(Event):
    """An incoming document was entered in the register (sổ văn bản đến)."""

    document_id: int
    agency_id: int
    unit_id: int | None


@dataclass(frozen=True)
class CommentAdded(Event):
    """Someone commented on a document (a new comment, not a replayed one)."""

    document_id: int
    author_id: int
