"""What follows a committed change, in one place: for each domain event, who hears of it.

Domain functions record events (`backend.core.events.record`); the web's transactions
dispatch them after COMMIT to the subscribers wired here. Everything here is a hint to screens
and caches that also catch up by themselves — live lists and counters over SSE (next load), the
dashboard's cache generation (its time-to-live), the push relay and the job runners (their
polls) — so a
subscriber that fails is logged by the bus and the change stands.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import jobs, live
from backend.core.clock import Clock
from backend.core.events import Bus, unit_of_work
from backend.documents import comments
from backend.documents.events import CommentAdded, DocumentRegistered
from backend.documents.tables import Document
from backend.interchange import reception
from backend.push.events import NoticeQueued
from backend.push.runtime import PushRuntime
from backend.signing_flow import results
from backend.signing_flow.events import DocumentIssued, DraftReturned, DraftSubmitted
from backend.workflow import counters, dashboard_cache
from backend.workflow.events import HandlingStepRecorded

__all__ = ["wire"]


def wire(
    bus: Bus,
    *,
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    push: PushRuntime,
    clock: Clock,
) -> Bus:
    """Subscribe the process's effects to `bus`; returns it."""

    async def document_registered(event: DocumentRegistered) -> None:
        async with sessions() as db:
            audience = await counters.registered_audience(
                db, agency_id=event.agency_id, unit_id=event.unit_id
            )
        await live.announce_document(redis, audience, event.document_id, "registered")
        await dashboard_cache.changed(redis, event.agency_id)

    async def handling_step(event: HandlingStepRecorded) -> None:
        async with sessions() as db:
            people = await counters.concerned(db, event.document_id)
            await counters.announce(db, redis, user_ids=people, document_id=event.document_id)
        # The sender of a document received over the axis hears 04/05/06 (the axis poll
        # catches up on any step whose process stopped before this ran).
        async with unit_of_work(sessions, bus) as db:
            await reception.follow_handling(db, clock=clock, document_ids=[event.document_id])

    async def comment_added(event: CommentAdded) -> None:
        async with sessions() as db:
            document = await db.get_one(Document, event.document_id)
            people = await comments.concerned(db, document)
        for person in sorted(people):
            await live.publish(redis, person, "comments", {"document": event.document_id})

    async def draft_submitted(event: DraftSubmitted) -> None:
        await live.publish(redis, event.signer_id, "to-sign", {"document": event.document_id})

    async def draft_returned(event: DraftReturned) -> None:
        data: dict[str, object] = {"document": event.document_id}
        await live.publish(redis, event.author_id, "document-returned", data)

    async def document_issued(event: DocumentIssued) -> None:
        async with sessions() as db:
            told = await results.to_tell(db, event.document_id, event.agency_id)
        await live.announce_document(redis, told, event.document_id, "issued")

    async def notice_queued(event: NoticeQueued) -> None:
        await push.after_commit()

    async def job_queued(event: jobs.JobQueued) -> None:
        await jobs.kick(redis)

    bus.subscribe(DocumentRegistered, document_registered)
    bus.subscribe(HandlingStepRecorded, handling_step)
    bus.subscribe(CommentAdded, comment_added)
    bus.subscribe(DraftSubmitted, draft_submitted)
    bus.subscribe(DraftReturned, draft_returned)
    bus.subscribe(DocumentIssued, document_issued)
    bus.subscribe(NoticeQueued, notice_queued)
    bus.subscribe(jobs.JobQueued, job_queued)
    return bus
