"""Outgoing drafts: a specialist or unit head uploads a PDF for a leader to sign; the leader's
"Chờ ký" queue; sending a draft back with a comment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import NotFoundError, ValidationError
from backend.core.models import User
from backend.documents import catalogue, queries
from backend.documents.intake import Upload
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.workers import PdfWorkers
from backend.identity import policy
from backend.identity.policy import Action, DraftRef, principal_of
from backend.push import outbox, payloads
from backend.signing_flow.events import DraftReturned, DraftSubmitted
from backend.signing_flow.tables import DocumentComment, Draft
from signing import SigningError, add_issuing_fields
from signing.textpos import find_positions

# Drafts stored before the box was found from the signer block: the old A4 portrait place.
LEADER_BOX = (330.0, 110.0, 510.0, 190.0)
MAX_ATTACHMENTS = 20


@dataclass(frozen=True)
class DraftForm:
    type_code: str
    subject: str
    recipients: str
    urgency: int
    deadline: date | None
    signer_id: int
    reply_to_id: int | None = None


def leader_box(draft: Draft) -> tuple[float, float, float, float]:
    """The leader's signature box stored on the draft (drafts made before it was stored: A4)."""
    parts = [float(v) for v in draft.sign_box.split(",") if v.strip()]
    if len(parts) != 4:
        return LEADER_BOX
    return (parts[0], parts[1], parts[2], parts[3])


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
    reply_to = fields.get("reply_to", "")
    if reply_to and not reply_to.isdigit():
        problems.append("văn bản được trả lời")
    if problems or not urgency.isdigit() or int(urgency) not in catalogue.URGENCY_LABELS:
        raise ValidationError(
            "Thiếu hoặc sai: " + ", ".join(problems or ["độ khẩn"]) + ".",
            "Missing or invalid fields.",
        )
    return DraftForm(
        type_code=type_code,
        subject=subject,
        recipients=fields.get("recipients", "").strip(),
        urgency=int(urgency),
        deadline=deadline,
        signer_id=int(signer),
        reply_to_id=int(reply_to) if reply_to else None,
    )


async def leaders_of(db: AsyncSession, agency_id: int) -> list[User]:
    people = await db.scalars(
        select(User).where(User.agency_id == agency_id, User.is_active).order_by(User.full_name)
    )
    return [p for p in people if _may_sign_drafts(p)]


def _may_sign_drafts(person: User) -> bool:
    return policy.may(principal_of(person), Action.SIGN_DOCUMENT)


def ref(document: Document, draft: Draft) -> DraftRef:
    return DraftRef(
        agency_id=document.agency_id, author_id=draft.author_id, signer_id=draft.signer_id
    )


async def _checked_pdf(
    workers: PdfWorkers, pdf: Upload, *, max_bytes: int, max_pages: int, what_vi: str, what_en: str
) -> int:
    """Check an uploaded PDF with the intake limits; the page count, or a refusal."""
    info = await workers.inspect(pdf.data, name=pdf.name, max_bytes=max_bytes, max_pages=max_pages)
    if info.has_signatures:
        raise ValidationError(
            f"{what_vi} «{pdf.name}» không được có chữ ký số sẵn.",
            f"The {what_en} “{pdf.name}” must not be signed already.",
        )
    return info.page_count


def with_issuing_fields(data: bytes) -> tuple[bytes, int, str]:
    """The draft with its number and date fields over its own ``Số: …/…`` and date line on page
    1 and the seal field in the signer block of its last page, all found from the page text
    (signing.textpos); the last page and the leader's signature box there, as stored on the
    draft. A draft without those lines is refused with what it lacks."""
    try:
        found = find_positions(data)
        filled = add_issuing_fields(
            pdf=data,
            number_box=found.number_box,
            date_box=found.date_box,
            seal_page=found.sign_page,
            seal_box=found.seal_box,
            text_size=found.text_size,
            number_with_symbol=found.number_full,
            date_with_place=found.date_with_place,
        )
    except SigningError as exc:
        raise ValidationError(exc.message_vi, exc.message_en) from exc
    return filled, found.sign_page, ",".join(f"{v:g}" for v in found.leader_box)


async def _version(
    blobs: BlobStore,
    *,
    data: bytes,
    pages: int,
    number: int,
    reason: str,
    author: User,
    now: datetime,
    derived_from: list[str],
) -> FileVersion:
    return FileVersion(
        version=number,
        sha256=await blobs.put(data),
        size=len(data),
        media_type="application/pdf",
        page_count=pages,
        reason=reason,
        derived_from=derived_from,
        created_by_id=author.id,
        created_at=now,
    )


async def create_draft(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    author: User,
    form: DraftForm,
    pdf: Upload,
    attachments: Sequence[Upload] = (),
    max_bytes: int,
    max_pages: int,
) -> Document:
    """Store a draft for its signer; records `DraftSubmitted` (the signer's queue follows it
    once the transaction has committed)."""
    signer = await db.get(User, form.signer_id)
    if signer is None or signer.agency_id != author.agency_id or not _may_sign_drafts(signer):
        raise ValidationError(
            "Người ký phải là lãnh đạo của cơ quan.", "The signer must be a leader of the agency."
        )
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(
            f"Tối đa {MAX_ATTACHMENTS} phụ lục cho một dự thảo.",
            f"At most {MAX_ATTACHMENTS} attachments per draft.",
        )
    reply_to = None
    if form.reply_to_id is not None:
        reply_to = await reply_target(db, author=author, document_id=form.reply_to_id)
    page_count = await _checked_pdf(
        workers, pdf, max_bytes=max_bytes, max_pages=max_pages, what_vi="Dự thảo", what_en="draft"
    )
    attachment_pages: list[int] = []
    for upload in attachments:
        pages = await _checked_pdf(
            workers,
            upload,
            max_bytes=max_bytes,
            max_pages=max_pages,
            what_vi="Phụ lục",
            what_en="attachment",
        )
        attachment_pages.append(pages)
    data, last_page, sign_box = with_issuing_fields(pdf.data)
    now = clock.now()
    document = Document(
        agency_id=author.agency_id,
        direction=catalogue.Direction.OUTGOING,
        type_code=form.type_code,
        subject=form.subject,
        urgency=form.urgency,
        page_count=page_count,
        deadline=form.deadline,
        status=catalogue.Status.DRAFT,
        recipients=form.recipients,
        signer_name=signer.full_name,
        signer_title=signer.title,
        unit_id=author.unit_id,
        registered_by_id=author.id,
        search_text=form.subject.lower(),
        created_at=now,
    )
    main = await _version(
        blobs,
        data=data,
        pages=page_count,
        number=1,
        reason="dự thảo",
        author=author,
        now=now,
        derived_from=[],
    )
    files = [DocumentFile(kind="main", name=pdf.name, position=0, versions=[main])]
    for position, (upload, pages) in enumerate(zip(attachments, attachment_pages, strict=True)):
        version = await _version(
            blobs,
            data=upload.data,
            pages=pages,
            number=1,
            reason="phụ lục dự thảo",
            author=author,
            now=now,
            derived_from=[],
        )
        files.append(
            DocumentFile(
                kind="attachment", name=upload.name, position=position + 1, versions=[version]
            )
        )
    document.files = files
    db.add(document)
    await db.flush()
    db.add(
        Draft(
            document_id=document.id,
            author_id=author.id,
            signer_id=signer.id,
            sign_page=last_page,
            sign_box=sign_box,
            created_at=now,
            reply_to_id=reply_to.id if reply_to else None,
            submitted_at=now,
        )
    )
    await audit.record(
        db,
        clock=clock,
        action="document.drafted",
        actor_id=author.id,
        object_type="document",
        object_id=document.id,
        detail={
            "signer_id": signer.id,
            "subject": form.subject,
            "attachments": len(attachments),
            "reply_to": reply_to.id if reply_to else None,
        },
    )
    events.record(db, DraftSubmitted(document.id, signer.id))
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
    leader: User,
    document_id: int,
    comment: str,
) -> Document:
    comment = comment.strip()
    if not comment:
        raise ValidationError("Hãy ghi lý do trả lại.", "Please write why the draft is returned.")
    document = await db.get(Document, document_id)
    draft = await db.get(Draft, document_id)
    if (
        document is None
        or draft is None
        or not policy.may(principal_of(leader), Action.RETURN_DRAFT, ref(document, draft))
    ):
        raise NotFoundError("Không tìm thấy dự thảo.", "No such draft.")
    if document.status != catalogue.Status.DRAFT:
        raise ValidationError(
            "Văn bản này không còn chờ ký.", "This document no longer awaits a signature."
        )
    document.status = catalogue.Status.RETURNED
    db.add(
        DocumentComment(
            document_id=document_id,
            author_id=leader.id,
            kind="return",
            body=comment[:4000],
            created_at=clock.now(),
        )
    )
    await audit.record(
        db,
        clock=clock,
        action="document.returned",
        actor_id=leader.id,
        object_type="document",
        object_id=document_id,
        detail={"comment": comment[:500]},
    )
    # The author hears it on their phone too, committed with the return.
    notice = payloads.draft_returned(
        document_id=document_id,
        subject=document.subject,
        leader_name=leader.full_name,
        reason=comment,
    )
    await outbox.enqueue(db, clock=clock, user_id=draft.author_id, notice=notice)
    events.record(db, DraftReturned(document.id, draft.author_id))
    return document


# The author's side: "Dự thảo của tôi", a returned draft revised and sent again; replies.


@dataclass(frozen=True)
class MyDraft:
    document: Document
    draft: Draft
    signer: User
    # The leader's latest return comment, shown while the draft is back with its author.
    returned: DocumentComment | None


async def my_drafts(db: AsyncSession, *, author_id: int) -> list[MyDraft]:
    """The author's drafts, the most recently sent (or returned) first."""
    rows = await db.execute(
        select(Document, Draft, User)
        .join(Draft, Draft.document_id == Document.id)
        .join(User, User.id == Draft.signer_id)
        .where(Draft.author_id == author_id)
        .order_by(func.coalesce(Draft.submitted_at, Draft.created_at).desc(), Document.id.desc())
    )
    found = [(d, dr, s) for d, dr, s in rows]
    returned = await _latest_returns(db, [d.id for d, _, _ in found])
    return [
        MyDraft(document=d, draft=dr, signer=s, returned=returned.get(d.id)) for d, dr, s in found
    ]


async def _latest_returns(db: AsyncSession, ids: list[int]) -> dict[int, DocumentComment]:
    if not ids:
        return {}
    comments = await db.scalars(
        select(DocumentComment)
        .where(DocumentComment.document_id.in_(ids), DocumentComment.kind == "return")
        .order_by(DocumentComment.id)
    )
    return {c.document_id: c for c in comments}


async def author_draft(db: AsyncSession, *, author: User, document_id: int) -> MyDraft:
    """One of the author's own drafts; someone else's is not found."""
    draft = await db.get(Draft, document_id)
    document = await db.get(Document, document_id)
    if (
        draft is None
        or document is None
        or not policy.may(principal_of(author), Action.REVISE_DRAFT, ref(document, draft))
    ):
        raise NotFoundError("Không tìm thấy dự thảo.", "No such draft.")
    signer = await db.get_one(User, draft.signer_id)
    returned = await _latest_returns(db, [document_id])
    return MyDraft(
        document=document, draft=draft, signer=signer, returned=returned.get(document_id)
    )


async def resubmit_draft(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    author: User,
    document_id: int,
    pdf: Upload | None,
    note: str,
    max_bytes: int,
    max_pages: int,
) -> MyDraft:
    """Send a returned draft back to its signer, with a revised main file as a new version
    (the earlier versions stay) or unchanged; records `DraftSubmitted`."""
    mine = await author_draft(db, author=author, document_id=document_id)
    document, draft = mine.document, mine.draft
    if document.status != catalogue.Status.RETURNED:
        raise ValidationError(
            "Chỉ gửi lại được dự thảo đã bị trả lại.", "Only a returned draft can be sent again."
        )
    now = clock.now()
    detail: dict[str, object] = {"signer_id": draft.signer_id}
    if pdf is not None:
        pages = await _checked_pdf(
            workers,
            pdf,
            max_bytes=max_bytes,
            max_pages=max_pages,
            what_vi="Dự thảo",
            what_en="draft",
        )
        data, draft.sign_page, draft.sign_box = with_issuing_fields(pdf.data)
        main = next(f for f in document.files if f.kind == "main")
        version = await _version(
            blobs,
            data=data,
            pages=pages,
            number=main.current.version + 1,
            reason="dự thảo sửa lại",
            author=author,
            now=now,
            derived_from=[main.current.sha256],
        )
        version.file_id = main.id
        db.add(version)
        document.page_count = pages
        # The file keeps its name across versions; the uploaded name goes to the audit trail.
        detail |= {"version": version.version, "sha256": version.sha256, "upload": pdf.name}
    note = note.strip()
    if note:
        db.add(
            DocumentComment(
                document_id=document_id,
                author_id=author.id,
                kind="resubmit",
                body=note[:4000],
                created_at=now,
            )
        )
    document.status = catalogue.Status.DRAFT
    draft.submitted_at = now
    await db.flush()
    for file in document.files:
        await db.refresh(file, ["versions"])
    await audit.record(
        db,
        clock=clock,
        action="document.resubmitted",
        actor_id=author.id,
        object_type="document",
        object_id=document_id,
        detail=detail,
    )
    events.record(db, DraftSubmitted(document_id, draft.signer_id))
    return mine


async def reply_target(db: AsyncSession, *, author: User, document_id: int) -> Document:
    """The incoming document a draft answers: one the author may view."""
    document = await db.get(Document, document_id)
    if (
        document is None
        or document.direction != catalogue.Direction.INCOMING
        or not policy.may(
            principal_of(author), Action.DRAFT_DOCUMENT, await queries.load_ref(db, document)
        )
    ):
        raise NotFoundError(
            "Không tìm thấy văn bản đến cần trả lời, hoặc bạn không có quyền xem văn bản đó.",
            "No such incoming document to reply to, or you may not see it.",
        )
    return document


async def replies_to(db: AsyncSession, document_id: int) -> list[Document]:
    """Outgoing drafts (and the documents they became) that answer `document_id`, oldest first."""
    return list(
        await db.scalars(
            select(Document)
            .join(Draft, Draft.document_id == Document.id)
            .where(Draft.reply_to_id == document_id)
            .order_by(Document.created_at, Document.id)
        )
    )
