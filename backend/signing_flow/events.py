"""Drafts and outgoing documents: what others follow (see `backend.core.events`)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class DraftSubmitted(Event):
    """A draft was put before its signer (new, or revised and sent again)."""

    document_id: int
    signer_id: int


@dataclass(frozen=True)
class DraftReturned(Event):
    """The signer returned a draft to its author."""

    document_id: int
    author_id: int


@dataclass(frozen=True)
class DocumentIssued(Event):
    """The clerk numbered, sealed and issued an outgoing document."""

    document_id: int
    agency_id: int
