"""Comments (ý kiến) on a document: who may read and add them, adding one exactly once, and who
is told when one is added.

Idempotent: a client may send a `client_key` (e.g. a UUID from an offline queue, or the key the
form was rendered with); a replay with the same key from the same person creates nothing new.
A unique index on (author, key) enforces it in SQL, so two replays racing on two server processes
still store one comment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.clock import Clock
from backend.core.errors import ValidationError
from backend.core.models import User
from backend.documents import queries, reading
from backend.documents.events import CommentAdded
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import Action, DraftRef, Principal
from backend.signing_flow.tables import DocumentComment, Draft
from backend.workflow.tables import Assignment

MAX_BODY = 4000
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Added:
    comment: DocumentComment
    created: bool


async def may_view(db: AsyncSession, principal: Principal, document: Document) -> bool:
    """Whoever may view the document; and a draft's author and signer, who always may."""
    if principal.agency_id != document.agency_id:
        return False
    draft = await db.get(Draft, document.id)
    if draft is not None and policy.may(
        principal,
        Action.VIEW_DRAFT,
        DraftRef(
            agency_id=document.agency_id, author_id=draft.author_id, signer_id=draft.signer_id
        ),
    ):
        return True
    return policy.may(principal, Action.VIEW_DOCUMENT, await queries.load_ref(db, document))


async def visible_document(db: AsyncSession, principal: Principal, document_id: int) -> Document:
    document = await reading.get_document(db, document_id)
    if not await may_view(db, principal, document):
        raise reading.not_found()  # never confirm that a document one may not see exists
    return document


async def comments_of(db: AsyncSession, document_id: int) -> list[tuple[DocumentComment, User]]:
    rows = await db.execute(
        select(DocumentComment, User)
        .join(User, User.id == DocumentComment.author_id)
        .where(DocumentComment.document_id == document_id)
        .order_by(DocumentComment.created_at, DocumentComment.id)
    )
    return [(c, u) for c, u in rows]


async def _by_key(db: AsyncSession, author_id: int, client_key: str) -> DocumentComment | None:
    found: DocumentComment | None = await db.scalar(
        select(DocumentComment).where(
            DocumentComment.author_id == author_id, DocumentComment.client_key == client_key
        )
    )
    return found


async def add_comment(
    db: AsyncSession,
    *,
    clock: Clock,
    author: User,
    document: Document,
    body: str,
    client_key: str = "",
) -> Added:
    """Add a comment, or return the one already stored under the same `client_key`."""
    body = body.strip()
    if client_key and not CLIENT_KEY.match(client_key):
        raise ValidationError("Mã gửi ý kiến không hợp lệ.", "Invalid client key.")
    if client_key:
        earlier = await _by_key(db, author.id, client_key)
        if earlier is not None:
            return Added(earlier, created=False)
    if not body:
        raise ValidationError("Hãy viết nội dung ý kiến.", "Please write the comment.")
    comment = DocumentComment(
        document_id=document.id,
        author_id=author.id,
        kind="comment",
        body=body[:MAX_BODY],
        created_at=clock.now(),
        client_key=client_key or None,
    )
    try:
        async with db.begin_nested():
            db.add(comment)
    except IntegrityError:
        # The same key raced in from another request: that one stored it.
        earlier = await _by_key(db, author.id, client_key)
        if earlier is None:
            raise
        return Added(earlier, created=False)
    await audit.record(
        db,
        clock=clock,
        action="document.commented",
        actor_id=author.id,
        object_type="document",
        object_id=document.id,
        detail={"comment_id": comment.id},
    )
    events.record(db, CommentAdded(document.id, author.id))
    return Added(comment, created=True)


async def concerned(db: AsyncSession, document: Document) -> set[int]:
    """People whose open readers show this document's comments: its drafter and signer, those
    it was given to, who registered it, and everyone who commented."""
    people: set[int] = set()
    draft = await db.get(Draft, document.id)
    if draft is not None:
        people |= {draft.author_id, draft.signer_id}
    if document.registered_by_id is not None:
        people.add(document.registered_by_id)
    assignments = await db.execute(
        select(Assignment.user_id, Assignment.assigned_by_id).where(
            Assignment.document_id == document.id
        )
    )
    for user_id, assigned_by_id in assignments:
        people |= {assigned_by_id} | ({user_id} if user_id is not None else set())
    commenters = await db.scalars(
        select(DocumentComment.author_id).where(DocumentComment.document_id == document.id)
    )
    people |= set(commenters)
    return people
