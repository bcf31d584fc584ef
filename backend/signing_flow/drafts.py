"""Outgoing drafts: a specialist or unit head uploads a PDF for a leader to sign; the leader's
"Chờ ký" queue; sending a draft back with a comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import redis.asyncio as aioredis
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, live
from backend.blobs import BlobStore
from backend.clock import Clock
from backend.documents import catalogue
from backend.documents.intake import Upload
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.workers import PdfWorkers
from backend.errors import NotFoundError, ValidationError
from backend.models import Role, User
from backend.signing_flow.tables import DocumentComment, Draft
from signing import SigningError, add_issuing_fields, seal_box_overlapping

# Fixed positions on the last page (A4, PDF points): the number and date lines and the seal.
NUMBER_BOX = (60.0, 770.0, 280.0, 790.0)
DATE_BOX = (300.0, 770.0, 560.0, 790.0)
LEADER_BOX = (330.0, 110.0, 510.0, 190.0)


@dataclass(frozen=True)
class DraftForm:
    type_code: str
    subject: str
    recipients: str
    urgency: int
    deadline: date | None
    signer_id: int


def parse_draft(fields: dict[str, str]) -> DraftForm:
    problems: list[str] = []
    type_code = fields.get("type_code", "")
    if type_code not in catalogue.TYPES:
        problems.append("loại văn bản")
    subject = " ".join(fields.get("subject", "").split())
    if not subject:
        problems.append("trích yếu")
    signer = fields.get("signer_id", "")
    if not signer.isdigit():
        problems.append("người ký")
    urgency = fields.get("urgency", "0")
    deadline = None
    try:
        deadline = date.fromisoformat(fields["deadline"]) if fields.get("deadline") else None
    except ValueError:
        problems.append("hạn xử lý")
    if problems or not urgency.isdigit() or int(urgency) not in catalogue.URGENCY_LABELS:
        raise ValidationError(
            "Thiếu hoặc sai: " + ", ".join(problems or ["độ khẩn"]) + ".",
            "Missing or invalid fields.",
        )
    return DraftForm(
        type_code=type_code, subject=subject, recipients=fields.get("recipients", "").strip(),
        urgency=int(urgency), deadline=deadline, signer_id=int(signer),
    )  # fmt: skip


async def leaders_of(db: AsyncSession, agency_id: int) -> list[User]:
    people = await db.scalars(
        select(User).where(User.agency_id == agency_id, User.is_active).order_by(User.full_name)
    )
    return [p for p in people if Role.LEADER in p.roles]


async def create_draft(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    redis: aioredis.Redis,
    author: User,
    form: DraftForm,
    pdf: Upload,
    max_bytes: int,
    max_pages: int,
) -> Document:
    signer = await db.get(User, form.signer_id)
    if signer is None or signer.agency_id != author.agency_id or Role.LEADER not in signer.roles:
        raise ValidationError(
            "Người ký phải là lãnh đạo của cơ quan.", "The signer must be a leader of the agency."
        )
    info = await workers.inspect(pdf.data, name=pdf.name, max_bytes=max_bytes, max_pages=max_pages)
    if info.has_signatures:
        raise ValidationError(
            "Dự thảo không được có chữ ký số sẵn.", "A draft must not be signed already."
        )
    last_page = info.page_count - 1
    try:
        data = add_issuing_fields(
            pdf=pdf.data, page=last_page, number_box=NUMBER_BOX, date_box=DATE_BOX,
            seal_box=seal_box_overlapping(leader_box=LEADER_BOX),
        )  # fmt: skip
    except SigningError as exc:
        raise ValidationError(exc.message_vi, exc.message_en) from exc
    now = clock.now()
    document = Document(
        agency_id=author.agency_id, direction=catalogue.Direction.OUTGOING,
        type_code=form.type_code, subject=form.subject, urgency=form.urgency,
        page_count=info.page_count, deadline=form.deadline, status=catalogue.Status.DRAFT,
        recipients=form.recipients, signer_name=signer.full_name, signer_title=signer.title,
        unit_id=author.unit_id, registered_by_id=author.id, search_text=form.subject.lower(),
        created_at=now,
    )  # fmt: skip
    version = FileVersion(
        version=1, sha256=await blobs.put(data), size=len(data), media_type="application/pdf",
        page_count=info.page_count, reason="dự thảo", derived_from=[], created_by_id=author.id,
        created_at=now,
    )  # fmt: skip
    document.files = [DocumentFile(kind="main", name=pdf.name, position=0, versions=[version])]
    db.add(document)
    await db.flush()
    db.add(
        Draft(
            document_id=document.id, author_id=author.id, signer_id=signer.id,
            sign_page=last_page, sign_box=",".join(str(v) for v in LEADER_BOX), created_at=now,
        )
    )  # fmt: skip
    await audit.record(
        db, clock=clock, action="document.drafted", actor_id=author.id, object_type="document",
        object_id=document.id, detail={"signer_id": signer.id, "subject": form.subject},
    )  # fmt: skip
    await live.publish(redis, signer.id, "to-sign", {"document": document.id})
    return document


def _queue_query(signer_id: int):  # type: ignore[no-untyped-def]
    urgent_first = case((Document.urgency >= catalogue.Urgency.HOA_TOC, 0), else_=1)
    return (
        select(Document, Draft, User)
        .join(Draft, Draft.document_id == Document.id)
        .join(User, User.id == Draft.author_id)
        .where(Draft.signer_id == signer_id, Document.status == catalogue.Status.DRAFT)
        .order_by(
            urgent_first,
            Document.urgency.desc(),
            Document.deadline.is_(None),
            Document.deadline,
            Document.created_at,
        )
    )


@dataclass(frozen=True)
class QueueRow:
    document: Document
    author: User


async def to_sign(db: AsyncSession, *, signer_id: int) -> list[QueueRow]:
    rows = await db.execute(_queue_query(signer_id))
    return [QueueRow(document=d, author=a) for d, _draft, a in rows]


async def draft_of(db: AsyncSession, document_id: int) -> Draft | None:
    return await db.get(Draft, document_id)


async def return_draft(
    db: AsyncSession,
    *,
    clock: Clock,
    redis: aioredis.Redis,
    leader: User,
    document_id: int,
    comment: str,
) -> Document:
    comment = comment.strip()
    if not comment:
        raise ValidationError("Hãy ghi lý do trả lại.", "Please write why the draft is returned.")
    document = await db.get(Document, document_id)
    draft = await db.get(Draft, document_id)
    if document is None or draft is None or draft.signer_id != leader.id:
        raise NotFoundError("Không tìm thấy dự thảo.", "No such draft.")
    if document.status != catalogue.Status.DRAFT:
        raise ValidationError(
            "Văn bản này không còn chờ ký.", "This document no longer awaits a signature."
        )
    document.status = catalogue.Status.RETURNED
    db.add(
        DocumentComment(
            document_id=document_id, author_id=leader.id, kind="return", body=comment[:4000],
            created_at=clock.now(),
        )
    )  # fmt: skip
    await audit.record(
        db, clock=clock, action="document.returned", actor_id=leader.id, object_type="document",
        object_id=document_id, detail={"comment": comment[:500]},
    )  # fmt: skip
    await live.publish(redis, draft.author_id, "document-returned", {"document": document_id})
    return document


async def comments_of(db: AsyncSession, document_id: int) -> list[tuple[DocumentComment, User]]:
    rows = await db.execute(
        select(DocumentComment, User)
        .join(User, User.id == DocumentComment.author_id)
        .where(DocumentComment.document_id == document_id)
        .order_by(DocumentComment.id)
    )
    return [(c, u) for c, u in rows]
