"""The demo province's signing rules: the Chairman signs as the head ("TM. ỦY BAN NHÂN DÂN /
CHỦ TỊCH"), the Vice-Chairman "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH", the office chief "TL. CHỦ TỊCH /
CHÁNH VĂN PHÒNG" for công văn, thông báo and giấy mời (the agency's rules, Decree 30)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.models import User
from backend.documents.intake import Upload
from backend.documents.tables import Document
from backend.documents.workers import PdfWorkers
from backend.signing_flow import authority, drafts
from backend.signing_flow.tables import SignForm
from signing import make_sample_pdf

DRAFT_MAX_BYTES = 50 * 1024 * 1024

# (username, form, own title, types, decision)
RULES = [
    ("chutich", SignForm.HEAD, "Chủ tịch", (), "Nghị quyết số 01/NQ-HĐND ngày 05/01/2026 (DEMO)"),
    ("phochutich", SignForm.KT, "Phó Chủ tịch", (),
     "Quyết định số 15/QĐ-UBND ngày 06/01/2026 phân công nhiệm vụ (DEMO)"),
    ("chanhvanphong", SignForm.TL, "Chánh Văn phòng", ("CV", "TB", "GM"),
     "Quy chế làm việc của UBND tỉnh, Điều 20 (DEMO)"),
]  # fmt: skip


async def load(db: AsyncSession, *, clock: Clock, people: dict[str, User], admin: User) -> None:
    """Give the demo rules, as the administrator would (audited like any grant)."""
    for username, form, title, types, decision in RULES:
        await authority.give(
            db,
            clock=clock,
            actor=admin,
            form=authority.GrantForm(
                user_id=people[username].id,
                form=form,
                title=title,
                head_title="Chủ tịch",
                types=frozenset(types),
                valid_from=date(2026, 1, 1),
                valid_until=None,
                decision_ref=decision,
            ),
        )


async def send_draft(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    author: User,
    signer: User,
    type_code: str,
    subject: str,
    urgency: int,
    recipients: str,
    pages: int,
) -> Document:
    """A demo draft sent the way a specialist sends one: under the signer's grant for the type,
    its signer block printing that grant's lines and the signer's name."""
    grant_id, lines = await form_for(db, clock=clock, signer=signer, type_code=type_code)
    return await drafts.create_draft(
        db,
        clock=clock,
        blobs=blobs,
        workers=workers,
        author=author,
        form=drafts.DraftForm(
            type_code=type_code,
            subject=subject,
            recipients=recipients,
            urgency=urgency,
            deadline=None,
            signer_id=signer.id,
            grant_id=grant_id,
        ),
        pdf=Upload(
            "du-thao.pdf",
            "application/pdf",
            make_sample_pdf(
                pages=pages, title=subject, signer_name=signer.full_name, signer_lines=lines
            ),
        ),
        max_bytes=DRAFT_MAX_BYTES,
        max_pages=100,
    )


async def form_for(
    db: AsyncSession, *, clock: Clock, signer: User, type_code: str
) -> tuple[int, tuple[str, ...]]:
    """The grant a demo draft for `signer` is sent under and the lines its signer block prints
    (as a specialist picks it in the form)."""
    for option in await authority.options(
        db, agency_id=signer.agency_id, on=authority.today(clock), type_code=type_code
    ):
        if option.signer.id == signer.id:
            return option.grant.id, tuple(option.lines)
    raise LookupError(f"{signer.username} may not sign {type_code} in the demo rules")
