from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.core import db
from backend.core.blobs import FileBlobStore
from backend.core.clock import FixedClock
from backend.core.models import AuditEntry, User
from backend.documents import intake_errors
from backend.documents.forms import FormErrors, parse_incoming
from backend.documents.intake import (
    DuplicateFoundError,
    Limits,
    Registrar,
    Upload,
    register_incoming,
)
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers
from tests.backend.documents import corpus

pytestmark = pytest.mark.anyio
TODAY = date(2026, 3, 2)
LIMITS = Limits(max_bytes=50 * 1024 * 1024, max_pages=500)
FORM = {
    "type_code": "QD",
    "number_symbol": "123/QĐ-UBND",
    "issue_date": "27/02/2026",
    "issuer_name": "Ủy ban nhân dân tỉnh Tây Ninh",
    "issuer_code": "000.00.00.H53",
    "subject": "Quyết định phê duyệt Kế hoạch cải cách hành chính năm 2026",
    "urgency": "1",
    "source": "truc-tiep",
}


async def register(
    session: AsyncSession,
    env: tuple[FixedClock, FileBlobStore, PdfWorkers, User],
    *,
    fields: dict[str, str] | None = None,
    pdfs: list[Upload] | None = None,
    scans: list[Upload] | None = None,
    link_to: int | None = None,
) -> Document:
    clock, blobs, workers, clerk = env
    form = parse_incoming({**FORM, **(fields or {})}, today=TODAY)
    async with session.begin():
        return await register_incoming(
            session,
            clock=clock,
            blobs=blobs,
            workers=workers,
            registrar=Registrar.clerk(clerk),
            form=form,
            pdfs=[Upload("qd123.pdf", "application/pdf", corpus.pdf())] if pdfs is None else pdfs,
            scans=scans or [],
            limits=LIMITS,
            checker=SignatureChecker(None),
            link_to=link_to,
        )


@pytest.fixture
def env(
    clock: FixedClock, blobs: FileBlobStore, pdf_workers: PdfWorkers, clerk: User
) -> tuple[FixedClock, FileBlobStore, PdfWorkers, User]:
    return clock, blobs, pdf_workers, clerk


async def test_registering_a_pdf_gives_the_next_so_den_and_keeps_the_bytes(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    original = corpus.pdf(pages=3)
    first = await register(session, env, pdfs=[Upload("qd.pdf", "application/pdf", original)])
    second = await register(session, env, fields={"number_symbol": "124/QĐ-UBND"})
    assert (first.register_number, second.register_number) == (1, 2)
    assert first.register_year == 2026 and first.status == "03"
    assert first.page_count == 3 and first.number_symbol == "123/QĐ-UBND"
    main = first.files[0]
    assert main.kind == "main" and main.current.version == 1
    _, blobs, _, _ = env
    assert await blobs.get(main.current.sha256) == original
    assert "quyet dinh phe duyet ke hoach" in first.search_text
    assert first.signature_check == {"status": "unsigned"}


async def test_three_photos_become_one_pdf_and_the_originals_are_kept(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    scans = [
        Upload("trang1.jpg", "image/jpeg", corpus.photo("1")),
        Upload("trang2.png", "image/png", corpus.photo("2", "PNG")),
        Upload("trang3.heic", "image/heic", corpus.photo("3", "HEIF")),
    ]
    document = await register(session, env, pdfs=[], scans=scans, fields={"source": "scan"})
    kinds = [f.kind for f in document.files]
    assert kinds == ["main", "scan-original", "scan-original", "scan-original"]
    assert document.page_count == 3
    main = document.files[0].current
    assert main.media_type == "application/pdf" and main.page_count == 3
    originals = [f.current.sha256 for f in document.files[1:]]
    assert main.derived_from == originals
    _, blobs, _, _ = env
    assert await blobs.get(originals[2]) == scans[2].data


async def test_multipage_tiff_keeps_page_order(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    scans = [Upload("may-quet.tif", "image/tiff", corpus.multipage_tiff(4))]
    document = await register(session, env, pdfs=[], scans=scans)
    assert document.page_count == 4


async def test_a_duplicate_is_offered_then_linked_reusing_the_so_den(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    original = await register(session, env)
    original_id = original.id  # the refused attempt's rollback expires loaded objects
    paper = {"source": "buu-dien", "issuer_name": "UBND TỈNH TÂY NINH"}
    with pytest.raises(DuplicateFoundError) as offer:
        await register(session, env, fields=paper)
    assert offer.value.original_id == original_id
    assert "đã được vào sổ với số đến 1" in offer.value.message_vi
    copy = await register(session, env, fields=paper, link_to=original_id)
    assert copy.duplicate_of_id == original_id
    assert copy.register_number == 1
    following = await register(session, env, fields={"number_symbol": "7/TB-STC"})
    assert following.register_number == 2  # the copy took no number


async def test_dedup_by_name_when_there_is_no_agency_code(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    fields = {"issuer_code": "", "issuer_name": "Sở Tài chính tỉnh Tây Ninh"}
    await register(session, env, fields=fields)
    with pytest.raises(DuplicateFoundError):
        await register(session, env, fields={**fields, "issuer_name": "SỞ TÀI CHÍNH TỈNH TÂY NINH"})


BAD_FILES = [
    ("renamed.pdf", corpus.not_a_pdf, intake_errors.NotPdfError, "không phải là tệp PDF"),
    ("cut.pdf", corpus.truncated, intake_errors.DamagedPdfError, "bị hỏng"),
    ("broken.pdf", corpus.malformed, intake_errors.DamagedPdfError, "bị hỏng"),
    ("locked.pdf", corpus.encrypted, intake_errors.EncryptedPdfError, "mật khẩu"),
    ("empty.pdf", corpus.zero_pages, intake_errors.EmptyPdfError, "không có trang"),
    ("bomb.pdf", corpus.decompression_bomb, intake_errors.DecompressionBombError, "bất thường"),
]


@pytest.mark.parametrize(
    ("name", "make", "error", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
async def test_bad_pdfs_are_refused_and_nothing_is_stored(
    session: AsyncSession,
    env: tuple[FixedClock, FileBlobStore, PdfWorkers, User],
    engine: AsyncEngine,
    tmp_path: Path,
    name: str,
    make: object,
    error: type[Exception],
    message: str,
) -> None:
    assert callable(make)
    with pytest.raises(error) as refused:
        await register(session, env, pdfs=[Upload(name, "application/pdf", make())])
    assert message in refused.value.message_vi  # type: ignore[attr-defined]
    await assert_nothing_stored(engine, tmp_path)


async def test_size_and_page_limits(
    session: AsyncSession, env: tuple[FixedClock, FileBlobStore, PdfWorkers, User]
) -> None:
    clock, blobs, workers, clerk = env
    form = parse_incoming(FORM, today=TODAY)
    big = Upload("big.pdf", "application/pdf", corpus.pdf(pages=30))
    for limits, error in (
        (Limits(max_bytes=1024), intake_errors.TooLargeError),
        (Limits(max_bytes=LIMITS.max_bytes, max_pages=10), intake_errors.TooManyPagesError),
    ):
        with pytest.raises(error):
            async with session.begin():
                await register_incoming(
                    session,
                    clock=clock,
                    blobs=blobs,
                    workers=workers,
                    registrar=Registrar.clerk(clerk),
                    form=form,
                    pdfs=[big],
                    scans=[],
                    limits=limits,
                )


@pytest.mark.parametrize(
    "image",
    [b"GIF89a not really", b"\x89PNG\r\n\x1a\n broken", corpus.pixel_bomb_png()],
    ids=["not-an-image", "broken-png", "pixel-bomb"],
)
async def test_bad_images_are_refused(
    session: AsyncSession,
    env: tuple[FixedClock, FileBlobStore, PdfWorkers, User],
    engine: AsyncEngine,
    tmp_path: Path,
    image: bytes,
) -> None:
    with pytest.raises(intake_errors.IntakeError):
        await register(session, env, pdfs=[], scans=[Upload("anh.png", "image/png", image)])
    await assert_nothing_stored(engine, tmp_path)


@pytest.mark.parametrize("level", ["Mật", "tối mật", "Tuyệt mật"])
def test_secret_documents_are_refused_at_the_door(level: str) -> None:
    with pytest.raises(intake_errors.SecretDocumentError) as refused:
        parse_incoming({**FORM, "confidentiality": level}, today=TODAY)
    assert "kênh văn bản mật" in refused.value.message_vi


def test_form_reports_every_problem_in_vietnamese() -> None:
    bad = {
        "type_code": "XX", "subject": "ngắn", "number_symbol": "QĐ 123",
        "issue_date": "31/02/2026", "issuer_name": "", "issuer_code": "H53",
        "urgency": "9", "signer_competence": "XYZ",
    }  # fmt: skip
    with pytest.raises(FormErrors) as errors:
        parse_incoming(bad, today=TODAY)
    assert set(errors.value.problems) == {
        "type_code",
        "subject",
        "number_symbol",
        "issue_date",
        "issuer_name",
        "issuer_code",
        "urgency",
        "signer_competence",
    }
    future = (TODAY + timedelta(days=1)).isoformat()
    with pytest.raises(FormErrors) as future_error:
        parse_incoming({**FORM, "issue_date": future}, today=TODAY)
    assert "tương lai" in future_error.value.message_vi


def test_number_and_symbol_shapes() -> None:
    parsed = parse_incoming({**FORM, "number_symbol": "Số: 2491/STC-BCTC"}, today=TODAY)
    assert (parsed.number, parsed.symbol) == (2491, "STC-BCTC")
    legal = parse_incoming({**FORM, "number_symbol": "15/2025/QĐ-UBND"}, today=TODAY)
    assert (legal.number, legal.symbol) == (15, "2025/QĐ-UBND")


async def assert_nothing_stored(engine: AsyncEngine, tmp_path: Path) -> None:
    async with db.sessionmaker(engine)() as s:
        for table in (Document, DocumentFile, FileVersion):
            assert await s.scalar(select(func.count()).select_from(table)) == 0
        actions = list(await s.scalars(select(AuditEntry.action)))
        assert not any(a.startswith("document.") for a in actions)
    blob_dir = tmp_path / "blobs"
    assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))


def test_one_digit_numbers_are_written_from_01() -> None:
    assert Document(number=3, symbol="CĐ-TTg").number_symbol == "03/CĐ-TTg"
    assert Document(number=123, symbol="QĐ-UBND").number_symbol == "123/QĐ-UBND"
    assert Document(number=None, symbol="").number_symbol == ""
