"""Demo documents that look like the real thing: a Decree 30 header (agency, national motto),
number and date, title and subject, a few paragraphs, the signature block. Vietnamese text in
Noto Sans, so search and the reader have real words to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fpdf import FPDF

from backend.documents.registerbook import FONT_DIR
from signing.decree30 import decree30_date


@dataclass(frozen=True)
class SampleText:
    issuer_parent: str
    issuer: str
    number_symbol: str
    place: str
    issued: date
    title: str
    subject: str
    paragraphs: tuple[str, ...]
    signer_competence: str
    signer_title: str
    signer_name: str


def render_sample(text: SampleText, *, pages: int = 1) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.add_font("Noto", "", f"{FONT_DIR}/NotoSans-Regular.ttf")
    pdf.add_font("Noto", "B", f"{FONT_DIR}/NotoSans-Bold.ttf")
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=20)
    for page in range(pages):
        pdf.add_page()
        if page == 0:
            _header(pdf, text)
        pdf.set_font("Noto", "", 12)
        for paragraph in text.paragraphs:
            pdf.multi_cell(0, 6.5, "      " + paragraph, align="J", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        if page == pages - 1:
            _signature_block(pdf, text)
    return bytes(pdf.output())


def _header(pdf: FPDF, text: SampleText) -> None:
    left, right = 75.0, 100.0
    y = pdf.get_y()
    pdf.set_font("Noto", "", 11)
    pdf.set_xy(15, y)
    pdf.multi_cell(left, 5, text.issuer_parent.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", "B", 11)
    pdf.set_x(15)
    pdf.multi_cell(left, 5, text.issuer.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", "", 11)
    pdf.set_x(15)
    pdf.multi_cell(left, 7, f"Số: {text.number_symbol}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(95, y)
    pdf.set_font("Noto", "B", 11)
    pdf.multi_cell(
        right, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_x(95)
    pdf.multi_cell(
        right, 5, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Noto", "", 11)
    pdf.set_x(95)
    day = text.issued
    when = f"{text.place}, {decree30_date(day)}"
    pdf.multi_cell(right, 8, when, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("Noto", "B", 13)
    pdf.multi_cell(0, 7, text.title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", "B", 12)
    pdf.multi_cell(0, 6.5, text.subject, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _signature_block(pdf: FPDF, text: SampleText) -> None:
    pdf.ln(6)
    pdf.set_x(105)
    pdf.set_font("Noto", "B", 12)
    if text.signer_competence:
        pdf.multi_cell(85, 6, text.signer_competence, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(105)
    pdf.multi_cell(85, 6, text.signer_title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(22)
    pdf.set_x(105)
    pdf.multi_cell(85, 6, text.signer_name, align="C", new_x="LMARGIN", new_y="NEXT")
