"""Decree 30 layout of an issued document, through the app (draft upload → leader's passkey
signature → clerk issues): the number goes into the draft's own "Số: …/…" and the date into
its "<địa danh>, ngày … tháng … năm …" line on page 1, the leader's signature between the
signer's title and printed name on the last page, the seal over its left third — and no field or
stamp covers any text other than the placeholders it replaces. A4 portrait (1 and 5 pages), A4
landscape, a page turned by /Rotate 90, A3. Each issued page is rendered to
tests/.artifacts/layout/ for a person to look at."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from backend.core.errors import ValidationError
from backend.core.models import Agency, User
from backend.documents.tables import Document, FileVersion
from backend.signing_flow import drafts
from backend.signing_flow.tables import Draft
from signing import DATE_FIELD, NUMBER_FIELD, SEAL_FIELD, make_sample_pdf, verify_pdf
from signing.decree30 import decree30_date
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare, versions
from tests.support.lifespan import LifespanManager

Box = tuple[float, float, float, float]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "layout"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The layout is the subject here, not the database: SQLite only (the issue flow runs on
    PostgreSQL too in test_issue and test_passkey_signing)."""
    return sqlite_url


DRAFTS = {
    "a4-1-page": {"pages": 1},
    "a4-5-pages": {"pages": 5},
    "a4-landscape": {"pages": 2, "landscape": True},
    "a4-rotate-90": {"pages": 2, "landscape": True, "rotate": 90},
    "a3": {"pages": 2, "page_format": "A3"},
    "a4-place-left-blank": {"pages": 1, "place": "………"},
}
# What the filled-in fields may cover: the "………/QĐ-UBND" after "Số:" (number and symbol come
# from the register) and the placeholders of the date line (its words written again, on white).
NUMBER_PLACEHOLDERS = set(".…/QĐ-UBND")  # dots and the drafted symbol, written again
DATE_PLACEHOLDERS = set(".…,ngàythángnăm0123456789")


def intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def char_boxes(pdf: bytes, page: int) -> list[tuple[str, Box]]:
    """Every visible character of a page's content, with its box in the page's PDF space."""
    document = pdfium.PdfDocument(pdf)
    try:
        loaded = document[page]
        text = loaded.get_textpage()
        count = text.count_chars()
        chars = text.get_text_range(0, count)
        found = [
            (char, tuple(float(v) for v in text.get_charbox(i)))
            for i, char in enumerate(chars[:count])
            if not char.isspace()
        ]
        text.close()
        loaded.close()
        return found  # type: ignore[return-value]
    finally:
        document.close()


def widgets(pdf: bytes) -> dict[str, tuple[int, Box]]:
    """Each form field's page and rectangle."""
    reader = PdfFileReader(io.BytesIO(pdf))
    kids = [
        reader.find_page_for_modification(i)[0] for i in range(len(reader.root["/Pages"]["/Kids"]))
    ]
    found: dict[str, tuple[int, Box]] = {}
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        page = next(i for i, kid in enumerate(kids) if kid.idnum == field.raw_get("/P").idnum)
        x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
        found[str(field["/T"])] = (page, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    return found


def render(pdf: bytes, name: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), str(ARTIFACTS / name)], check=True)
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


def pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


async def issue_through_the_app(app: LifespanManager, leader: Leader, pdf: bytes) -> bytes:
    document_id = await make_draft(app, leader.world, pdf=pdf, type_code="QD")
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.status_code == 200  # type: ignore[attr-defined]
    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, leader.world.user_ids["clerk"])
        issued = await http.post(f"/issue/{document_id}")
        assert issued.status_code == 303, issued.text
    found = await versions(app, document_id)
    return await resources_of(app).blobs.get(found[-1].sha256)


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(DRAFTS))
async def test_issued_fields_and_stamps_sit_where_decree_30_puts_them(
    app: LifespanManager, leader: Leader, name: str
) -> None:
    res = resources_of(app)
    async with res.sessions() as db:
        # The leader is listed with the office but signs for the province (TM. UBND).
        province = Agency(
            code="000.00.00.H98",
            name="Ủy ban nhân dân tỉnh Sông Hồng",
            short_name="UBND",
            place_name="Sông Hồng",
            level=1,
            created_at=datetime.now(UTC),
        )
        db.add(province)
        await db.flush()
        signer = await db.get_one(User, leader.world.user_ids["leader"])
        signer.signs_for_agency_id = province.id
        await db.commit()
    draft = make_sample_pdf(**DRAFTS[name])  # type: ignore[arg-type]
    sealed = await issue_through_the_app(app, leader, draft)

    assert res.signing is not None
    report = await verify_pdf(
        pdf=sealed, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok, report.summary_en
    assert report.signatures[0].modification_level == "FORM_FILLING"
    assert report.signatures[0].docmdp_ok
    path = ARTIFACTS / f"{name}.pdf"
    pngs = await asyncio.to_thread(render, sealed, name)
    assert len(pngs) == DRAFTS[name]["pages"]
    assert pdfsig(path).count("Signature is Valid.") == 2

    boxes = widgets(sealed)
    last = int(DRAFTS[name]["pages"]) - 1
    leader_field = next(k for k in boxes if k not in {NUMBER_FIELD, DATE_FIELD, SEAL_FIELD})
    assert boxes[NUMBER_FIELD][0] == 0 and boxes[DATE_FIELD][0] == 0  # page 1
    assert boxes[SEAL_FIELD][0] == last and boxes[leader_field][0] == last
    allowed = {NUMBER_FIELD: NUMBER_PLACEHOLDERS, DATE_FIELD: DATE_PLACEHOLDERS}
    for field, (page, box) in boxes.items():
        for char, char_box in char_boxes(sealed, page):
            if intersects(box, char_box):
                assert char in allowed.get(field, set()), (name, field, char, box, char_box)
    # The seal overlaps the left part of the leader's signature (about a third of it).
    seal, signature = boxes[SEAL_FIELD][1], boxes[leader_field][1]
    rotated = name == "a4-rotate-90"
    axis = 1 if rotated else 0  # on the turned page, "left" on screen is low y in PDF space
    overlap = seal[axis + 2] - signature[axis]
    width = signature[axis + 2] - signature[axis]
    assert 0.25 * width <= overlap <= 0.4 * width, (seal, signature)
    # The printed name is below the signature, untouched, and the date line reads Decree 30.
    values = {
        str(f.get_object()["/T"]): str(f.get_object().get("/V"))
        for f in PdfFileReader(io.BytesIO(sealed)).root["/AcroForm"]["/Fields"]
        if f.get_object().get("/FT") == "/Tx"
    }
    async with res.sessions() as db:
        document = (await db.scalars(select(Document).where(Document.number.is_not(None)))).one()
    assert values[NUMBER_FIELD] == document.number_symbol == f"{document.number:02d}/QĐ-UBND"
    when = decree30_date(document.issue_date or date.min)
    blank_place = "place" in DRAFTS[name]
    assert values[DATE_FIELD] == (f"Sông Hồng, {when}" if blank_place else when)
    # Symbol from the agency the leader signs for, not the office's "QĐ-VP".
    assert document.symbol == "QĐ-UBND" and document.issue_place == "Sông Hồng"


def test_a_draft_without_number_or_date_line_is_refused_with_what_it_lacks() -> None:
    import fpdf

    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.add_font("Noto", "", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
    pdf.set_font("Noto", "", 12)
    pdf.cell(0, 10, "Một trang không có số và ngày tháng.")
    with pytest.raises(ValidationError) as refused:
        drafts.with_issuing_fields(bytes(pdf.output()))
    assert "Số: …/…" in refused.value.message_vi


def test_a_stored_box_is_read_back_and_old_drafts_fall_back_to_a4() -> None:
    assert drafts.leader_box(Draft(sign_box="577,110,757,190")) == (577, 110, 757, 190)
    assert drafts.leader_box(Draft(sign_box="")) == drafts.LEADER_BOX


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("blank", "expected"),
    [
        ("Số: ………/QĐ-UBND", "«Số: …/…»"),
        ("Sông Hồng, ngày …… tháng …… năm 2026", "«<địa danh>, ngày … tháng … năm …»"),
    ],
)
async def test_the_app_refuses_a_draft_without_its_number_or_date_line_and_stores_nothing(
    app: LifespanManager, leader: Leader, blank: str, expected: str
) -> None:
    good = make_sample_pdf(pages=1)
    lacking = blank_out(good, blank)
    res = resources_of(app)
    origin = res.settings.origin
    async with app.client(origin) as http:
        browser_like(http).headers["Origin"] = origin
        await sign_in_as(app, http, leader.world.user_ids["specialist"])
        response = await http.post(
            "/drafts",
            data={
                "type_code": "QD",
                "subject": "Thiếu dòng",
                "recipients": "",
                "urgency": "0",
                "signer_id": str(leader.world.user_ids["leader"]),
            },
            files={"pdf": ("thieu.pdf", lacking, "application/pdf")},
        )
    assert response.status_code == 422, response.text
    shown = html.unescape(response.text)
    assert expected in shown and "Hãy thêm dòng này" in shown
    async with res.sessions() as db:
        assert list(await db.scalars(select(Document))) == []
        assert list(await db.scalars(select(FileVersion))) == []
    assert not await res.blobs.exists(hashlib.sha256(lacking).hexdigest())


def blank_out(pdf: bytes, line: str) -> bytes:
    """The draft with one line of page 1 removed (its text objects deleted)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage()
        content = text.get_text_range(0, text.count_chars())
        start = content.index(line)
        boxes = [text.get_charbox(i) for i in range(start, start + len(line))]
        text.close()
        x1, y1 = min(b[0] for b in boxes) - 1, min(b[1] for b in boxes) - 1
        x2, y2 = max(b[2] for b in boxes) + 1, max(b[3] for b in boxes) + 1
        for obj in list(page.get_objects()):
            left, bottom, right, top = obj.get_bounds()
            inside = x1 <= left and right <= x2 and y1 <= bottom and top <= y2
            if obj.type == pdfium.raw.FPDF_PAGEOBJ_TEXT and inside:
                page.remove_obj(obj)
        page.gen_content()
        page.close()
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
    finally:
        document.close()
