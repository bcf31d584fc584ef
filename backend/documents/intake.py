"""Registering incoming documents: files checked, bytes kept, số đến taken, duplicates linked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.blobs import BlobStore, blob_id
from backend.core.clock import Clock
from backend.core.errors import ConflictError, ValidationError
from backend.core.models import User
from backend.documents import catalogue, textnorm
from backend.documents.events import DocumentRegistered
from backend.documents.forms import IncomingForm
from backend.documents.intake_errors import IntakeError, NotPdfError
from backend.documents.registers import INCOMING_SERIES, register_year, take_number
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers

MiB = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Registrar:
    """Who registers: a clerk, or a service account of the same agency (user_id None)."""

    agency_id: int
    user_id: int | None
    unit_id: int | None = None
    via: str = ""  # e.g. "service-account:3", recorded in the audit log

    @classmethod
    def clerk(cls, user: User) -> Registrar:
        return cls(agency_id=user.agency_id, user_id=user.id, unit_id=user.unit_id)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pages: int = 2000


class DuplicateFoundError(ConflictError):
    """The document is already registered: offer to link this one as its copy."""

    def __init__(self, original: Document) -> None:
        # Plain values: the ORM object expires when the caller's transaction rolls back.
        self.original_id = original.id
        self.number_symbol = original.number_symbol
        self.register_number = original.register_number
        super().__init__(
            f"Văn bản {self.number_symbol} đã được vào sổ với số đến {self.register_number}. "
            "Bạn có thể liên kết bản này là bản giấy/bản trùng của văn bản đó.",
            f"{self.number_symbol} is already registered as incoming no. "
            f"{self.register_number}. You can link this one as its paper copy/duplicate.",
        )


@dataclass(frozen=True)
class _CheckedFile:
    kind: str
    name: str
    data: bytes
    media_type: str
    page_count: int
    reason: str
    derived_from: tuple[str, ...] = ()
    has_signatures: bool = False


async def _check_files(
    workers: PdfWorkers, *, pdfs: list[Upload], scans: list[Upload], limits: Limits
) -> tuple[list[_CheckedFile], str]:
    """Everything is validated before anything is stored. Returns the files and their text."""
    if not pdfs and not scans:
        raise ValidationError(
            "Chưa có tệp văn bản: hãy tải lên tệp PDF hoặc chụp/quét ảnh.",
            "No file: upload a PDF or scan/photograph the document.",
        )
    for upload in scans:
        if len(upload.data) > limits.max_bytes:
            raise IntakeError(
                f"Ảnh “{upload.name}” quá lớn.", f"Image {upload.name!r} is too large."
            )
    checked: list[_CheckedFile] = []
    texts: list[str] = []
    for index, upload in enumerate(pdfs):
        if upload.content_type.startswith("image/"):
            raise NotPdfError(upload.name)
        info = await workers.inspect(
            upload.data, name=upload.name, max_bytes=limits.max_bytes, max_pages=limits.max_pages
        )
        texts.append(" ".join(filter(None, [info.title, info.subject, info.text])))
        kind = "main" if index == 0 and not scans else "attachment"
        checked.append(
            _CheckedFile(
                kind,
                upload.name,
                upload.data,
                "application/pdf",
                info.page_count,
                "bản gốc nhận được",
                has_signatures=info.has_signatures,
            )
        )
    if scans:
        combined, pages = await workers.combine_images(
            [(u.name, u.data) for u in scans], max_pages=limits.max_pages
        )
        info = await workers.inspect(
            combined,
            name="scan.pdf",
            max_bytes=max(limits.max_bytes, len(combined)),
            max_pages=limits.max_pages,
        )
        originals = tuple(blob_id(u.data) for u in scans)
        checked.insert(
            0,
            _CheckedFile(
                "main",
                "ban-quet.pdf",
                combined,
                "application/pdf",
                pages,
                f"ghép từ {len(scans)} ảnh quét",
                originals,
            ),
        )
        for upload in scans:
            checked.append(
                _CheckedFile(
                    "scan-original", upload.name, upload.data, upload.content_type, 1, "ảnh gốc"
                )
            )
        texts.insert(0, info.text)
    return checked, "\n".join(texts)


async def _check_signatures(
    files: list[_CheckedFile], checker: SignatureChecker | None
) -> dict[str, object]:
    """The main file's signature report, with each attachment's beside it."""
    main = next(f for f in files if f.kind == "main")
    if checker is None:
        return {"status": "not_verified", "reason": "no signature checker"}
    report = await checker.check(main.data, has_signatures=main.has_signatures)
    attachments = [
        {"name": f.name, **await checker.check(f.data, has_signatures=f.has_signatures)}
        for f in files
        if f.kind == "attachment"
    ]
    return {**report, "attachments": attachments} if attachments else report


async def find_duplicate(
    db: AsyncSession, *, agency_id: int, form: IncomingForm
) -> Document | None:
    if form.number is None or form.issue_date is None:
        return None
    duplicate: Document | None = await db.scalar(
        select(Document).where(
            Document.agency_id == agency_id,
            Document.direction == catalogue.Direction.INCOMING,
            Document.duplicate_of_id.is_(None),
            Document.issuer_key == form.issuer_key,
            Document.number == form.number,
            Document.symbol == form.symbol,
            Document.issue_date == form.issue_date,
        )
    )
    return duplicate


def search_text(form: IncomingForm, number_symbol: str, body: str) -> str:
    type_name = catalogue.TYPES[form.type_code].name
    return textnorm.fold(
        " ".join([number_symbol, type_name, form.subject, form.issuer_name, form.signer_name, body])
    )


async def register_incoming(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    registrar: Registrar,
    form: IncomingForm,
    pdfs: list[Upload],
    scans: list[Upload],
    limits: Limits,
    link_to: int | None = None,
    checker: SignatureChecker | None = None,
) -> Document:
    """Register one incoming document in the caller's transaction; returns it with its số đến.

    A document already in the register (same issuer, number and symbol, issue date) is never
    registered twice: without `link_to` this raises DuplicateFoundError; with the original's id
    it is stored as a linked copy that reuses the original's số đến.
    """
    files, body = await _check_files(workers, pdfs=pdfs, scans=scans, limits=limits)
    signature_check = await _check_signatures(files, checker)
    original = await find_duplicate(db, agency_id=registrar.agency_id, form=form)
    if original is not None and link_to != original.id:
        raise DuplicateFoundError(original)
    if original is None and link_to is not None:
        raise ValidationError(
            "Không tìm thấy văn bản gốc để liên kết.", "The original to link to was not found."
        )

    now = clock.now()
    if original is not None:
        year, number = original.register_year, original.register_number
    else:
        year = register_year(now)
        number = await take_number(
            db,
            agency_id=registrar.agency_id,
            direction=catalogue.Direction.INCOMING,
            year=year,
            series=INCOMING_SERIES,
        )
    number_symbol = f"{form.number:02d}/{form.symbol}" if form.number is not None else form.symbol
    document = Document(
        agency_id=registrar.agency_id,
        direction=catalogue.Direction.INCOMING,
        type_code=form.type_code,
        number=form.number,
        symbol=form.symbol,
        issue_date=form.issue_date,
        issue_place=form.issue_place,
        issuer_name=form.issuer_name,
        issuer_code=form.issuer_code,
        issuer_key=form.issuer_key,
        subject=form.subject,
        signer_name=form.signer_name,
        signer_title=form.signer_title,
        signer_competence=form.signer_competence,
        urgency=int(form.urgency),
        page_count=next(f.page_count for f in files if f.kind == "main"),
        deadline=form.deadline,
        source=form.source.value,
        status=catalogue.Status.REGISTERED,
        recipients=form.recipients,
        register_year=year,
        register_series=INCOMING_SERIES,
        register_number=number,
        received_at=now,
        registered_by_id=registrar.user_id,
        unit_id=registrar.unit_id,
        duplicate_of_id=original.id if original else None,
        signature_check=signature_check,
        search_text=search_text(form, number_symbol, body),
        created_at=now,
    )
    db.add(document)
    records = []
    for position, checked in enumerate(files):
        version = FileVersion(
            version=1,
            sha256=await blobs.put(checked.data),
            size=len(checked.data),
            media_type=checked.media_type,
            page_count=checked.page_count,
            reason=checked.reason,
            derived_from=list(checked.derived_from),
            created_by_id=registrar.user_id,
            created_at=now,
        )
        records.append(
            DocumentFile(
                kind=checked.kind, name=checked.name, position=position, versions=[version]
            )
        )
    document.files = records
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        actor_id=registrar.user_id,
        object_type="document",
        object_id=document.id,
        action="document.duplicate_linked" if original else "document.registered",
        detail={
            "so_den": number,
            "year": year,
            "number_symbol": number_symbol,
            "files": [f.name for f in files],
        },
    )
    events.record(db, DocumentRegistered(document.id, document.agency_id, document.unit_id))
    return document


async def revise_incoming(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    document: Document,
    form: IncomingForm,
    pdfs: list[Upload],
    limits: Limits,
    checker: SignatureChecker | None,
    user_id: int,
    reason: str,
) -> list[str]:
    """A registered incoming document its sender changed (an update over the axis), in the
    caller's transaction: each file whose content changed gets the new one as a new version
    (the earlier versions stay), files the sender added are added, and what the sender may
    change of the metadata follows (trích yếu, signer, độ khẩn, hạn, nơi nhận); its number,
    date and số đến stay. Returns the names of the files that changed."""
    files, body = await _check_files(workers, pdfs=pdfs, scans=[], limits=limits)
    signature_check = await _check_signatures(files, checker)
    now = clock.now()
    existing = sorted(
        (f for f in document.files if f.kind in ("main", "attachment")),
        key=lambda f: (f.kind != "main", f.position),
    )
    next_position = max((f.position for f in document.files), default=-1) + 1
    changed: list[str] = []
    for index, checked in enumerate(files):
        sha256 = await blobs.put(checked.data)
        version = FileVersion(
            version=1,
            sha256=sha256,
            size=len(checked.data),
            media_type=checked.media_type,
            page_count=checked.page_count,
            reason=reason,
            derived_from=[],
            created_by_id=user_id,
            created_at=now,
        )
        if index < len(existing):
            previous = existing[index].current
            if previous.sha256 == sha256:
                continue
            version.file_id = existing[index].id
            version.version = previous.version + 1
            version.derived_from = [previous.sha256]
            db.add(version)
        else:
            db.add(
                DocumentFile(
                    document_id=document.id,
                    kind="attachment",
                    name=checked.name,
                    position=next_position,
                    versions=[version],
                )
            )
            next_position += 1
        changed.append(checked.name)
    document.subject = form.subject
    document.signer_name = form.signer_name
    document.signer_title = form.signer_title
    document.signer_competence = form.signer_competence
    document.urgency = int(form.urgency)
    document.deadline = form.deadline
    document.recipients = form.recipients
    document.page_count = files[0].page_count
    document.signature_check = signature_check
    document.search_text = search_text(form, document.number_symbol, body)
    await db.flush()
    await db.refresh(document, ["files"])
    for file in document.files:
        await db.refresh(file, ["versions"])
    await audit.record(
        db,
        clock=clock,
        actor_id=user_id,
        object_type="document",
        object_id=document.id,
        action="document.revised",
        detail={"reason": reason, "files": changed},
    )
    return changed
