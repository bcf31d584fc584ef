"""Push notices (see `backend.core.events`)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class NoticeQueued(Event):
    """A notice was added to the push outbox: relay it now rather than at the next poll."""
