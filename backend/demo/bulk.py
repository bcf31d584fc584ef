"""Writing the demo's six months (backend.demo.history) in a few multi-row INSERTs.

The domain functions write one document at a time (a PDF inspected, a number taken, an audit
entry chained, notices queued): right for a clerk, minutes for thousands of documents. Here the
same rows are written in bulk, keeping what those functions keep: số đến and outgoing numbers
gap-free per year and series with their register counters, search text folded as intake folds
it, page counts read from the stored PDFs, a timeline event and a chained audit entry for every
step. What is left out on purpose: push notices for six-month-old steps, and live events.

PDFs: a handful of sample documents (one per page count) rendered once and shared by content
address, so each document's page count is its file's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import GENESIS, chain_hash
from backend.core.blobs import BlobStore
from backend.core.models import AuditEntry
from backend.demo.history import Plan, PlannedDocument, moment
from backend.documents import catalogue, textnorm
from backend.documents.samples import SampleText, render_sample
from backend.documents.tables import Document, DocumentFile, FileVersion, RegisterCounter
from backend.documents.workers import PdfWorkers
from backend.workflow.tables import Assignment, DirectionRequest, TimelineEvent

PARAGRAPHS = (
    "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh, đề nghị các cơ quan, đơn vị nghiêm túc triển "
    "khai các nội dung sau đây, bảo đảm đúng tiến độ và chất lượng.",
    "Các cơ quan, đơn vị tổng hợp kết quả thực hiện, khó khăn, vướng mắc và đề xuất giải pháp, "
    "gửi về cơ quan chủ trì trước thời hạn quy định để tổng hợp, báo cáo.",
)
BATCH = 2000
# RETURNING rows are gathered across the driver's internal batches: smaller statements keep that
# linear.
RETURNING_BATCH = 400


@dataclass(frozen=True)
class SamplePdf:
    sha256: str
    size: int
    pages: int
    text: str  # folded, for search_text


async def sample_pdfs(
    *, blobs: BlobStore, workers: PdfWorkers, pages: Sequence[int], today: date
) -> dict[int, SamplePdf]:
    """One stored sample PDF per requested page count, with its real page count and text."""
    found: dict[int, SamplePdf] = {}
    for count in sorted(set(pages)):
        data = render_sample(
            SampleText(
                issuer_parent="",
                issuer="Văn bản mẫu",
                number_symbol="…/…",
                place="Sông Hồng",
                issued=today,
                title="Văn bản mẫu",
                subject="Bản mẫu của dữ liệu trình diễn (demo)",
                paragraphs=PARAGRAPHS,
                signer_competence="",
                signer_title="Người ký",
                signer_name="(Người ký mẫu)",
            ),
            pages=count,
        )
        info = await workers.inspect(data, name="mau.pdf", max_bytes=len(data), max_pages=100)
        body = textnorm.fold(" ".join(filter(None, [info.title, info.subject, info.text])))
        found[count] = SamplePdf(await blobs.put(data), len(data), info.page_count, body)
    return found


def _number_symbol(row: dict[str, object]) -> str:
    number, symbol = row["number"], str(row["symbol"])
    if not isinstance(number, int):
        return symbol
    return f"{number:02d}/{symbol}" if symbol else f"{number:02d}"


async def _insert_returning(
    db: AsyncSession, table: Any, rows: list[dict[str, object]]
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), RETURNING_BATCH):
        chunk = rows[start : start + RETURNING_BATCH]
        result = await db.execute(
            insert(table).returning(table.id, sort_by_parameter_order=True), chunk
        )
        ids.extend(result.scalars())
    return ids


async def _insert(db: AsyncSession, table: Any, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        await db.execute(insert(table), rows[start : start + BATCH])


class _Audit:
    """Audit entries appended to the hash chain in order, as `audit.record` would one by one."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        *,
        at: object,
        actor_id: object,
        action: str,
        object_id: object,
        detail: dict[str, object],
    ) -> None:
        self.rows.append(
            {
                "at": moment(at),
                "actor_id": actor_id,
                "action": action,
                "object_type": "document",
                "object_id": str(object_id),
                "detail": detail,
                "ip": "",
            }
        )

    async def write(self, db: AsyncSession) -> None:
        if db.get_bind().dialect.name == "postgresql":
            await db.execute(text("SELECT pg_advisory_xact_lock(7431001)"))
        prev = await db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
        prev = prev or GENESIS
        self.rows.sort(key=lambda r: moment(r["at"]))
        for row in self.rows:
            entry = AuditEntry(**row)
            row["prev_hash"] = prev
            row["hash"] = prev = chain_hash(prev, entry)
        await _insert(db, AuditEntry, self.rows)


async def write(db: AsyncSession, *, plan: Plan, pdfs: dict[int, SamplePdf], clerk_id: int) -> int:
    """Store the plan in the caller's transaction; returns the number of documents written."""
    audit = _Audit()
    documents = plan.incoming + plan.outgoing
    rows = []
    for doc in documents:
        row = {k: v for k, v in doc.row.items() if not k.startswith("_")}
        pdf = pdfs[doc.pages]
        row["page_count"] = pdf.pages
        type_name = catalogue.TYPES[str(row["type_code"])].name
        parts = [
            _number_symbol(row),
            type_name,
            row["subject"],
            row["issuer_name"],
            row["signer_name"],
        ]
        # fold() works word by word: the shared file's text is folded once, not per document.
        folded = textnorm.fold(" ".join(str(p) for p in parts))
        row["search_text"] = f"{folded} {pdf.text}" if folded and pdf.text else folded or pdf.text
        rows.append(row)
    ids = await _insert_returning(db, Document, rows)
    for doc, doc_id in zip(documents, ids, strict=True):
        doc.row["id"] = doc_id
    await _files(db, documents, pdfs)
    for doc in plan.incoming:
        row = doc.row
        audit.add(
            at=row["received_at"],
            actor_id=clerk_id,
            action="document.registered",
            object_id=row["id"],
            detail={
                "so_den": row["register_number"],
                "year": row["register_year"],
                "number_symbol": _number_symbol(row),
                "files": [_file_name(row)],
            },
        )
    for doc in plan.outgoing:
        row = doc.row
        audit.add(
            at=row["_issued_at"],
            actor_id=clerk_id,
            action="document.issued",
            object_id=row["id"],
            detail={
                "number_symbol": _number_symbol(row),
                "issue_date": str(row["issue_date"]),
                "version": 1,
                "sha256": pdfs[doc.pages].sha256,
                "recipients": row["recipients"],
                "send_to": {"agencies": [], "units": []},
                "attachments": [],
            },
        )
    await _workflow(db, plan.incoming, audit)
    await audit.write(db)
    await _counters(db, plan)
    return len(documents)


def _file_name(row: dict[str, object]) -> str:
    return f"{_number_symbol(row).replace('/', '-')}.pdf"


async def _files(
    db: AsyncSession, documents: list[PlannedDocument], pdfs: dict[int, SamplePdf]
) -> None:
    files = [
        {"document_id": doc.row["id"], "kind": "main", "name": _file_name(doc.row), "position": 0}
        for doc in documents
    ]
    file_ids = await _insert_returning(db, DocumentFile, files)
    versions = []
    for doc, file_id in zip(documents, file_ids, strict=True):
        pdf, incoming = pdfs[doc.pages], doc.row["direction"] == "incoming"
        versions.append(
            {
                "file_id": file_id,
                "version": 1,
                "sha256": pdf.sha256,
                "size": pdf.size,
                "media_type": "application/pdf",
                "page_count": pdf.pages,
                "reason": "bản gốc nhận được" if incoming else "bản phát hành (dữ liệu mẫu)",
                "derived_from": [],
                "signature_check": None,
                "created_by_id": doc.row["registered_by_id"],
                "created_at": doc.row["received_at"] if incoming else doc.row["_issued_at"],
                "archive_until": None,
            }
        )
    await _insert(db, FileVersion, versions)


async def _workflow(db: AsyncSession, documents: list[PlannedDocument], audit: _Audit) -> None:
    # Hops level by level: a hop's parent is written (and has its id) before it.
    level = [hop for doc in documents for hop in doc.hops if hop.parent is None]
    owner = {id(hop): doc for doc in documents for hop in doc.hops}
    while level:
        rows = [
            {
                **hop.row,
                "document_id": owner[id(hop)].row["id"],
                "parent_id": hop.parent.id if hop.parent else None,
            }
            for hop in level
        ]
        for hop, hop_id in zip(level, await _insert_returning(db, Assignment, rows), strict=True):
            hop.id = hop_id
        placed = {id(hop) for hop in level}
        level = [
            hop for doc in documents for hop in doc.hops if hop.parent and id(hop.parent) in placed
        ]
    events: list[dict[str, object]] = []
    requests: list[dict[str, object]] = []
    for doc in documents:
        doc_id = doc.row["id"]
        for step in doc.steps:
            given = step.row["detail"]
            assert isinstance(given, dict)
            detail: dict[str, object] = dict(given)
            if step.row["kind"] == "reassigned" and step.hop and step.hop.parent:
                detail["parent"] = step.hop.parent.id
            events.append(
                {
                    **step.row,
                    "detail": detail,
                    "document_id": doc_id,
                    "assignment_id": step.hop.id if step.hop else None,
                }
            )
            audit.add(
                at=step.row["at"],
                actor_id=step.row["actor_id"],
                action=f"workflow.{step.row['kind']}",
                object_id=doc_id,
                detail=detail,
            )
        requests.extend({**request, "document_id": doc_id} for request in doc.requests)
    await _insert(db, TimelineEvent, events)
    await _insert(db, DirectionRequest, requests)


async def _counters(db: AsyncSession, plan: Plan) -> None:
    """The registers' counters at the last number given, so the next clerk continues from it.
    A plain INSERT: the history is written before anything else is registered, and a counter
    already there would mean its numbers are not the register's first (it fails loudly)."""
    if not plan.incoming:
        return
    agency_id = plan.incoming[0].row["agency_id"]
    await _insert(
        db,
        RegisterCounter,
        [
            {
                "agency_id": agency_id,
                "direction": direction,
                "year": year,
                "series": series,
                "value": value,
            }
            for (direction, year, series), value in sorted(plan.counters.items())
        ],
    )
