"""What a person should have on their device for reading offline: the documents with open work
given to them and, for a leader, the "Chờ ký" queue — each with its reader page, its page images
and a version tag that changes whenever the reader page would show something new.

The service worker (pwa/templates/sw.js) fetches this list and keeps exactly these in a cache of
its own, per person; it is wiped on sign-out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import Role
from backend.core.urls import UrlFor
from backend.documents import queries
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import Action, Principal
from backend.signing_flow import drafts
from backend.signing_flow.tables import DocumentComment
from backend.workflow.tables import Assignment, TimelineEvent

# At most this many documents, and page images in total, per person and device.
MAX_DOCUMENTS = 100
MAX_IMAGES = 2000
# What the worker may store in bytes; it stops adding documents beyond it.
BUDGET_BYTES = 200 * 1024 * 1024
# One rendition per page: legible on phones and iPads; the worker serves it for any width
# the reader asks for while offline.
WIDTH = 1024


@dataclass(frozen=True)
class OfflineDocument:
    id: int
    kind: str  # "to_sign" (the leader's queue) or "work" (open work given to the person)
    url: str
    subject: str
    urgency: int
    version: str
    pages: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "url": self.url, "subject": self.subject,
            "urgency": self.urgency, "version": self.version, "pages": list(self.pages),
        }  # fmt: skip


def page_urls(document: Document, url_for: UrlFor) -> tuple[str, tuple[str, ...]]:
    """The main file's current version and the URLs of its page images."""
    main = next((f for f in document.files if f.kind == "main"), None)
    if main is None:
        return "", ()
    version = main.current
    return version.sha256, tuple(
        url_for("document_page", document_id=document.id, sha=version.sha256, page=n)
        + f"?w={WIDTH}"
        for n in range(1, version.page_count + 1)
    )


async def _open_work(db: AsyncSession, principal: Principal, limit: int) -> list[Document]:
    if not principal.roles & {Role.LEADER, Role.UNIT_HEAD, Role.SPECIALIST}:
        return []
    unit = policy.held_unit(principal)
    page = await queries.list_documents(
        db,
        principal=principal,
        filters=queries.Filters(mine_of=principal.user_id, mine_unit=unit),
        limit=limit,
    )
    # Most urgent first, then the nearest deadline, then the newest.
    return sorted(
        page.items,
        key=lambda d: (-d.urgency, d.deadline is None, d.deadline or d.created_at.date()),
    )


async def _changes(db: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Per document: the last timeline event, comment and assignment state, as one string."""
    found: dict[int, list[str]] = {i: [] for i in ids}
    for model, column in (
        (TimelineEvent, TimelineEvent.id),
        (DocumentComment, DocumentComment.id),
        (Assignment, Assignment.id),
    ):
        rows = await db.execute(
            select(model.document_id, func.max(column), func.count())
            .where(model.document_id.in_(ids))
            .group_by(model.document_id)
        )
        for document_id, last, count in rows:
            found[document_id].append(f"{model.__tablename__}:{last}:{count}")
    return {i: "|".join(parts) for i, parts in found.items()}


async def offline_set(
    db: AsyncSession, *, principal: Principal, url_for: UrlFor, max_documents: int = MAX_DOCUMENTS
) -> list[OfflineDocument]:
    chosen: list[tuple[str, str, Document]] = []
    if policy.may(principal, Action.SIGN_DOCUMENT):
        queue = await drafts.to_sign(db, signer_id=principal.user_id)
        chosen += [
            ("to_sign", url_for("sign_document", document_id=row.document.id), row.document)
            for row in queue
        ]
    seen = {d.id for _, _, d in chosen}
    for document in await _open_work(db, principal, max_documents):
        if document.id not in seen:
            chosen.append(("work", url_for("document", document_id=document.id), document))
    chosen = chosen[:max_documents]
    changes = await _changes(db, [d.id for _, _, d in chosen])
    result: list[OfflineDocument] = []
    images = 0
    for kind, url, document in chosen:
        sha, pages = page_urls(document, url_for)
        if images + len(pages) > MAX_IMAGES:
            break
        images += len(pages)
        tag = f"{sha}|{document.status}|{document.deadline}|{changes[document.id]}"
        result.append(
            OfflineDocument(
                id=document.id,
                kind=kind,
                url=url,
                subject=document.subject,
                urgency=document.urgency,
                pages=pages,
                version=hashlib.sha256(tag.encode()).hexdigest()[:16],
            )
        )
    return result


def lists_for(principal: Principal, url_for: UrlFor) -> list[str]:
    """The list pages kept with the documents, so that they can be found offline."""
    lists = [url_for("home")]
    if principal.roles & {Role.LEADER, Role.UNIT_HEAD, Role.SPECIALIST}:
        lists.append(url_for("documents") + "?inbox=viec-cua-toi")
    if policy.may(principal, Action.SIGN_DOCUMENT):
        lists.append(url_for("sign_queue"))
    return lists
