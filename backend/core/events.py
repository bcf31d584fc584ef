"""Typed domain events, recorded in a transaction and dispatched after it commits.

A domain function that changes something other people's screens or caches should follow
records what happened — a frozen dataclass such as `DocumentRegistered` — on the session it was
given (`record(db, event)`). Nothing is sent then. `unit_of_work(sessions, bus)` opens the
session and its transaction; when the transaction has **committed**, it hands the recorded
events to the bus, which runs every subscriber of each event's type (registered in one place,
`backend.runtime.subscribers`). An event whose transaction rolls back is never seen.

Subscribers do what follows a change and may be lost without harm: live updates over SSE, the
dashboard's cache generation, waking the push relay. They run after the commit, so a failing
subscriber is logged and never undoes, or fails, the change. Work that must not be lost is not
a subscriber: it is written in the same transaction (the push outbox, jobs).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("eoffice.events")

_KEY = "eoffice.events"


class Event:
    """Base of the domain events (each a frozen dataclass of ids, never ORM objects)."""


E = TypeVar("E", bound=Event)
Subscriber = Callable[[Any], Awaitable[None]]


def record(db: AsyncSession, event: Event) -> None:
    """Record `event` on the session's unit of work; it is dispatched after the commit."""
    db.info.setdefault(_KEY, []).append(event)


def _take(db: AsyncSession) -> list[Event]:
    events: list[Event] = db.info.pop(_KEY, [])
    return events


class Bus:
    """Subscribers by event type; `dispatch` runs them in the order they were subscribed."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Event], list[Subscriber]] = {}

    def subscribe(self, kind: type[E], subscriber: Callable[[E], Awaitable[None]]) -> None:
        self._subscribers.setdefault(kind, []).append(subscriber)

    def kinds(self) -> set[type[Event]]:
        """The event types that have at least one subscriber."""
        return set(self._subscribers)

    def subscribers(self, kind: type[Event]) -> list[Subscriber]:
        return [s for k in kind.__mro__ if k in self._subscribers for s in self._subscribers[k]]

    async def dispatch(self, events: Iterable[Event]) -> None:
        for event in events:
            for subscriber in self.subscribers(type(event)):
                try:
                    await subscriber(event)
                except Exception:
                    # The change is committed; what follows it is a hint that screens and caches
                    # also catch up on by themselves (next load, next generation, relay poll).
                    log.exception("subscriber %s of %r failed", subscriber, event)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], bus: Bus
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction; its recorded events go to `bus` once it has committed."""
    async with sessions() as db:
        async with db.begin():
            yield db
        # Reached only after COMMIT: a rollback raises, and its events go with the session.
        # One transaction may record the same event more than once (several steps of one
        # document): what follows reads the current state, so once is enough.
        events = list(dict.fromkeys(_take(db)))
    await bus.dispatch(events)
