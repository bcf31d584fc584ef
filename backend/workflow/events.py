"""Handling steps that others follow (see `backend.core.events`)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class HandlingStepRecorded(Event):
    """A step of a document's handling was recorded in its timeline: assigned, reassigned,
    progress, input, milestones, completed, returned, forwarded for direction. Several steps of
    one transaction are one event (the same document): what follows reads the current state."""

    document_id: int
