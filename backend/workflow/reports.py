"""Progress reports: a note, a percentage or ticked milestones, and files.

The chủ trì reports progress, a phối hợp adds their input (same step, other kind). A report may
come from an offline queue with an idempotency key (`client_key`): a replay by the same person
with the same key records nothing new (a unique constraint in SQL makes that hold under races).
Files are checked by their content, never by their name, and kept in the blob store.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import ConflictError, ValidationError
from backend.documents.catalogue import Status
from backend.documents.tables import Document
from backend.workflow.assignments import Actor, event, holds, refuse
from backend.workflow.tables import Assignment, Milestone, Part, ProgressFile, State, TimelineEvent

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 5
MAX_MILESTONES = 12
WORKING = (State.ACTIVE, State.IN_PROGRESS)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JPEG = "image/jpeg"
PNG = "image/png"
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", XLSX: ".xlsx", JPEG: ".jpg", PNG: ".png"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Report:
    note: str = ""
    percent: int | None = None
    # Ids of the ticked milestones; None when the form carried no checklist.
    milestones_done: frozenset[int] | None = None
    files: Sequence[Upload] = field(default_factory=tuple)
    client_key: str = ""


def sniff(data: bytes) -> str | None:
    """The media type of `data` by its content, if it is one of the accepted kinds."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return DOCX
            if "xl/workbook.xml" in names:
                return XLSX
    return None


def _safe_name(filename: str, media_type: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    name = "".join(ch for ch in name if ch.isprintable())[:200] or "tep"
    extension = EXTENSIONS[media_type]
    return name if name.lower().endswith(extension) else name + extension


def too_large() -> ValidationError:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return ValidationError(
        f"Tệp đính kèm quá lớn: tối đa {MAX_FILES} tệp, mỗi tệp {limit} MB.",
        f"Attachments too large: at most {MAX_FILES} files of {limit} MB each.",
    )


def check_files(files: Sequence[Upload]) -> list[tuple[Upload, str]]:
    if len(files) > MAX_FILES:
        raise ValidationError(
            f"Mỗi báo cáo đính kèm tối đa {MAX_FILES} tệp.",
            f"At most {MAX_FILES} files per report.",
        )
    checked = []
    for upload in files:
        if len(upload.data) > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            raise ValidationError(
                f"Tệp {upload.filename} lớn hơn {limit} MB.",
                f"{upload.filename} is larger than {limit} MB.",
            )
        media_type = sniff(upload.data)
        if media_type is None:
            raise ValidationError(
                f"Tệp {upload.filename} không phải PDF, DOCX, XLSX, JPEG hay PNG.",
                f"{upload.filename} is not a PDF, DOCX, XLSX, JPEG or PNG file.",
            )
        checked.append((upload, media_type))
    return checked


async def milestones_of(db: AsyncSession, assignment_id: int) -> list[Milestone]:
    return list(
        await db.scalars(
            select(Milestone)
            .where(Milestone.assignment_id == assignment_id)
            .order_by(Milestone.position)
        )
    )


def _percent_of(steps: Sequence[Milestone]) -> int:
    return round(100 * sum(1 for m in steps if m.done_at is not None) / len(steps))


async def set_milestones(
    db: AsyncSession, *, clock: Clock, actor: Actor, assignment: Assignment, titles: Sequence[str]
) -> list[Milestone]:
    """The chủ trì defines (or redefines) the checklist; steps kept by name stay ticked."""
    document = await db.get_one(Document, assignment.document_id)
    if (
        not holds(actor.user, assignment, document)
        or assignment.part != Part.LEAD
        or assignment.state not in WORKING
    ):
        raise refuse()
    clean = [" ".join(t.split())[:200] for t in titles if t.strip()]
    if len(clean) > MAX_MILESTONES:
        raise ValidationError(f"Tối đa {MAX_MILESTONES} bước.", f"At most {MAX_MILESTONES} steps.")
    if len(set(clean)) != len(clean):
        raise ValidationError("Các bước không được trùng nhau.", "Steps must differ.")
    old = {m.title: m for m in await milestones_of(db, assignment.id)}
    for m in old.values():
        await db.delete(m)
    await db.flush()
    steps = [
        Milestone(
            assignment_id=assignment.id,
            position=i,
            title=title,
            done_at=old[title].done_at if title in old else None,
        )
        for i, title in enumerate(clean)
    ]
    db.add_all(steps)
    if steps:
        assignment.progress = _percent_of(steps)
    detail: dict[str, object] = {"steps": clean, "percent": assignment.progress if steps else None}
    await event(db, clock, actor, document, "milestones", assignment, detail=detail)
    return steps


async def report_progress(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    actor: Actor,
    assignment: Assignment,
    report: Report,
) -> bool:
    """Record one report. False when it is a replay of one already recorded (same person, same
    client key): nothing new is written."""
    key = report.client_key.strip()[:64]
    if key and (earlier := await _recorded(db, actor_id=actor.user.id, client_key=key)):
        # The same report again (an offline queue's replay, a double tap): nothing new. A
        # different report under a used key (a page restored from the back-forward cache) is
        # refused rather than silently dropped.
        if earlier.assignment_id != assignment.id or earlier.note != report.note.strip():
            raise ConflictError(
                "Báo cáo này đã được gửi. Hãy tải lại trang rồi gửi báo cáo mới.",
                "This report was already sent. Reload the page to send a new one.",
            )
        return False
    document = await db.get_one(Document, assignment.document_id)
    if (
        not holds(actor.user, assignment, document)
        or assignment.state not in WORKING
        or assignment.part == Part.INFORM
    ):
        raise refuse()
    if report.percent is not None and not 0 <= report.percent <= 100:
        raise ValidationError("Tiến độ phải từ 0 đến 100%.", "Progress must be 0–100%.")
    checked = check_files(report.files)
    percent = report.percent
    ticked: list[str] = []
    steps = await milestones_of(db, assignment.id) if assignment.part == Part.LEAD else []
    changed = False
    if steps and report.milestones_done is not None:
        now = clock.now()
        for step in steps:
            done = step.id in report.milestones_done
            changed |= done != (step.done_at is not None)
            step.done_at = (step.done_at or now) if done else None
        ticked = [s.title for s in steps if s.done_at is not None]
        # With a checklist, the ticked steps are the percentage.
        percent = _percent_of(steps)
    note = report.note.strip()
    if not note and report.percent is None and not checked and not changed:
        raise ValidationError("Hãy ghi nội dung báo cáo.", "Write what was done.")
    kind = "progress" if assignment.part == Part.LEAD else "input"
    assignment.state = State.IN_PROGRESS.value
    if percent is not None:
        assignment.progress = percent
    if kind == "progress" and document.status == Status.ASSIGNED:
        document.status = Status.IN_PROGRESS.value
    detail: dict[str, object] = {"percent": percent}
    if steps:
        detail["milestones"] = ticked
    if checked:
        detail["files"] = len(checked)
    step_event = await event(
        db,
        clock,
        actor,
        document,
        kind,
        assignment,
        note=note,
        detail=detail,
        client_key=key or None,
    )
    for upload, media_type in checked:
        sha256 = await blobs.put(upload.data)
        db.add(
            ProgressFile(
                event_id=step_event.id,
                document_id=document.id,
                sha256=sha256,
                filename=_safe_name(upload.filename, media_type),
                media_type=media_type,
                size=len(upload.data),
            )
        )
    return True


async def _recorded(db: AsyncSession, *, actor_id: int, client_key: str) -> TimelineEvent | None:
    found: TimelineEvent | None = await db.scalar(
        select(TimelineEvent).where(
            TimelineEvent.actor_id == actor_id, TimelineEvent.client_key == client_key
        )
    )
    return found


async def replayed(db: AsyncSession, *, actor_id: int, client_key: str) -> bool:
    return await _recorded(db, actor_id=actor_id, client_key=client_key) is not None


async def get_file(db: AsyncSession, file_id: int) -> ProgressFile | None:
    return await db.get(ProgressFile, file_id)
