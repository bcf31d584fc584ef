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
from backend.documents import catalogue, queries, textnorm
from backend.documents.intake import Upload
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.workers import PdfWorkers
from backend.identity import policy
from backend.identity.policy import Action, DraftRef, principal_of
from backend.push import outbox, payloads
from backend.signing_flow import authority
from backend.signing_flow.events import DraftReturned, DraftSubmitted
from backend.signing_flow.tables import DocumentComment, Draft, SigningGrant
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
    # A leader (agencies without signing rules) or, with rules, whoever holds `grant_id`.
    signer_id: int
    reply_to_id: int | None = None
    # The signing grant chosen ("KT. CHỦ TỊCH" by the Vice-Chairman, …); required once the
    # agency has signing rules.
    grant_id: int | None = None


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
    # The signer comes as "g<grant id>" (a signing authority) or a leader's user id.
    signer = fields.get("signer_id", "")
    grant = signer[1:] if signer.startswith("g") else ""
    if not (signer.isdigit() or grant.isdigit()):
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
        signer_id=int(signer) if signer.isdigit() else 0,
        reply_to_id=int(reply_to) if reply_to else None,
        grant_id=int(grant) if grant else None,
    )


@dataclass(frozen=True)
class SignerChoice:
    """One entry of the drafter's "Người ký" list: `value` is "g<grant id>" (a signing
    authority) or a leader's id (an agency without signing rules)."""

    value: str
    name: str
    lines: str
    # "vắng mặt đến 10/12/2026 — Trần Thị Bích Ngọc xử lý thay", when away today.
    away: str = ""


async def signer_choices(
    db: AsyncSession, *, clock: Clock, agency_id: int, type_code: str | None = None
) -> list[SignerChoice]:
    """Who a draft of `type_code` may go to today, as the drafter picks: the signing
    authorities in force that cover it (head first), or the leaders when the agency has no
    signing rules."""
    if not await authority.has_rules(db, agency_id):
        return [
            SignerChoice(str(p.id), p.full_name, p.title) for p in await leaders_of(db, agency_id)
        ]
    found: list[SignerChoice] = []
    for option in await authority.options(
        db, agency_id=agency_id, on=authority.today(clock), type_code=type_code
    ):
        away = ""
        if option.away is not None and option.deputy is not None:
            away = (
                f"vắng mặt đến {authority.vn_date(option.away.ends_on)} — "
                f"{option.deputy.full_name} xử lý thay"
            )
        found.append(
            SignerChoice(
                f"g{option.grant.id}", option.signer.full_name, " / ".join(option.lines), away
            )
        )
    return found


async def leaders_of(db: AsyncSession, agency_id: int) -> list[User]:
    people = await db.scalars(
        select(User).where(User.agency_id == agency_id, User.is_active).order_by(User.full_name)
    )
    return [p for p in people if _may_sign_drafts(p)]


def _may_sign_drafts(person: User) -> bool:
    return policy.may(principal_of(person), Action.SIGN_DOCUMENT)


def ref(document: Document, draft: Draft) -> DraftRef:
    return DraftRef(
        agency_id=document.agency_id,
        author_id=draft.author_id,
        signer_id=draft.signer_id,
        type_code=document.type_code,
        grant_id=draft.grant_id,
    )


@dataclass(frozen=True)
class Signer:
    """Who signs a draft, and under which grant (None: a leader, no signing rules yet)."""

    person: User
    option: authority.SignerOption | None


async def chosen_signer(db: AsyncSession, *, clock: Clock, author: User, form: DraftForm) -> Signer:
    """The signer a drafter chose, checked: with signing rules, a grant in force that covers the
    type; without, a leader of the agency."""
    if await authority.has_rules(db, author.agency_id):
        if form.grant_id is None:
            raise ValidationError(
                "Hãy chọn người ký theo thẩm quyền ký của cơ quan.",
                "Choose the signer from the agency's signing authorities.",
            )
        option = await authority.grant_for_draft(
            db,
            agency_id=author.agency_id,
            grant_id=form.grant_id,
            type_code=form.type_code,
            on=authority.today(clock),
        )
        return Signer(option.signer, option)
    signer = await db.get(User, form.signer_id)
    if signer is None or signer.agency_id != author.agency_id or not _may_sign_drafts(signer):
        raise ValidationError(
            "Người ký phải là lãnh đạo của cơ quan.", "The signer must be a leader of the agency."
        )
    return Signer(signer, None)


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


def with_issuing_fields(
    data: bytes, option: authority.SignerOption | None = None
) -> tuple[bytes, int, str]:
    """The draft with its number and date fields over its own ``Số: …/…`` and date line on page
    1 and the seal field in the signer block of its last page, all found from the page text
    (signing.textpos); the last page and the leader's signature box there, as stored on the
    draft. A draft without those lines is refused with what it lacks, and one whose signer
    block does not print the chosen authority and name (`option`) with what it should print."""
    try:
        found = find_positions(data)
        if option is not None:
            authority.check_block(lines=found.block_lines, name=found.signer_name, option=option)
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
    chosen = await chosen_signer(db, clock=clock, author=author, form=form)
    signer = chosen.person
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
    data, last_page, sign_box = with_issuing_fields(pdf.data, chosen.option)
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
        signer_title=" / ".join(chosen.option.lines) if chosen.option else signer.title,
        unit_id=author.unit_id,
        registered_by_id=author.id,
        search_text=search_text(
            document_type=form.type_code,
            subject=form.subject,
            signer=signer.full_name,
            recipients=form.recipients,
        ),
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
            grant_id=chosen.option.grant.id if chosen.option else None,
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
            "grant_id": chosen.option.grant.id if chosen.option else None,
            "subject": form.subject,
            "attachments": len(attachments),
            "reply_to": reply_to.id if reply_to else None,
        },
    )
    events.record(db, DraftSubmitted(document.id, signer.id))
    await _tell_deputy(db, clock=clock, signer=signer, document=document)
    return document


async def _tell_deputy(db: AsyncSession, *, clock: Clock, signer: User, document: Document) -> None:
    """A draft for someone away today waits in their deputy's queue: the deputy hears of it too
    (the signer hears through `DraftSubmitted` as always)."""
    away = await authority.absence_on(db, signer.id, authority.today(clock))
    if away is None:
        return
    await outbox.enqueue(
        db,
        clock=clock,
        user_id=away.deputy_id,
        notice=payloads.draft_for_absent(
            document_id=document.id,
            subject=document.subject,
            urgency=document.urgency,
            absent_name=signer.full_name,
        ),
    )
    events.record(db, DraftSubmitted(document.id, away.deputy_id))


def search_text(
    *, document_type: str, subject: str, signer: str, recipients: str, number_symbol: str = ""
) -> str:
    """What search finds an outgoing document by, folded like an incoming one's (no diacritics:
    "quyet dinh" finds "Quyết định"); the number is added when it is issued."""
    type_name = catalogue.TYPES[document_type].name
    return textnorm.fold(" ".join([number_symbol, type_name, subject, signer, recipients]))


def _queue_query(signer_ids: Sequence[int]):  # type: ignore[no-untyped-def]
    urgent_first = case((Document.urgency >= catalogue.Urgency.HOA_TOC, 0), else_=1)
    return (
        select(Document, Draft, User)
        .join(Draft, Draft.document_id == Document.id)
        .join(User, User.id == Draft.author_id)
        .where(Draft.signer_id.in_(signer_ids), Document.status == catalogue.Status.DRAFT)
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
    # Set when the draft is an absent signer's, in their deputy's queue for the period.
    absent_signer: User | None = None


async def to_sign(db: AsyncSession, *, signer_id: int, on: date | None = None) -> list[QueueRow]:
    """The signer's "Chờ ký", most urgent first; on a day (`on`) when they are the named
    deputy of someone away, that person's drafts too (marked with whose they are)."""
    covering = {a.user_id for a in await authority.covered_by(db, signer_id, on)} if on else set()
    rows = await db.execute(_queue_query([signer_id, *sorted(covering)]))
    found: list[QueueRow] = []
    for document, draft, author in rows:
        absent = await db.get(User, draft.signer_id) if draft.signer_id != signer_id else None
        found.append(QueueRow(document=document, author=author, absent_signer=absent))
    return found


async def grant_of(db: AsyncSession, document_id: int) -> str:
    """The authority lines the draft is to be signed under ("TM. ỦY BAN NHÂN DÂN / KT. CHỦ
    TỊCH / PHÓ CHỦ TỊCH"); "" for a draft without a grant."""
    draft = await db.get(Draft, document_id)
    grant = (
        await db.get(SigningGrant, draft.grant_id)
        if draft is not None and draft.grant_id is not None
        else None
    )
    if grant is None:
        return ""
    holder = await db.get_one(User, grant.user_id)
    lines = authority.block_lines(grant, collective=await authority.collective_of(db, holder))
    return " / ".join(lines)


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
        or not policy.may(
            await authority.principal(db, leader, on=authority.today(clock)),
            Action.RETURN_DRAFT,
            ref(document, draft),
        )
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
    signer_choice: str = "",
) -> MyDraft:
    """Send a returned draft back to its signer, with a revised main file as a new version
    (the earlier versions stay) or unchanged; records `DraftSubmitted`. `signer_choice` ("g<grant
    id>", or a leader's id without signing rules) sends it to another signer — the signer block
    of the file it goes with must print theirs."""
    mine = await author_draft(db, author=author, document_id=document_id)
    document, draft = mine.document, mine.draft
    if document.status != catalogue.Status.RETURNED:
        raise ValidationError(
            "Chỉ gửi lại được dự thảo đã bị trả lại.", "Only a returned draft can be sent again."
        )
    now = clock.now()
    chosen: Signer | None = None
    if signer_choice:
        picked = parse_draft(
            {"type_code": document.type_code, "subject": document.subject,
             "signer_id": signer_choice, "urgency": str(document.urgency)}
        )  # fmt: skip
        chosen = await chosen_signer(db, clock=clock, author=author, form=picked)
        draft.signer_id, draft.grant_id = (
            chosen.person.id,
            (chosen.option.grant.id if chosen.option else None),
        )
        document.signer_name = chosen.person.full_name
        document.signer_title = (
            " / ".join(chosen.option.lines) if chosen.option else chosen.person.title
        )
        mine = MyDraft(document=document, draft=draft, signer=chosen.person, returned=None)
    elif draft.grant_id is not None:
        # Same signer and grant: still in force for this type today?
        chosen = await chosen_signer(
            db,
            clock=clock,
            author=author,
            form=DraftForm(
                type_code=document.type_code,
                subject=document.subject,
                recipients="",
                urgency=document.urgency,
                deadline=None,
                signer_id=0,
                grant_id=draft.grant_id,
            ),
        )
    detail: dict[str, object] = {"signer_id": draft.signer_id, "grant_id": draft.grant_id}
    if pdf is None and chosen is not None and chosen.option is not None:
        # The stored file's signer block must print the (new) signer's authority.
        main = next(f for f in document.files if f.kind == "main")
        try:
            found = find_positions(await blobs.get(main.current.sha256))
        except SigningError as exc:
            raise ValidationError(exc.message_vi, exc.message_en) from exc
        authority.check_block(lines=found.block_lines, name=found.signer_name, option=chosen.option)
    if pdf is not None:
        pages = await _checked_pdf(
            workers,
            pdf,
            max_bytes=max_bytes,
            max_pages=max_pages,
            what_vi="Dự thảo",
            what_en="draft",
        )
        data, draft.sign_page, draft.sign_box = with_issuing_fields(
            pdf.data, chosen.option if chosen is not None else None
        )
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
    await _tell_deputy(db, clock=clock, signer=mine.signer, document=document)
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
