"""The paper register (sổ đăng ký văn bản đến / đi) for a date range, printed as PDF.

Columns follow the register forms clerks keep on paper; text is set in Noto Sans (Debian's
fonts-noto-core), embedded, so Vietnamese prints correctly everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from backend.core.clock import VIETNAM
from backend.documents import catalogue
from backend.documents.tables import Document

FONT_DIR = "/usr/share/fonts/truetype/noto"

INCOMING_COLUMNS = (
    ("Ngày đến", 18), ("Số đến", 13), ("Tác giả", 38), ("Số, ký hiệu", 27),
    ("Ngày tháng", 19), ("Tên loại và trích yếu nội dung", 78),
    ("Đơn vị hoặc người nhận", 35), ("Ký nhận", 20), ("Ghi chú", 20),
)  # fmt: skip
OUTGOING_COLUMNS = (
    ("Số, ký hiệu văn bản", 30), ("Ngày tháng văn bản", 20),
    ("Tên loại và trích yếu nội dung", 80), ("Người ký", 35), ("Nơi nhận văn bản", 45),
    ("Đơn vị, người nhận bản lưu", 30), ("Số lượng bản", 14), ("Ghi chú", 14),
)  # fmt: skip


@dataclass(frozen=True)
class RegisterHeading:
    agency_name: str
    parent_name: str
    direction: catalogue.Direction
    start: date
    end: date


def _d(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM).date()
    return value.strftime("%d/%m/%Y")


def _type_and_subject(document: Document) -> str:
    kind = catalogue.TYPES.get(document.type_code)
    return f"{kind.name} — {document.subject}" if kind else document.subject


def _row(document: Document, direction: catalogue.Direction) -> list[str]:
    note = "Bản sao/bản giấy của văn bản đã vào sổ" if document.duplicate_of_id else ""
    if direction == catalogue.Direction.INCOMING:
        return [
            _d(document.received_at), str(document.register_number or ""), document.issuer_name,
            document.number_symbol, _d(document.issue_date), _type_and_subject(document),
            document.recipients, "", note,
        ]  # fmt: skip
    return [
        document.number_symbol, _d(document.issue_date), _type_and_subject(document),
        document.signer_name, document.recipients, "", "", note,
    ]  # fmt: skip


def render_register(heading: RegisterHeading, documents: Sequence[Document]) -> bytes:
    # fpdf2 (with fontTools, ~10 MB resident) is loaded when a register is first printed, not
    # by every server process at start.
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("Noto", "", f"{FONT_DIR}/NotoSans-Regular.ttf")
    pdf.add_font("Noto", "B", f"{FONT_DIR}/NotoSans-Bold.ttf")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(10, 10, 10)
    pdf.add_page()
    pdf.set_font("Noto", "B", 10)
    pdf.cell(120, 5, heading.parent_name.upper(), align="C")
    pdf.ln(5)
    pdf.cell(120, 5, heading.agency_name.upper(), align="C")
    pdf.ln(10)
    title = (
        "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"
        if heading.direction == catalogue.Direction.INCOMING
        else "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
    )
    pdf.set_font("Noto", "B", 14)
    pdf.cell(0, 8, title, align="C")
    pdf.ln(8)
    pdf.set_font("Noto", "", 10)
    pdf.cell(0, 6, f"Từ ngày {_d(heading.start)} đến ngày {_d(heading.end)}", align="C")
    pdf.ln(10)
    columns = (
        INCOMING_COLUMNS if heading.direction == catalogue.Direction.INCOMING else OUTGOING_COLUMNS
    )
    pdf.set_font("Noto", "", 8)
    with pdf.table(
        col_widths=[width for _, width in columns],
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        line_height=4.2,
        text_align="LEFT",
        repeat_headings=1,
    ) as table:
        header = table.row()
        for name, _ in columns:
            header.cell(name)
        for document in documents:
            row = table.row()
            for value in _row(document, heading.direction):
                row.cell(value)
    pdf.ln(4)
    pdf.cell(0, 5, f"Tổng số: {len(documents)} văn bản.")
    return bytes(pdf.output())
